"""Rekognition Video: starting the two jobs of a video, reading their result pages, and sorting its
errors into the refusals of `domain.job_errors`.

    labels  StartLabelDetection, Person only (GeneralLabels inclusion filter); read back with
            AggregateBy=TIMESTAMPS, the only mode that returns a box per person per timestamp
    faces   StartFaceDetection with FaceAttributes=ALL
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from displaysense.adapters.aws_clients import error_code, error_message
from displaysense.domain.job_errors import (
    BadInputError,
    ConfigurationError,
    InvalidPaginationTokenError,
    PermanentError,
    RekognitionError,
    RetryLaterError,
)
from displaysense.domain.video import JobKind

if TYPE_CHECKING:
    from mypy_boto3_rekognition.client import RekognitionClient

MAX_RESULTS = 1000  # the most a Get* page may hold

# Throttling and the concurrent-job quota: the request was fine, Rekognition is busy.
THROTTLING = frozenset(
    {"ThrottlingException", "ProvisionedThroughputExceededException", "LimitExceededException"}
)
# Rekognition's own trouble: worth retrying later.
TRANSIENT = frozenset({"InternalServerError", "ServiceUnavailableException", "ServiceUnavailable"})
# The file itself is what Rekognition refuses (larger or longer than it analyses): the only start
# error that is the upload's fault. A file it cannot decode is accepted and its job ends FAILED.
BAD_INPUT = frozenset({"VideoTooLargeException"})
# Get*: the job is unknown, or its results are gone (Rekognition keeps them 7 days).
GONE = frozenset({"ResourceNotFoundException"})


def classify(exc: ClientError | BotoCoreError) -> RekognitionError:
    if isinstance(exc, ParamValidationError):
        # botocore refused to send it: the request is malformed, however often it is tried.
        return ConfigurationError(type(exc).__name__, str(exc))
    if isinstance(exc, BotoCoreError):
        # No answer at all (connection, timeout): nothing is known to be wrong with the request.
        return RetryLaterError(type(exc).__name__, str(exc))
    code, message = error_code(exc), error_message(exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in THROTTLING or code in TRANSIENT or status >= 500:
        return RetryLaterError(code, message)
    return _ERROR_CLASSES.get(code, ConfigurationError)(code, message)


_ERROR_CLASSES: dict[str, type[RekognitionError]] = {
    **dict.fromkeys(BAD_INPUT, BadInputError),
    **dict.fromkeys(GONE, PermanentError),
    "InvalidPaginationTokenException": InvalidPaginationTokenError,
}


class RekognitionJobs:
    def __init__(self, client: RekognitionClient, *, topic_arn: str, role_arn: str) -> None:
        self._client = client
        self._channel = {"SNSTopicArn": topic_arn, "RoleArn": role_arn} if topic_arn and role_arn else None

    def start(
        self,
        kind: JobKind,
        *,
        bucket: str,
        key: str,
        version_id: str | None,
        token: str,
        job_tag: str,
    ) -> str:
        """Starts one job and returns its JobId. The same token and parameters within 7 days
        return the same JobId and start nothing (and announce nothing a second time).

        Raises RetryLaterError (busy), BadInputError (the file is too large or too long) or
        ConfigurationError (anything else: permissions, parameters, an unknown error)."""
        s3_object: dict[str, str] = {"Bucket": bucket, "Name": key}
        if version_id:
            s3_object["Version"] = version_id
        request: dict[str, Any] = {
            "Video": {"S3Object": s3_object},
            "ClientRequestToken": token,
            "JobTag": job_tag,
        }
        if self._channel is not None:
            request["NotificationChannel"] = self._channel
        try:
            if kind is JobKind.LABELS:
                answer = self._client.start_label_detection(
                    **request,
                    Features=["GENERAL_LABELS"],
                    Settings={"GeneralLabels": {"LabelInclusionFilters": ["Person"]}},
                )
            else:
                answer = self._client.start_face_detection(**request, FaceAttributes="ALL")
        except (ClientError, BotoCoreError) as exc:
            error = classify(exc)
            if not isinstance(error, (RetryLaterError, BadInputError)):
                # Nothing else a start can be refused for is the file's fault or final.
                error = ConfigurationError(error.code, error.message)
            raise error from exc
        return answer["JobId"]

    def get_page(self, kind: JobKind, job_id: str, next_token: str | None) -> dict[str, Any]:
        """One page of a finished job's results, as returned (less the HTTP metadata)."""
        request: dict[str, Any] = {"JobId": job_id, "MaxResults": MAX_RESULTS}
        if next_token:
            request["NextToken"] = next_token
        try:
            if kind is JobKind.LABELS:
                answer: Any = self._client.get_label_detection(
                    **request, SortBy="TIMESTAMP", AggregateBy="TIMESTAMPS"
                )
            else:
                answer = self._client.get_face_detection(**request)
        except (ClientError, BotoCoreError) as exc:
            raise classify(exc) from exc
        page = dict(answer)
        page.pop("ResponseMetadata", None)
        return page

    def failure_message(self, kind: JobKind, job_id: str) -> str | None:
        """Rekognition's StatusMessage of a failed job (the completion message carries none).

        One Get* call after the job ended, not polling; None when it cannot be had (the job is gone).
        RetryLaterError when Rekognition is throttling (or briefly unavailable) and ConfigurationError
        when it refuses the call (e.g. an IAM change not applied yet): the message exists, ask again.
        """
        try:
            if kind is JobKind.LABELS:
                answer: Any = self._client.get_label_detection(JobId=job_id, MaxResults=1)
            else:
                answer = self._client.get_face_detection(JobId=job_id, MaxResults=1)
        except (ClientError, BotoCoreError) as exc:
            error = classify(exc)
            if isinstance(error, (RetryLaterError, ConfigurationError)):
                raise error from exc
            return None
        message = answer.get("StatusMessage")
        return str(message) if message else None
