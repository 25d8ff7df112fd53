"""Uploads that do not fit the drop folder are rejected, never dropped: listed with a reason."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from displaysense.domain.video import VideoStatus
from displaysense.domain.video_ids import object_version, video_id

from tests.integration.handlers.conftest import BUCKET, MP4_HEAD, Pipeline
from tests.support import aws_events

TS = (b"\x47\x40\x00\x10" + b"\xff" * 184) * 30
MKV = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska" + bytes(500)
AVI = b"RIFF\x00\x10\x00\x00AVI LIST\x00\x00\x00\x00hdrlavih" + bytes(500)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(500)
MOV = struct.pack(">I", 20) + b"ftypqt  \x00\x00\x02\x00qt  " + bytes(500)
OK = "uploads/store-1/cam-1/20261124T100000Z.mp4"


@pytest.mark.parametrize(
    ("key", "body", "metadata", "store", "camera", "words"),
    [
        ("uploads/store-1/20261124T100000Z.mp4", MP4_HEAD, None, "store-1", "_unassigned", ["folder level"]),
        (
            "uploads/Store 1/cam-1/20261124T100000Z.mp4",
            MP4_HEAD,
            None,
            "_unassigned",
            "cam-1",
            ["'Store 1'", "'store-1'"],
        ),
        ("uploads/store-1/cam+1/20261124T100000Z.mp4", MP4_HEAD, None, "store-1", "_unassigned", ["'cam+1'"]),
        ("uploads/störe/kamera/20261124T100000Z.mp4", MP4_HEAD, None, "_unassigned", "kamera", ["'störe'"]),
        (
            "uploads/store-1/cam-1/window.mp4",
            MP4_HEAD,
            None,
            "store-1",
            "cam-1",
            ["recording time is unknown"],
        ),
        (
            "uploads/store-1/cam-1/window.mp4",
            MP4_HEAD,
            {"recorded-at": "24/11/2026"},
            "store-1",
            "cam-1",
            ["'24/11/2026'"],
        ),
        ("uploads/store-1/cam-1/20361124T100000Z.mp4", MP4_HEAD, None, "store-1", "cam-1", ["future"]),
        (OK, b"", None, "store-1", "cam-1", ["empty (0 bytes)"]),
        (OK, TS, None, "store-1", "cam-1", ["MPEG-TS", "MP4 or MOV"]),
        (OK, MKV, None, "store-1", "cam-1", ["Matroska", "MP4 or MOV"]),
        (OK, AVI, None, "store-1", "cam-1", ["AVI", "MP4 or MOV"]),
        (OK, JPEG, None, "store-1", "cam-1", ["JPEG image", "MP4 or MOV"]),
        ("uploads/store-1/cam-1/20261124T100000Z.mkv", MKV, None, "store-1", "cam-1", ["'.mkv'", "Matroska"]),
    ],
)
def test_rejected_inputs(
    pipeline: Pipeline,
    key: str,
    body: bytes,
    metadata: dict[str, str] | None,
    store: str,
    camera: str,
    words: list[str],
) -> None:
    upload = pipeline.upload(key, body, metadata)
    pipeline.notify(upload)
    pipeline.notify(upload)  # and once more: still one rejected video
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]  # nothing to retry
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None
    assert video.status is VideoStatus.REJECTED
    assert (video.store, video.camera, video.key) == (store, camera, key)
    assert video.reason is not None
    for word in words:
        assert word in video.reason, (word, video.reason)
    assert video.jobs == {}
    assert pipeline.camera_counts(store, camera) == {"REJECTED": 1}
    assert pipeline.services.slots.in_use() == 0
    # Listed for the API: by store (or under _unassigned) and by status.
    listed, _ = pipeline.services.listing.list_videos(
        store=store, camera=None, status=VideoStatus.REJECTED, start=None, end=None, limit=10, cursor=None
    )
    assert [v.video_id for v in listed] == [upload.video_id]
    # The object stays where it was.
    assert pipeline.s3.head_object(Bucket=BUCKET, Key=key, VersionId=upload.version_id)


def test_too_large(make_pipeline: Callable[..., Pipeline]) -> None:
    pipeline = make_pipeline(max_video_bytes=1024)
    upload = pipeline.upload(OK, MP4_HEAD + bytes(2000))
    pipeline.notify(upload)
    pipeline.deliver("ingest")
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.status is VideoStatus.REJECTED
    assert "more than the limit of 1024 bytes" in (video.reason or "")


def test_an_unknown_time_is_listed_at_the_upload_time_without_widening_the_camera_range(
    pipeline: Pipeline,
) -> None:
    upload = pipeline.upload("uploads/store-1/cam-1/window.mp4")
    pipeline.notify(body=aws_events.s3_event(pipeline.record(upload, event_time="2026-11-24T11:30:05.120Z")))
    pipeline.deliver("ingest")
    video = pipeline.services.videos.get(upload.video_id)
    assert video is not None and video.recorded_at == "2026-11-24T11:30:05Z"
    [camera] = pipeline.services.cameras.list_cameras()
    assert (camera.first_recorded_at, camera.last_recorded_at) == (None, None)


def test_accepted_keys_with_metadata_time_and_mov(pipeline: Pipeline) -> None:
    with_meta = pipeline.upload(
        "uploads/store-1/cam-1/front window.MOV", MOV, {"recorded-at": "2026-11-24T10:15:00+01:00"}
    )
    pipeline.expect_starts(with_meta)
    pipeline.notify(with_meta)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(with_meta.video_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
    assert video.key == "uploads/store-1/cam-1/front window.MOV"  # decoded from 'front+window.MOV'
    assert video.recorded_at == "2026-11-24T09:15:00Z"


def test_test_events_and_foreign_records_are_ignored(pipeline: Pipeline) -> None:
    pipeline.notify(body=aws_events.s3_test_event(BUCKET))
    upload = pipeline.upload()
    removed = pipeline.record(upload, event_name="ObjectRemoved:Delete")
    pipeline.notify(body=aws_events.s3_event(removed))
    # (an unreadable message is not ignored but fails: test_poison_messages.py)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    assert pipeline.services.cameras.list_cameras() == []


def test_several_records_per_message_each_get_their_own_video(pipeline: Pipeline) -> None:
    good = [pipeline.upload(f"uploads/store-1/cam-{n}/20261124T100000Z.mp4") for n in (1, 2)]
    bad = pipeline.upload("uploads/store-1/cam-3/20261124T100000Z.mp4", JPEG)
    for upload in good:
        pipeline.expect_starts(upload)
    pipeline.notify(good[0], bad, good[1])
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    statuses = {u.video_id: v.status for u in (*good, bad) if (v := pipeline.services.videos.get(u.video_id))}
    assert list(statuses.values()) == [VideoStatus.ANALYZING, VideoStatus.ANALYZING, VideoStatus.REJECTED]


def test_the_event_s3_itself_sends(pipeline: Pipeline) -> None:
    """moto's own S3 -> SQS notification (its test event first; its records carry no version id)."""
    pipeline.s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": aws_events.queue_arn("ingest"),
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                }
            ]
        },
    )
    upload = pipeline.upload()
    # The video id falls back on the ETag; Start* still names the version HEAD reports for it.
    expected_id = video_id(BUCKET, upload.key, object_version(None, upload.etag))
    pipeline.expect_starts(upload, vid=expected_id)
    assert all(a == {"batchItemFailures": []} for a in pipeline.deliver("ingest"))
    video = pipeline.services.videos.get(expected_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
    assert video.version_id == upload.version_id


def test_a_deleted_object_is_skipped(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    pipeline.s3.delete_object(Bucket=BUCKET, Key=upload.key, VersionId=upload.version_id)
    pipeline.notify(upload)
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    assert pipeline.services.videos.get(upload.video_id) is None


def test_a_null_version_id_falls_back_on_the_etag(pipeline: Pipeline) -> None:
    upload = pipeline.upload()
    expected_id = video_id(BUCKET, upload.key, object_version(None, upload.etag))
    pipeline.expect_starts(upload, vid=expected_id)
    record = aws_events.s3_record(
        bucket=BUCKET, key=upload.key, size=upload.size, version_id="null", etag=upload.etag
    )
    pipeline.notify(body=aws_events.s3_event(record))
    assert pipeline.deliver("ingest") == [{"batchItemFailures": []}]
    video = pipeline.services.videos.get(expected_id)
    assert video is not None and video.status is VideoStatus.ANALYZING
