"""Why Rekognition refused a call, sorted by what the pipeline does about it.

Busy (throttling, the job quota) waits and retries; a refusal a deployment must fix (permissions,
parameters, an unknown error) is retried with backoff and shown on the video; a file too large or
too long is the upload's fault; a job whose results are gone is final.
"""

from __future__ import annotations

from displaysense.domain.video import JobKind

# What to check when Rekognition refuses a request that a deployment, not the file, must fix.
CONFIGURATION_HINTS = {
    "AccessDeniedException": (
        "the Lambda role may not call Rekognition or pass the Rekognition role to it (right after a "
        "deployment, IAM changes take a little while to apply everywhere)"
    ),
    "InvalidS3ObjectException": (
        "Rekognition cannot read the object version: check that the ingest role may "
        "s3:GetObjectVersion it, that a KMS-encrypted object's key lets that role decrypt, and that "
        "the bucket is in the region of the stack"
    ),
    "InvalidParameterException": (
        "the request was refused as invalid: check the completion topic and the Rekognition role "
        "the stack passes (DS_COMPLETION_TOPIC_ARN, DS_REKOGNITION_ROLE_ARN)"
    ),
    "IdempotentParameterMismatchException": (
        "a start with the same client request token had other parameters: the completion topic, the "
        "Rekognition role or the job settings changed since this video's first start"
    ),
}
UNKNOWN_HINT = "an error DisplaySense does not know; see Rekognition's message"

# The completion message's `API` field, in both documented spellings.
_API_KINDS = {
    "StartLabelDetection": JobKind.LABELS,
    "LABEL_DETECTION": JobKind.LABELS,
    "StartFaceDetection": JobKind.FACES,
    "FACE_DETECTION": JobKind.FACES,
}


def kind_of_api(api: str) -> JobKind | None:
    """The job kind named by a completion message's `API` field, or None for other operations."""
    return _API_KINDS.get(api)


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


class ConfigurationError(RekognitionError):
    """Refused for a reason a deployment fixes (permissions, parameters, an unknown error), not the
    file's: retried with backoff until it works or the message reaches its dead-letter queue."""

    @property
    def hint(self) -> str:
        return CONFIGURATION_HINTS.get(self.code, UNKNOWN_HINT)


class BadInputError(RekognitionError):
    """The file is larger or longer than Rekognition Video analyses."""


class PermanentError(RekognitionError):
    """Get*: the job or its results no longer exist; asking again cannot help."""


class InvalidPaginationTokenError(RekognitionError):
    """A NextToken expired (they live 24 hours) or does not belong to this job."""
