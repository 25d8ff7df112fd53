"""Rekognition's API errors: the code botocore turns into an exception class, and the HTTP status."""

from __future__ import annotations


class RekognitionError(Exception):
    code = "InternalServerError"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "Code": self.code, "Message": self.message}


class InvalidParameterError(RekognitionError):
    code = "InvalidParameterException"


class ResourceNotFoundError(RekognitionError):
    code = "ResourceNotFoundException"


class LimitExceededError(RekognitionError):
    code = "LimitExceededException"


class InvalidPaginationTokenError(RekognitionError):
    code = "InvalidPaginationTokenException"


class IdempotentParameterMismatchError(RekognitionError):
    code = "IdempotentParameterMismatchException"


class InvalidS3ObjectError(RekognitionError):
    code = "InvalidS3ObjectException"


class VideoTooLargeError(RekognitionError):
    code = "VideoTooLargeException"


class AccessDeniedError(RekognitionError):
    code = "AccessDeniedException"


class UnknownOperationError(RekognitionError):
    code = "UnknownOperationException"


class InternalServerError(RekognitionError):
    code = "InternalServerError"
    status = 500
