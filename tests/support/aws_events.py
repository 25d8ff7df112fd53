"""Event and message shapes as AWS delivers them, for handler tests (one helper for all of them).

- S3 event notifications (what S3 puts into the ingest queue), keys URL-encoded the way S3 does it
  (form encoding: a space is '+', '+' is %2B, non-ASCII is UTF-8 percent-encoded);
- the s3:TestEvent S3 sends once when a notification is configured;
- Rekognition Video completion messages, and the SNS envelope around them (raw delivery off);
- the Lambda SQS event built from messages received from a queue (the event source mapping's job).

Shapes follow the AWS documentation: "Event message structure" (Amazon S3 User Guide), "Reference:
Video analysis results notification" (Amazon Rekognition Developer Guide), and the Lambda SQS event.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus

REGION = "us-east-1"
ACCOUNT = "123456789012"


def encode_key(key: str) -> str:
    """An object key as S3 writes it into an event (slashes stay as they are)."""
    return quote_plus(key, safe="/")


def s3_record(
    *,
    bucket: str,
    key: str,
    size: int,
    version_id: str | None,
    etag: str,
    event_name: str = "ObjectCreated:Put",
    event_time: str = "2026-11-24T15:02:03.123Z",
    encoded_key: str | None = None,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "key": encoded_key if encoded_key is not None else encode_key(key),
        "size": size,
        "eTag": etag.strip('"'),
        "sequencer": "0055AED6DCD90281E5",
    }
    if version_id is not None:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": event_time,
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "198.51.100.7"},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "displaysense-uploads",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


def s3_event(*records: Mapping[str, Any]) -> str:
    """The body S3 sends to the queue: one event with one or more records."""
    return json.dumps({"Records": list(records)})


def s3_test_event(bucket: str) -> str:
    return json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2026-11-24T15:00:00.000Z",
            "Bucket": bucket,
            "RequestId": "5582815E1AEA5ADF",
            "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
        }
    )


def rekognition_completion(
    *,
    job_id: str,
    status: str,
    api: str,
    job_tag: str | None,
    bucket: str,
    key: str,
    timestamp_ms: int = 1795556823000,
    message: str | None = None,
) -> dict[str, Any]:
    """The JSON Rekognition publishes when a job ends (`API` as StartLabelDetection or
    LABEL_DETECTION: both are documented)."""
    body: dict[str, Any] = {
        "JobId": job_id,
        "Status": status,
        "API": api,
        "Timestamp": timestamp_ms,
        "Video": {"S3ObjectName": key, "S3Bucket": bucket},
    }
    if job_tag is not None:
        body["JobTag"] = job_tag
    if message is not None:
        body["Message"] = message
    return body


def sns_envelope(message: Mapping[str, Any], topic_arn: str) -> str:
    """What an SQS subscription of an SNS topic receives with raw message delivery off."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Message": json.dumps(message),
            "Timestamp": "2026-11-24T15:10:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N8=",
            "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
            "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:0",
        }
    )


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def sqs_record(
    body: str,
    *,
    queue: str,
    receive_count: int = 1,
    message_id: str | None = None,
    receipt_handle: str | None = None,
) -> dict[str, Any]:
    """One record of the Lambda SQS event."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt_handle or f"AQEB{uuid.uuid4().hex}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1795556823000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1795556823001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn(queue),
        "awsRegion": REGION,
    }


def sqs_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


def from_received(messages: Iterable[Mapping[str, Any]], queue: str) -> dict[str, Any]:
    """The Lambda event for messages received from a queue (ReceiveMessage, AttributeNames=All)."""
    return sqs_event(
        sqs_record(
            m["Body"],
            queue=queue,
            receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            message_id=m["MessageId"],
            receipt_handle=m["ReceiptHandle"],
        )
        for m in messages
    )
