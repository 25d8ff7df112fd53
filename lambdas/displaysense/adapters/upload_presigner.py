"""Presigned uploads into the drop folder, signed with the API Lambda's role (PutObject on uploads/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


class S3Presigner:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def presign_put(self, *, key: str, content_type: str, expires_in_s: int) -> str:
        # Content-Type is signed: the client must send the type it declared, which the ingest
        # Lambda then checks against the file's bytes.
        return self._client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in_s,
            HttpMethod="PUT",
        )
