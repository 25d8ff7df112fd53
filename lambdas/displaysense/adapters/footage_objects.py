"""Uploaded footage in the data bucket: what an upload is (size, version, metadata, first bytes),
whether it still exists, and deleting it when retention says so."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from displaysense.adapters.aws_clients import error_code
from displaysense.domain.video import Footage
from displaysense.pipeline.ports import ObjectHead

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

_MISSING_OBJECT = frozenset({"404", "NoSuchKey", "NoSuchVersion", "NotFound"})


def _etag_of(tag: str) -> str:
    return tag.strip().strip('"')


class FootageObjects:
    def __init__(self, s3: S3Client) -> None:
        self._s3 = s3

    def head(self, bucket: str, key: str, version_id: str | None) -> ObjectHead | None:
        """The object's size, version, ETag and metadata; None when it (or that version) is gone."""
        try:
            head = self._s3.head_object(Bucket=bucket, Key=key, **_version(version_id))
        except ClientError as exc:
            if error_code(exc) in _MISSING_OBJECT:
                return None
            raise
        found = head.get("VersionId")
        tag = head.get("ETag")
        return ObjectHead(
            size=int(head.get("ContentLength", 0)),
            version_id=found if found and found != "null" else None,
            etag=_etag_of(tag) if tag else None,
            metadata=dict(head.get("Metadata") or {}),
        )

    def first_bytes(self, bucket: str, key: str, version_id: str | None, count: int) -> bytes:
        answer = self._s3.get_object(
            Bucket=bucket, Key=key, Range=f"bytes=0-{count - 1}", **_version(version_id)
        )
        return answer["Body"].read(count)

    def delete(self, footage: Footage) -> None:
        """Deletes the analysed object version; nothing when it is gone already. In an unversioned
        bucket (local mode) only while the object is still the one analysed."""
        try:
            if footage.version_id:
                self._s3.delete_object(Bucket=footage.bucket, Key=footage.key, VersionId=footage.version_id)
                return
            head = self._s3.head_object(Bucket=footage.bucket, Key=footage.key)
            if footage.etag and _etag_of(head.get("ETag", "")) == footage.etag:
                self._s3.delete_object(Bucket=footage.bucket, Key=footage.key)
        except ClientError as exc:
            if error_code(exc) not in _MISSING_OBJECT:
                raise


def _version(version_id: str | None) -> dict[str, Any]:
    return {"VersionId": version_id} if version_id else {}
