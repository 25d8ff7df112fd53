"""Local mode's AWS emulator: the resources it creates are resources.py's, its DynamoDB stays
consistent when the API and the pipeline call it from several threads at once, and a snapshot of
its state does not wait for the event sources' long polls."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from displaysense import resources
from displaysense_local.local_mode.emulator import AwsEmulator, LocalResources
from moto.core.base_backend import BackendDict


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[AwsEmulator]:
    running = AwsEmulator(tmp_path / "aws")
    running.data_dir.mkdir()
    running.start()
    yield running
    running.stop()
    BackendDict.reset()


def test_the_bucket_has_the_stacks_cors_lifecycle_versioning_and_notification(emulator: AwsEmulator) -> None:
    found = emulator.provision(api_origins=("http://localhost:3000",))
    s3 = emulator.client("s3")
    cors = s3.get_bucket_cors(Bucket=found.bucket)["CORSRules"]
    assert [_without_id(rule) for rule in cors] == [resources.UPLOAD_CORS.s3_rule(("http://localhost:3000",))]
    assert "ETag" in cors[0]["ExposeHeaders"]
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=found.bucket)["Rules"]
    expected = resources.data_bucket_lifecycle(
        footage_days=resources.FOOTAGE_SAFETY_NET_DAYS, results_days=resources.RESULTS_RETENTION_DAYS
    )
    assert lifecycle == [rule.s3_rule() for rule in expected]
    assert s3.get_bucket_versioning(Bucket=found.bucket)["Status"] == "Enabled"
    notification = s3.get_bucket_notification_configuration(Bucket=found.bucket)["QueueConfigurations"]
    assert [(n["QueueArn"], n["Events"]) for n in notification] == [
        (found.ingest_queue_arn, ["s3:ObjectCreated:*"])
    ]
    rules = notification[0]["Filter"]["Key"]["FilterRules"]
    assert [(r["Name"].lower(), r["Value"]) for r in rules] == [("prefix", resources.UPLOADS_PREFIX)]


def test_the_queues_have_resources_py_timeouts_retention_and_receive_counts(emulator: AwsEmulator) -> None:
    found = emulator.provision()
    sqs = emulator.client("sqs")
    for url, dlq_url, definition in (
        (found.ingest_queue_url, found.ingest_dlq_url, resources.INGEST_QUEUE),
        (found.completion_queue_url, found.completion_dlq_url, resources.COMPLETION_QUEUE),
    ):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        assert int(attributes["VisibilityTimeout"]) == definition.visibility_timeout_s
        assert int(attributes["MessageRetentionPeriod"]) == definition.retention_days * 86400
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq_arn
        assert int(redrive["maxReceiveCount"]) == definition.max_receive_count


def test_the_table_is_resources_py_table_with_its_ttl(emulator: AwsEmulator) -> None:
    found = emulator.provision()
    dynamodb = emulator.client("dynamodb")
    table = dynamodb.describe_table(TableName=found.table)["Table"]
    request = resources.TABLE.create_table_request(found.table)
    assert table["KeySchema"] == request["KeySchema"]
    assert (
        sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"])
        == (request["AttributeDefinitions"])
    )
    indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in request["GlobalSecondaryIndexes"]
    }
    ttl = dynamodb.describe_time_to_live(TableName=found.table)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_provisioning_again_after_a_restart_finds_the_same_resources(emulator: AwsEmulator) -> None:
    assert emulator.provision() == emulator.provision()


def test_dynamodb_answers_every_request_while_other_threads_write(emulator: AwsEmulator) -> None:
    """moto's Query walks the table's dicts in Python: without the emulator's DynamoDB lock, a
    PutItem of a new key in another thread makes it fail with a 500 ("dictionary changed size
    during iteration"). A short thread switch interval makes that interleaving frequent; DynamoDB
    itself never fails so."""
    found = emulator.provision()
    no_retries = Config(retries={"mode": "standard", "total_max_attempts": 1})
    writer, reader = (_dynamodb(emulator, no_retries) for _ in range(2))
    for start in range(0, 2000, 25):
        puts = [{"PutRequest": {"Item": _video(i)}} for i in range(start, start + 25)]
        writer.batch_write_item(RequestItems={found.table: puts})
    errors: list[str] = []
    stop = threading.Event()

    def write() -> None:
        index = 10_000
        while not stop.is_set():
            try:
                writer.put_item(TableName=found.table, Item=_video(index))
            except Exception as exc:
                errors.append(f"PutItem: {exc}")
            index += 1

    thread = threading.Thread(target=write)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        thread.start()
        queries = 0
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            try:
                _query(reader, found)
            except Exception as exc:
                errors.append(f"Query: {str(exc)[:120]}")
            queries += 1
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert queries > 10
    assert errors == []


def test_a_snapshot_does_not_wait_for_a_long_poll(emulator: AwsEmulator) -> None:
    """The event sources long-poll their queues; a snapshot waits for the requests in flight and
    holds every new one back meanwhile, so a long poll must not be one request waiting inside."""
    found = emulator.provision()
    sqs = emulator.client("sqs")
    received: list[Any] = []
    poll = threading.Thread(
        target=lambda: received.extend(
            emulator.client("sqs")
            .receive_message(QueueUrl=found.completion_queue_url, WaitTimeSeconds=10)
            .get("Messages", [])
        )
    )
    poll.start()
    try:
        time.sleep(0.5)  # the long poll is waiting on the empty queue
        assert emulator.snapshot(force=True)
        assert poll.is_alive(), "the snapshot waited for the long poll to end"
        # Still a long poll: a message sent now is its answer, before its 10 s are up.
        sqs.send_message(QueueUrl=found.completion_queue_url, MessageBody="hello")
        poll.join(timeout=10)
        assert not poll.is_alive() and [m["Body"] for m in received] == ["hello"]
    finally:
        poll.join()


def _dynamodb(emulator: AwsEmulator, config: Config) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=config,
    )


def _video(index: int) -> dict[str, Any]:
    return {
        "pk": {"S": f"VIDEO#{index}"},
        "sk": {"S": "VIDEO"},
        "gsi1pk": {"S": "STORE#s"},
        "gsi1sk": {"S": f"{index:06d}"},
    }


def _query(client: Any, found: LocalResources) -> None:
    client.query(
        TableName=found.table,
        IndexName=resources.TABLE.indexes[0].name,
        KeyConditionExpression="gsi1pk = :store",
        ExpressionAttributeValues={":store": {"S": "STORE#s"}},
        Limit=5,
    )


def _without_id(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if k != "ID"}
