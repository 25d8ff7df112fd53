"""What arrives in the completion queue, parsed by the results handler."""

from __future__ import annotations

import json

from displaysense.pipeline.messages import Completion, Continuation, continuation_body, parse_body

from tests.support import aws_events

TOPIC = "arn:aws:sns:us-east-1:123456789012:completion"


def completion(api: str = "StartLabelDetection", **extra: object) -> dict[str, object]:
    body = aws_events.rekognition_completion(
        job_id="6de014b0212", status="SUCCEEDED", api=api, job_tag="a" * 32, bucket="b", key="uploads/k.mp4"
    )
    body.update(extra)
    return body


def test_sns_envelope() -> None:
    parsed = parse_body(aws_events.sns_envelope(completion(), TOPIC))
    assert parsed == Completion("6de014b0212", "SUCCEEDED", "StartLabelDetection", "a" * 32, None)


def test_raw_delivery_and_the_other_api_spelling() -> None:
    parsed = parse_body(json.dumps(completion("FACE_DETECTION", Message="")))
    assert isinstance(parsed, Completion) and parsed.api == "FACE_DETECTION" and parsed.message is None


def test_failure_message_is_kept() -> None:
    body = completion(Status="FAILED", Message="Unsupported codec")
    parsed = parse_body(aws_events.sns_envelope(body, TOPIC))
    assert isinstance(parsed, Completion)
    assert (parsed.status, parsed.message) == ("FAILED", "Unsupported codec")


def test_continuation_round_trips() -> None:
    assert parse_body(continuation_body("b" * 32)) == Continuation("b" * 32)


def test_anything_else_is_not_understood() -> None:
    for body in (
        "",
        "[]",
        "{}",
        '{"Type": "Notification", "Message": "not json"}',
        '{"type": "displaysense.results.continue"}',
    ):
        assert parse_body(body) is None
