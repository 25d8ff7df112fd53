"""The stand-in against an unchanged boto3 client: Rekognition's shapes, paging, errors, messages."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import cv2
import numpy as np
import pytest
from botocore.config import Config
from displaysense_local.rekognition import RekognitionStandIn, StandInSettings

from .conftest import (
    BUCKET,
    CREDENTIALS,
    JOB_TAG,
    ROLE_ARN,
    SAMPLE_KEY,
    Analysed,
    Aws,
    all_pages,
    client,
    wait_for,
)

pytestmark = pytest.mark.slow

VIDEO = {"S3Object": {"Bucket": BUCKET, "Name": SAMPLE_KEY}}
NEVER_ESTIMATED = {
    "AgeRange",
    "Gender",
    "Beard",
    "Mustache",
    "Eyeglasses",
    "Sunglasses",
    "EyesOpen",
    "MouthOpen",
}
FACE_FIELDS = {"BoundingBox", "Confidence", "Pose", "Landmarks", "Quality", "Emotions", "Smile"}
EMOTION_TYPES = {"HAPPY", "SAD", "ANGRY", "CONFUSED", "DISGUSTED", "SURPRISED", "CALM", "UNKNOWN", "FEAR"}


def _error_code(excinfo: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_label_job_reports_the_real_video(analysed: Analysed) -> None:
    answer = analysed.rekognition.get_label_detection(JobId=analysed.label_job)
    assert answer["JobStatus"] == "SUCCEEDED"
    assert answer["JobTag"] == JOB_TAG
    assert answer["Video"] == VIDEO
    meta = answer["VideoMetadata"]
    assert meta["Codec"] == "h264"
    assert meta["Format"] == "QuickTime / MOV"
    assert (meta["FrameWidth"], meta["FrameHeight"]) == (642, 362)
    assert meta["FrameRate"] == pytest.approx(60.02, abs=0.01)
    assert meta["DurationMillis"] == pytest.approx(40_917, abs=50)
    assert meta["ColorRange"] == "LIMITED"  # the SPS's video_full_range_flag


def test_person_labels_have_rekognition_shape(analysed: Analysed) -> None:
    labels = all_pages(analysed.rekognition.get_label_detection, "Labels", JobId=analysed.label_job)
    assert len(labels) > 100  # people are in view for most of the 41 s, sampled at 5 per second
    timestamps = [d["Timestamp"] for d in labels]
    assert timestamps == sorted(timestamps)
    assert all(0 <= t <= 41_000 for t in timestamps)
    for detection in labels:
        label = detection["Label"]
        assert label["Name"] == "Person"
        assert label["Parents"] == []
        assert label["Aliases"] == [{"Name": "Human"}]
        assert label["Categories"] == [{"Name": "Person Description"}]
        assert label["Instances"]
        assert label["Confidence"] == max(i["Confidence"] for i in label["Instances"])
        for instance in label["Instances"]:
            box = instance["BoundingBox"]
            assert 50 <= instance["Confidence"] <= 100
            assert box["Left"] >= 0 and box["Left"] + box["Width"] <= 1 + 1e-6
            assert box["Top"] >= 0 and box["Top"] + box["Height"] <= 1 + 1e-6


def test_faces_carry_only_estimated_attributes(analysed: Analysed) -> None:
    faces = all_pages(analysed.rekognition.get_face_detection, "Faces", JobId=analysed.face_job)
    assert len(faces) > 50
    for detection in faces:
        face = detection["Face"]
        assert set(face) <= FACE_FIELDS
        assert not set(face) & NEVER_ESTIMATED
        assert {"BoundingBox", "Confidence", "Pose", "Emotions", "Smile"} <= set(face)
        assert set(face["Pose"]) == {"Yaw", "Pitch", "Roll"}
        assert all(-180 <= v <= 180 for v in face["Pose"].values())
        types = [e["Type"] for e in face["Emotions"]]
        assert set(types) <= EMOTION_TYPES and "CALM" in types and "CONFUSED" not in types
        confidences = [e["Confidence"] for e in face["Emotions"]]
        assert confidences == sorted(confidences, reverse=True)
        happy = next(e["Confidence"] for e in face["Emotions"] if e["Type"] == "HAPPY")
        assert face["Smile"]["Value"] == (happy >= 50)
    # Most faces are frontal enough for the face mesh: those carry landmarks and a measured quality.
    assert sum("Landmarks" in d["Face"] for d in faces) > len(faces) / 3
    assert all(0 <= d["Face"]["Quality"]["Sharpness"] <= 100 for d in faces if "Quality" in d["Face"])


def test_default_face_attributes_leave_out_emotions(analysed: Analysed, aws: Aws) -> None:
    job = analysed.rekognition.start_face_detection(Video=VIDEO, FaceAttributes="DEFAULT")["JobId"]
    answer = wait_for(analysed.rekognition.get_face_detection, job)
    faces = all_pages(analysed.rekognition.get_face_detection, "Faces", JobId=job)
    assert answer["JobStatus"] == "SUCCEEDED" and faces
    assert all("Emotions" not in d["Face"] and "Smile" not in d["Face"] for d in faces)
    assert "JobTag" not in answer


def test_same_token_same_job_and_one_message(analysed: Analysed, aws: Aws) -> None:
    channel = {"SNSTopicArn": aws.topic_arn, "RoleArn": ROLE_ARN}
    again = analysed.rekognition.start_label_detection(
        Video=VIDEO, ClientRequestToken="labels-1", NotificationChannel=channel, JobTag=JOB_TAG
    )["JobId"]
    assert again == analysed.label_job
    time.sleep(1.0)
    late = aws.completion_messages()
    assert [m for m in analysed.messages + late if m["JobId"] == analysed.label_job] == [
        m for m in analysed.messages if m["JobId"] == analysed.label_job
    ]
    assert len([m for m in analysed.messages if m["JobId"] == analysed.label_job]) == 1


def test_same_token_other_parameters_is_a_mismatch(analysed: Analysed) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        analysed.rekognition.start_label_detection(Video=VIDEO, ClientRequestToken="labels-1", JobTag="other")
    assert _error_code(excinfo) == "IdempotentParameterMismatchException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_completion_message_has_rekognition_format(analysed: Analysed) -> None:
    by_job = {m["JobId"]: m for m in analysed.messages}
    for job_id, api in (
        (analysed.label_job, "StartLabelDetection"),
        (analysed.face_job, "StartFaceDetection"),
    ):
        message = by_job[job_id]
        assert set(message) == {"JobId", "Status", "API", "JobTag", "Timestamp", "Video"}
        assert message["Status"] == "SUCCEEDED"
        assert message["API"] == api
        assert message["JobTag"] == JOB_TAG
        assert isinstance(message["Timestamp"], int) and message["Timestamp"] > 1_600_000_000_000
        assert message["Video"] == {"S3ObjectName": SAMPLE_KEY, "S3Bucket": BUCKET}


def test_paging_returns_every_detection_once(analysed: Analysed) -> None:
    get = analysed.rekognition.get_label_detection
    whole = get(JobId=analysed.label_job)
    assert "NextToken" not in whole
    paged = all_pages(get, "Labels", JobId=analysed.label_job, MaxResults=7)
    assert paged == whole["Labels"]
    first = get(JobId=analysed.label_job, MaxResults=7)
    assert len(first["Labels"]) == 7 and first["NextToken"]
    faces = all_pages(
        analysed.rekognition.get_face_detection, "Faces", JobId=analysed.face_job, MaxResults=11
    )
    assert faces == analysed.rekognition.get_face_detection(JobId=analysed.face_job)["Faces"]


def test_foreign_or_forged_token_is_refused(analysed: Analysed) -> None:
    face_token = analysed.rekognition.get_face_detection(JobId=analysed.face_job, MaxResults=1)["NextToken"]
    for token in ("not-a-token", face_token):
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            analysed.rekognition.get_label_detection(JobId=analysed.label_job, NextToken=token)
        assert _error_code(excinfo) == "InvalidPaginationTokenException"


def test_sort_and_aggregate(analysed: Analysed) -> None:
    get = analysed.rekognition.get_label_detection
    by_time = get(JobId=analysed.label_job)
    by_name = get(JobId=analysed.label_job, SortBy="NAME")
    assert by_name["GetRequestMetadata"] == {"SortBy": "NAME", "AggregateBy": "TIMESTAMPS"}
    assert sorted(by_name["Labels"], key=lambda d: d["Timestamp"]) == by_time["Labels"]
    segments = get(JobId=analysed.label_job, AggregateBy="SEGMENTS")
    assert segments["GetRequestMetadata"]["AggregateBy"] == "SEGMENTS"
    assert 0 < len(segments["Labels"]) < len(by_time["Labels"])
    for segment in segments["Labels"]:
        assert segment["Label"]["Instances"] == []
        start, end = segment["StartTimestampMillis"], segment["EndTimestampMillis"]
        assert segment["DurationMillis"] == end - start >= 0
    # Segments cover the same time as the timestamps, from the first to the last.
    assert segments["Labels"][0]["StartTimestampMillis"] == by_time["Labels"][0]["Timestamp"]
    assert segments["Labels"][-1]["EndTimestampMillis"] == by_time["Labels"][-1]["Timestamp"]


def test_filters_and_min_confidence(analysed: Analysed) -> None:
    rek = analysed.rekognition
    cars = rek.start_label_detection(
        Video=VIDEO, Settings={"GeneralLabels": {"LabelInclusionFilters": ["Car"]}}
    )["JobId"]
    sure = rek.start_label_detection(Video=VIDEO, MinConfidence=90)["JobId"]
    assert wait_for(rek.get_label_detection, cars)["JobStatus"] == "SUCCEEDED"
    assert rek.get_label_detection(JobId=cars)["Labels"] == []
    wait_for(rek.get_label_detection, sure)
    confident = all_pages(rek.get_label_detection, "Labels", JobId=sure)
    default = all_pages(rek.get_label_detection, "Labels", JobId=analysed.label_job)
    assert confident
    assert sum(len(d["Label"]["Instances"]) for d in confident) < sum(
        len(d["Label"]["Instances"]) for d in default
    )
    assert all(i["Confidence"] >= 90 for d in confident for i in d["Label"]["Instances"])


def test_api_errors_are_rekognition_exceptions(analysed: Analysed) -> None:
    rek = analysed.rekognition
    with pytest.raises(rek.exceptions.ResourceNotFoundException):
        rek.get_label_detection(JobId="0" * 64)
    with pytest.raises(rek.exceptions.ResourceNotFoundException):
        rek.get_face_detection(JobId=analysed.label_job)  # a label job is not a face job
    with pytest.raises(rek.exceptions.InvalidS3ObjectException):
        rek.start_label_detection(Video={"S3Object": {"Bucket": BUCKET, "Name": "uploads/missing.mp4"}})
    with pytest.raises(rek.exceptions.InvalidParameterException):
        rek.start_label_detection(Video=VIDEO, JobTag="spaces are not allowed")
    with pytest.raises(rek.exceptions.InvalidParameterException):
        rek.start_face_detection(Video=VIDEO, ClientRequestToken="no!")
    with pytest.raises(rek.exceptions.InvalidParameterException):
        rek.start_label_detection(Video=VIDEO, MinConfidence=101)


def _mpeg1_in_mp4(path: Path) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"PIM1"), 25, (320, 240))
    assert writer.isOpened()
    for i in range(25):
        writer.write(np.full((240, 320, 3), i * 8, dtype=np.uint8))
    writer.release()


def test_unsupported_codec_fails_the_job(analysed: Analysed, aws: Aws, tmp_path: Path) -> None:
    _mpeg1_in_mp4(tmp_path / "mpeg1.mp4")
    aws.s3.upload_file(str(tmp_path / "mpeg1.mp4"), BUCKET, "uploads/store-1/cam-1/mpeg1.mp4")
    aws.s3.put_object(Bucket=BUCKET, Key="uploads/store-1/cam-1/notes.mp4", Body=b"not a video at all")
    channel = {"SNSTopicArn": aws.topic_arn, "RoleArn": ROLE_ARN}
    rek = analysed.rekognition
    for key in ("uploads/store-1/cam-1/mpeg1.mp4", "uploads/store-1/cam-1/notes.mp4"):
        job = rek.start_label_detection(
            Video={"S3Object": {"Bucket": BUCKET, "Name": key}}, NotificationChannel=channel, JobTag="bad"
        )["JobId"]
        answer = wait_for(rek.get_label_detection, job, timeout_s=60)
        assert answer["JobStatus"] == "FAILED"
        assert answer["StatusMessage"] == "Unsupported codec/format."
        assert "Labels" not in answer and "VideoMetadata" not in answer
        messages = [m for m in aws.completion_messages(wait_s=3.0) if m["JobId"] == job]
        assert [m["Status"] for m in messages] == ["FAILED"]


def test_limit_exceeded_restart_resumes_and_keeps_jobs(aws: Aws, tmp_path: Path) -> None:
    def standin(data_dir: Path) -> RekognitionStandIn:
        # One frame per second keeps these extra analyses of the clip short.
        return RekognitionStandIn(
            data_dir, aws.endpoint, aws.endpoint, workers=1, max_concurrent_jobs=1, sample_fps=1.0
        )

    data = tmp_path / "restarted"
    first = standin(data)
    rek = client("rekognition", first.start())
    job = rek.start_label_detection(Video=VIDEO, ClientRequestToken="resume-1")["JobId"]
    with pytest.raises(rek.exceptions.LimitExceededException):
        rek.start_face_detection(Video=VIDEO)
    assert rek.get_label_detection(JobId=job)["JobStatus"] == "IN_PROGRESS"
    first.stop()  # interrupts the analysis
    # Interrupted, not finished: the job is still in progress on disk, with nothing analysed kept.
    assert json.loads((data / "jobs" / f"{job}.json").read_text())["status"] == "IN_PROGRESS"
    assert not list((data / "analyses").iterdir()) and not list((data / "results").iterdir())

    second = standin(data)
    rek = client("rekognition", second.start())
    answer = wait_for(rek.get_label_detection, job)
    assert answer["JobStatus"] == "SUCCEEDED"
    labels = all_pages(rek.get_label_detection, "Labels", JobId=job)
    assert labels and all(d["Timestamp"] % 1000 < 20 for d in labels)  # sampled once per second
    # The token is remembered across restarts, and the finished job answers the same after one.
    assert rek.start_label_detection(Video=VIDEO, ClientRequestToken="resume-1")["JobId"] == job
    second.stop()

    third = standin(data)
    rek = client("rekognition", third.start())
    assert all_pages(rek.get_label_detection, "Labels", JobId=job) == labels
    third.stop()

    # The resumed job found what a job that was never interrupted finds.
    with standin(tmp_path / "uninterrupted") as fresh:
        rek = client("rekognition", fresh.url)
        straight = rek.start_label_detection(Video=VIDEO)["JobId"]
        assert wait_for(rek.get_label_detection, straight)["VideoMetadata"] == answer["VideoMetadata"]
        assert all_pages(rek.get_label_detection, "Labels", JobId=straight) == labels


def test_service_errors_and_oversized_videos_are_rekognition_exceptions(aws: Aws, tmp_path: Path) -> None:
    # The sample is about 1 MB: over a 1000-byte limit, as a 10 GB file is over Rekognition's.
    settings = StandInSettings(max_video_bytes=1000)
    with RekognitionStandIn(tmp_path, aws.endpoint, aws.endpoint, settings=settings) as standin:
        # No retries: botocore would retry a 500 on its own, as it does against AWS.
        rek = boto3.client(
            "rekognition",
            endpoint_url=standin.url,
            config=Config(retries={"total_max_attempts": 1}),
            **CREDENTIALS,
        )
        with pytest.raises(rek.exceptions.VideoTooLargeException) as too_large:
            rek.start_label_detection(Video=VIDEO)
        assert too_large.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

        def broken(*_: Any, **__: Any) -> Any:
            raise RuntimeError("disk on fire")

        assert standin.store is not None
        standin.store.get = broken  # type: ignore[method-assign]
        with pytest.raises(rek.exceptions.InternalServerError) as internal:
            rek.get_face_detection(JobId="a" * 64)
        assert internal.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    # The product sorts them as Rekognition's answers deserve: retry later, and the upload's fault.
    jobs = pytest.importorskip("displaysense.adapters.rekognition_jobs")
    assert isinstance(jobs.classify(internal.value), jobs.RetryLaterError)
    assert isinstance(jobs.classify(too_large.value), jobs.BadInputError)


def test_the_products_label_request(analysed: Analysed, aws: Aws) -> None:
    """StartLabelDetection and GetLabelDetection exactly as DisplaySense's adapter sends them."""
    adapters = pytest.importorskip("displaysense.adapters.rekognition_jobs")
    video = pytest.importorskip("displaysense.domain.video")
    product = adapters.RekognitionJobs(analysed.rekognition, topic_arn=aws.topic_arn, role_arn=ROLE_ARN)
    job = product.start(
        video.JobKind.LABELS,
        bucket=BUCKET,
        key=SAMPLE_KEY,
        version_id=None,
        token="product-labels-1",
        job_tag="video-0002",
    )
    wait_for(analysed.rekognition.get_label_detection, job)
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        pages.append(product.get_page(video.JobKind.LABELS, job, token))
        token = pages[-1].get("NextToken")
        if not token:
            break
    assert pages[0]["JobStatus"] == "SUCCEEDED" and pages[0]["JobTag"] == "video-0002"
    assert pages[0]["GetRequestMetadata"] == {"SortBy": "TIMESTAMP", "AggregateBy": "TIMESTAMPS"}
    # The Person inclusion filter keeps everything the stand-in reports: the same as no filter.
    reported = [d for page in pages for d in page["Labels"]]
    assert reported == all_pages(analysed.rekognition.get_label_detection, "Labels", JobId=analysed.label_job)
    messages = [m for m in aws.completion_messages(wait_s=3.0) if m["JobId"] == job]
    assert [(m["Status"], m["API"], m["JobTag"]) for m in messages] == [
        ("SUCCEEDED", "StartLabelDetection", "video-0002")
    ]
