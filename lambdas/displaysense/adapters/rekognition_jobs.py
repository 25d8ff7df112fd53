"""Rekognition Video: starting the two jobs of a video, reading their result pages, and sorting its
errors into what waits and retries, what is the upload's fault, and what is final.

    labels  StartLabelDetection, Person only (GeneralLabels inclusion filter); read back with
            AggregateBy=TIMESTAMPS, the only mode that returns a box per person per timestamp
    faces   StartFaceDetection with FaceAttributes=ALL
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from displaysense.adapters.aws import error_code, error_message
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
# The object cannot be analysed: the upload's problem, shown as a rejection reason.
BAD_INPUT = frozenset({"InvalidS3ObjectException", "VideoTooLargeException"})

# The completion message's `API` field, in both documented spellings (PRODUCT.md §1).
_API_KINDS = {
    "StartLabelDetection": JobKind.LABELS,
    "LABEL_DETECTION": JobKind.LABELS,
    "StartFaceDetection": JobKind.FACES,
    "FACE_DETECTION": JobKind.FACES,
}


class RekognitionError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class RetryLaterError(RekognitionError):
    """Throttled, over the job quota, or a transient service error: try again after a backoff."""

    @property
    def quota(self) -> bool:
        return self.code == "LimitExceededException"


class BadInputError(RekognitionError):
    """Rekognition cannot read this object as a video it accepts (format, size, length)."""


class PermanentError(RekognitionError):
    """A request Rekognition will refuse however often it is sent (permissions, parameters)."""


class InvalidPaginationTokenError(RekognitionError):
    """A NextToken expired (they live 24 hours) or does not belong to this job."""


def kind_of_api(api: str) -> JobKind | None:
    """The job kind named by a completion message's `API` field, or None for other operations."""
    return _API_KINDS.get(api)


def classify(exc: ClientError | BotoCoreError) -> RekognitionError:
    if isinstance(exc, BotoCoreError):
        # No answer at all (connection, timeout): nothing is known to be wrong with the request.
        return RetryLaterError(type(exc).__name__, str(exc))
    code, message = error_code(exc), error_message(exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in THROTTLING:
        return RetryLaterError(code, message)
    if code in TRANSIENT or status >= 500:
        return RetryLaterError(code, message)
    if code in BAD_INPUT:
        return BadInputError(code, message)
    if code == "InvalidPaginationTokenException":
        return InvalidPaginationTokenError(code, message)
    return PermanentError(code, message)


class RekognitionJobs:
    def __init__(self, client: RekognitionClient, *, topic_arn: str, role_arn: str) -> None:
        self._client = client
        self._channel = {"SNSTopicArn": topic_arn, "RoleArn": role_arn} if topic_arn and role_arn else None

    @property
    def notifies(self) -> bool:
        """False when no completion topic is configured: jobs would finish unheard."""
        return self._channel is not None

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
        return the same JobId and start nothing (and announce nothing a second time)."""
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
            raise classify(exc) from exc
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

        One Get* call after the job ended, not polling; None when it cannot be had. RetryLaterError
        when Rekognition is throttling (or briefly unavailable): the message exists, ask again later.
        """
        try:
            if kind is JobKind.LABELS:
                answer: Any = self._client.get_label_detection(JobId=job_id, MaxResults=1)
            else:
                answer = self._client.get_face_detection(JobId=job_id, MaxResults=1)
        except (ClientError, BotoCoreError) as exc:
            error = classify(exc)
            if isinstance(error, RetryLaterError):
                raise error from exc
            return None
        message = answer.get("StatusMessage")
        return str(message) if message else None
