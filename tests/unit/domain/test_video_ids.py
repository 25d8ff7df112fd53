"""Video ids and Rekognition tokens: deterministic, distinct per object version, valid charsets."""

from __future__ import annotations

import pytest
from displaysense.domain.video import JobKind
from displaysense.domain.video_ids import (
    CLIENT_REQUEST_TOKEN,
    JOB_TAG,
    client_request_token,
    is_video_id,
    job_tag,
    object_version,
    video_id,
)
from hypothesis import given
from hypothesis import strategies as st


@given(
    st.text(min_size=3, max_size=63),
    st.text(min_size=1, max_size=300),
    st.text(min_size=1, max_size=60).filter(lambda v: v != "null"),
)
def test_ids_are_deterministic_and_fit_rekognitions_charsets(bucket: str, key: str, version: str) -> None:
    vid = video_id(bucket, key, object_version(version, None))
    assert vid == video_id(bucket, key, object_version(version, None))
    assert is_video_id(vid)
    assert JOB_TAG.match(job_tag(vid))
    for kind in JobKind:
        token = client_request_token(vid, kind)
        assert CLIENT_REQUEST_TOKEN.match(token)
        assert len(token) <= 64


def test_each_object_version_and_job_kind_has_its_own_token() -> None:
    first = video_id("b", "uploads/s/c/x.mp4", object_version("v1", "e"))
    second = video_id("b", "uploads/s/c/x.mp4", object_version("v2", "e"))
    assert first != second
    tokens = {client_request_token(v, k) for v in (first, second) for k in JobKind}
    assert len(tokens) == 4


def test_object_version_prefers_the_version_id() -> None:
    assert object_version("3HL4kqtJlcpXroDTDmJ", '"abc"') == "version:3HL4kqtJlcpXroDTDmJ"
    assert object_version(None, '"abc"') == "etag:abc"
    assert object_version("null", "abc") == "etag:abc"
    with pytest.raises(ValueError, match="version id or an ETag"):
        object_version(None, None)
