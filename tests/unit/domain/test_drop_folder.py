"""Drop-folder rules (docs/architecture.md): key layout, ids, recording time, size, container, and the
upload-request validation the API shares with ingest."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from urllib.parse import quote_plus

import pytest
from displaysense.domain.drop_folder import (
    ID_PATTERN,
    UNASSIGNED_CAMERA,
    UploadRejected,
    decode_event_key,
    parse_key,
    upload_key,
    validate_upload,
    validate_upload_request,
)
from displaysense.domain.file_type import ACCEPTED
from displaysense.domain.video import UNASSIGNED_STORE
from hypothesis import given
from hypothesis import strategies as st

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GIB = 1024**3
MP4 = struct.pack(">I", 20) + b"ftypisom\x00\x00\x02\x00isom" + struct.pack(">I", 8) + b"free"
TS = (b"\x47\x40\x00\x10" + b"\xff" * 184) * 4


def judge(
    key: str, *, size: int = 1000, head: bytes = MP4, meta: str | None = None, max_bytes: int = 10 * GIB
):
    return validate_upload(
        key=key, size=size, max_bytes=max_bytes, head=head, metadata_recorded_at=meta, now=NOW
    )


def test_a_valid_upload_is_accepted() -> None:
    decision = judge("uploads/store-001/cam-01/20261124T140000Z.mp4")
    assert decision.accepted
    assert decision.reason is None
    assert (decision.store, decision.camera) == ("store-001", "cam-01")
    assert decision.recorded_at == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    assert decision.file_type is not None and decision.file_type.kind == "mp4"


def test_extension_case_and_mov_are_accepted() -> None:
    assert judge("uploads/s1/c1/20261124T140000Z.MOV").accepted


def test_recording_time_may_come_from_the_metadata() -> None:
    decision = judge("uploads/s1/c1/window.mp4", meta="2026-11-24T15:30:00+01:00")
    assert decision.accepted
    assert decision.recorded_at == datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


def test_fractions_of_a_second_are_dropped() -> None:
    decision = judge("uploads/s1/c1/20261124T140000.750Z.mp4")
    assert decision.recorded_at == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "meta", "field", "words"),
    [
        ("uploads/store-1/20261124T140000Z.mp4", None, "key", ["1 folder level", "store, then camera"]),
        ("uploads/a/b/c/20261124T140000Z.mp4", None, "key", ["3 folder levels"]),
        ("footage/s1/c1/20261124T140000Z.mp4", None, "key", ["not under uploads/"]),
        ("uploads/Store_1/c1/20261124T140000Z.mp4", None, "store", ["'Store_1'", "a-z, 0-9", "'store-1'"]),
        (
            "uploads/s1/-cam/20261124T140000Z.mp4",
            None,
            "camera",
            ["'-cam'", "starting with a letter or digit"],
        ),
        ("uploads/s1/" + "c" * 65 + "/20261124T140000Z.mp4", None, "camera", ["1–64 characters"]),
        ("uploads/s1/c1/20261124T140000Z.avi", None, "extension", ["'.avi'", ".mp4 or .mov"]),
        ("uploads/s1/c1/20261124T140000Z", None, "extension", ["no extension"]),
        ("uploads/s1/c1/window.mp4", None, "recorded_at", ["unknown", "x-amz-meta-recorded-at"]),
        ("uploads/s1/c1/20261324T140000Z.mp4", None, "recorded_at", ["not valid", "20261324T140000Z"]),
        ("uploads/s1/c1/20261124T140000.mp4", None, "recorded_at", ["time zone"]),
        ("uploads/s1/c1/window.mp4", "yesterday", "recorded_at", ["'yesterday'", "not valid"]),
        ("uploads/s1/c1/20261124T140000Z.mp4", "2026-11-24T15:00:00Z", "recorded_at", ["agree"]),
        ("uploads/s1/c1/20361124T140000Z.mp4", None, "recorded_at", ["future", "year"]),
        ("uploads/s1/c1/19700101T000000Z.mp4", None, "recorded_at", ["before 2000", "clock"]),
    ],
)
def test_rejections_name_the_rule_and_how_to_fix_it(
    key: str, meta: str | None, field: str, words: list[str]
) -> None:
    decision = judge(key, meta=meta)
    assert not decision.accepted
    fields = [p.field for p in decision.problems]
    assert field in fields
    reason = decision.reason
    assert reason is not None
    for word in words:
        assert word in reason, (word, reason)


def test_every_problem_is_reported_at_once() -> None:
    decision = judge("uploads/Store 1/CAM/window.mkv", size=0, head=b"")
    assert [p.field for p in decision.problems] == ["store", "camera", "extension", "recorded_at", "size"]
    assert decision.store == UNASSIGNED_STORE
    assert decision.camera == UNASSIGNED_CAMERA


def test_a_valid_store_is_kept_when_the_camera_is_not() -> None:
    decision = judge("uploads/store-1/Cam 1/20261124T140000Z.mp4")
    assert (decision.store, decision.camera) == ("store-1", UNASSIGNED_CAMERA)
    assert decision.recorded_at is not None  # the time is still known


def test_empty_and_too_large_files() -> None:
    empty = judge("uploads/s1/c1/20261124T140000Z.mp4", size=0, head=b"")
    assert "empty (0 bytes)" in (empty.reason or "")
    assert f"DisplaySense accepts {ACCEPTED}" in (empty.reason or "")  # what would have been accepted
    large = judge("uploads/s1/c1/20261124T140000Z.mp4", size=11 * GIB, max_bytes=10 * GIB)
    assert "11.00 GiB" in (large.reason or "") and "10.00 GiB" in (large.reason or "")


def test_the_container_is_judged_by_its_bytes_not_its_extension() -> None:
    decision = judge("uploads/s1/c1/20261124T140000Z.mp4", head=TS)
    assert not decision.accepted
    assert "MPEG-TS" in (decision.reason or "")
    assert "MP4 or MOV" in (decision.reason or "")


def test_event_keys_are_url_decoded() -> None:
    raw = "uploads/store-1/cam+1/caf%C3%A9%2B+%281%29.mp4"
    assert decode_event_key(raw) == "uploads/store-1/cam 1/café+ (1).mp4"
    # Broken escapes do not raise: the key is then rejected by the id rules.
    assert "\ufffd" in decode_event_key("uploads/s/%C3%28/x.mp4")


def test_upload_key_builds_the_canonical_key() -> None:
    assert (
        upload_key("store-1", "cam-2", "2026-11-24T15:00:00+01:00", ".MP4")
        == "uploads/store-1/cam-2/20261124T140000Z.mp4"
    )


def test_upload_key_refuses_with_typed_problems() -> None:
    with pytest.raises(UploadRejected) as caught:
        upload_key("Store", "cam", "2026-11-24T14:00:00", "avi")
    assert [p.field for p in caught.value.problems] == ["store", "recorded_at", "extension"]
    assert "time zone" in caught.value.reason


def test_upload_request_validation_matches_ingest() -> None:
    request = validate_upload_request(
        store="store-1",
        camera="cam-1",
        recorded_at="2026-11-24T14:00:00Z",
        content_type="video/quicktime",
        size=5 * 1024**2,
        max_bytes=10 * GIB,
        now=NOW,
    )
    assert request.key == "uploads/store-1/cam-1/20261124T140000Z.mov"
    assert request.content_type == "video/quicktime"
    # What the API accepts, ingest accepts (for the right bytes).
    assert judge(request.key, size=request.size).accepted


def test_upload_request_refusals() -> None:
    with pytest.raises(UploadRejected) as caught:
        validate_upload_request(
            store="s1",
            camera="c1",
            recorded_at="2036-01-01T00:00:00Z",
            content_type="video/x-matroska",
            size=0,
            max_bytes=10 * GIB,
            now=NOW,
        )
    assert [p.field for p in caught.value.problems] == ["recorded_at", "content_type", "size"]
    assert "video/mp4 or video/quicktime" in caught.value.reason


ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,63}", fullmatch=True)
times = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2026, 11, 25), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))
extensions = st.sampled_from(["mp4", "mov", "MP4", ".mov"])


@given(ids, ids, times, extensions)
def test_any_valid_key_round_trips(store: str, camera: str, moment: datetime, ext: str) -> None:
    key = upload_key(store, camera, moment, ext)
    parts = parse_key(key)
    assert parts.problems == ()
    assert (parts.store, parts.camera, parts.key_time) == (store, camera, moment)
    assert parts.extension == ext.lstrip(".").lower()
    assert judge(key).accepted


@given(ids, ids, times, st.data())
def test_any_url_encoding_of_a_valid_key_parses(
    store: str, camera: str, moment: datetime, data: st.DataObject
) -> None:
    key = upload_key(store, camera, moment, "mp4")
    # S3 may percent-encode any character; decoding must give the key back whichever it chose.
    encoded = "".join(
        "".join(f"%{b:02X}" for b in ch.encode()) if data.draw(st.booleans()) else ch for ch in key
    )
    decoded = decode_event_key(encoded)
    assert decoded == key
    assert judge(decoded).accepted


@given(st.text(min_size=1, max_size=200))
def test_any_key_survives_s3_event_encoding(key: str) -> None:
    assert decode_event_key(quote_plus(key, safe="/")) == key


@given(
    st.text(max_size=120),
    st.integers(min_value=0, max_value=20 * GIB),
    st.binary(max_size=64),
    st.one_of(st.none(), st.text(max_size=40)),
)
def test_validation_never_raises_and_always_explains(
    key: str, size: int, head: bytes, meta: str | None
) -> None:
    decision = validate_upload(
        key=key, size=size, max_bytes=10 * GIB, head=head, metadata_recorded_at=meta, now=NOW
    )
    assert decision.accepted == (decision.reason is None)
    for value in (decision.store, decision.camera):
        assert value in (UNASSIGNED_STORE, UNASSIGNED_CAMERA) or ID_PATTERN.match(value)
    if decision.accepted:
        assert decision.recorded_at is not None
        assert decision.recorded_at <= NOW + timedelta(days=1)
