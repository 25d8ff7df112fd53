"""Times whose UTC instant is outside datetime's years 1–9999 are bad input, not a crash.

Found by the bad-input corpus (tests/support/bad_inputs.py): `0001-01-01T00:00:00+01:00` in
x-amz-meta-recorded-at made the ingest Lambda raise OverflowError (the upload was retried into the
dead-letter queue instead of being listed as REJECTED), and in `POST /uploads` it answered 500.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest
from displaysense.domain.drop_folder import UploadRejected, validate_upload, validate_upload_request
from displaysense.domain.timeutil import TimeFormatError, parse_iso

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MP4 = struct.pack(">I", 20) + b"ftypisom\x00\x00\x02\x00isom"
EXTREMES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+23:59"]


@pytest.mark.parametrize("text", EXTREMES)
def test_parse_iso_refuses_instants_outside_datetime(text: str) -> None:
    with pytest.raises(TimeFormatError, match="outside the years 1 to 9999"):
        parse_iso(text)


def test_the_edges_that_fit_still_parse() -> None:
    assert parse_iso("0001-01-01T00:00:00Z") == datetime(1, 1, 1, tzinfo=UTC)
    assert parse_iso("9999-12-31T23:59:59+01:00") == datetime(9999, 12, 31, 22, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("text", EXTREMES)
def test_an_extreme_metadata_time_rejects_the_upload_with_a_reason(text: str) -> None:
    decision = validate_upload(
        key="uploads/store-1/cam-1/window.mp4",
        size=1000,
        max_bytes=10**9,
        head=MP4,
        metadata_recorded_at=text,
        now=NOW,
    )
    assert not decision.accepted
    assert decision.reason is not None and "x-amz-meta-recorded-at" in decision.reason
    assert "outside the years" in decision.reason


def test_an_extreme_time_as_the_file_name_rejects_the_upload() -> None:
    decision = validate_upload(
        key=f"uploads/store-1/cam-1/{EXTREMES[0]}.mp4",
        size=1000,
        max_bytes=10**9,
        head=MP4,
        metadata_recorded_at=None,
        now=NOW,
    )
    assert not decision.accepted
    assert decision.reason is not None and "outside the years" in decision.reason


@pytest.mark.parametrize("text", EXTREMES)
def test_an_extreme_upload_request_time_is_refused_as_recorded_at(text: str) -> None:
    with pytest.raises(UploadRejected) as refused:
        validate_upload_request(
            store="store-1",
            camera="cam-1",
            recorded_at=text,
            content_type="video/mp4",
            size=1000,
            max_bytes=10**9,
            now=NOW,
        )
    assert [p.field for p in refused.value.problems] == ["recorded_at"]
