"""How Rekognition's errors are sorted (adapters/rekognition_jobs.py), at the boto3 boundary: only a
file too large or too long is the upload's fault, only results that are gone are final, and every
other refusal waits for a fix and is retried."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from displaysense.adapters.rekognition_jobs import RekognitionJobs
from displaysense.domain.job_errors import (
    BadInputError,
    ConfigurationError,
    InvalidPaginationTokenError,
    PermanentError,
    RekognitionError,
    RetryLaterError,
)
from displaysense.domain.video import JobKind

TOPIC = "arn:aws:sns:us-east-1:123456789012:completion"
ROLE = "arn:aws:iam::123456789012:role/rekognition"


@pytest.fixture
def stubbed() -> Iterator[tuple[RekognitionJobs, Stubber]]:
    client = boto3.client(
        "rekognition", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield RekognitionJobs(client, topic_arn=TOPIC, role_arn=ROLE), stubber
        stubber.assert_no_pending_responses()


def start_error(jobs: RekognitionJobs, stubber: Stubber, code: str, status: int = 400) -> RekognitionError:
    stubber.add_client_error(
        "start_face_detection", service_error_code=code, service_message="refused", http_status_code=status
    )
    with pytest.raises(RekognitionError) as raised:
        jobs.start(
            JobKind.FACES,
            bucket="displaysense-data",
            key="uploads/s/c/t.mp4",
            version_id="v1",
            token="t",
            job_tag="x",
        )
    return raised.value


def get_error(jobs: RekognitionJobs, stubber: Stubber, code: str, status: int = 400) -> RekognitionError:
    stubber.add_client_error(
        "get_label_detection", service_error_code=code, service_message="refused", http_status_code=status
    )
    with pytest.raises(RekognitionError) as raised:
        jobs.get_page(JobKind.LABELS, "0" * 64, None)
    return raised.value


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("ProvisionedThroughputExceededException", 400),
        ("LimitExceededException", 400),
        ("InternalServerError", 500),
        ("ServiceUnavailableException", 503),
    ],
)
def test_a_busy_rekognition_is_asked_again_later(
    stubbed: tuple[RekognitionJobs, Stubber], code: str, status: int
) -> None:
    error = start_error(*stubbed, code, status)
    assert isinstance(error, RetryLaterError)
    assert error.quota is (code == "LimitExceededException")
    assert isinstance(get_error(*stubbed, code, status), RetryLaterError)


def test_only_a_file_too_large_or_too_long_is_the_uploads_fault(
    stubbed: tuple[RekognitionJobs, Stubber],
) -> None:
    assert isinstance(start_error(*stubbed, "VideoTooLargeException"), BadInputError)


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("AccessDeniedException", "pass the Rekognition role"),
        ("InvalidS3ObjectException", "KMS-encrypted"),
        ("InvalidParameterException", "DS_COMPLETION_TOPIC_ARN"),
        ("IdempotentParameterMismatchException", "client request token"),
        # Not a start error in Rekognition's API; whatever it would mean, it is not final for a start.
        ("ResourceNotFoundException", "does not know"),
        ("ValidationException", "does not know"),
    ],
)
def test_other_start_refusals_are_configuration_problems(
    stubbed: tuple[RekognitionJobs, Stubber], code: str, hint: str
) -> None:
    error = start_error(*stubbed, code)
    assert isinstance(error, ConfigurationError)
    assert error.code == code and error.message == "refused"
    assert hint in error.hint


def test_a_request_botocore_will_not_send_is_a_configuration_problem() -> None:
    client = boto3.client(
        "rekognition",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",  # never reached: botocore validates before sending
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    jobs = RekognitionJobs(client, topic_arn=TOPIC, role_arn=ROLE)
    with pytest.raises(ConfigurationError) as raised:  # a bucket name S3 would never accept
        jobs.start(JobKind.FACES, bucket="b", key="k", version_id=None, token="t", job_tag="x")
    assert raised.value.code == "ParamValidationError"


def test_results_that_are_gone_are_final(stubbed: tuple[RekognitionJobs, Stubber]) -> None:
    assert isinstance(get_error(*stubbed, "ResourceNotFoundException"), PermanentError)
    assert isinstance(get_error(*stubbed, "InvalidPaginationTokenException"), InvalidPaginationTokenError)


@pytest.mark.parametrize("code", ["AccessDeniedException", "InvalidParameterException", "SomethingNew"])
def test_a_refused_get_is_a_configuration_problem(
    stubbed: tuple[RekognitionJobs, Stubber], code: str
) -> None:
    assert isinstance(get_error(*stubbed, code), ConfigurationError)


def test_the_failure_message_is_asked_again_when_refused_or_busy(
    stubbed: tuple[RekognitionJobs, Stubber],
) -> None:
    jobs, stubber = stubbed
    for code, raised in (
        ("AccessDeniedException", ConfigurationError),
        ("ThrottlingException", RetryLaterError),
    ):
        stubber.add_client_error("get_face_detection", service_error_code=code)
        with pytest.raises(raised):
            jobs.failure_message(JobKind.FACES, "0" * 64)
    # A job whose results are gone has no message to wait for.
    stubber.add_client_error("get_face_detection", service_error_code="ResourceNotFoundException")
    assert jobs.failure_message(JobKind.FACES, "0" * 64) is None
