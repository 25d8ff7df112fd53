"""The local API Gateway: the stack's stage, public paths and API key rule, over real HTTP."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from displaysense_local.api_gateway import PUBLIC_PATHS, STAGE, LocalApiGateway, rest_event, start_api_gateway

KEY = "test-key-1"


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        if event["path"] == "/boom":
            raise RuntimeError("handler failed")
        if event["path"] == "/huge":
            return {
                "statusCode": 200,
                "headers": {},
                "body": "x" * (7 * 1024 * 1024),
                "isBase64Encoded": False,
            }
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": json.dumps({"path": event["path"]}),
            "isBase64Encoded": False,
        }


@pytest.fixture
def gateway() -> Iterator[tuple[LocalApiGateway, Recorder]]:
    recorder = Recorder()
    with start_api_gateway(recorder, api_keys=[KEY], cors_origins=["https://shop.example"]) as running:
        yield running, recorder


def request(
    gw: LocalApiGateway,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    merged: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return response.status, merged, data


def test_the_public_paths_and_the_stage_match_the_stack() -> None:
    from infra.constructs import api_construct

    assert set(PUBLIC_PATHS) == set(api_construct.PUBLIC_PATHS)
    assert api_construct.STAGE_NAME == STAGE


def test_public_pages_need_no_key(gateway: tuple[LocalApiGateway, Recorder]) -> None:
    gw, recorder = gateway
    assert gw.url.endswith("/v1/")
    for path in ("/v1", "/v1/", "/v1/docs", "/v1/openapi.json"):
        status, _, _ = request(gw, "GET", path)
        assert status == 200, path
    assert [e["path"] for e in recorder.events] == ["/", "/", "/docs", "/openapi.json"]
    assert [e["resource"] for e in recorder.events] == ["/", "/", "/docs", "/openapi.json"]


def test_data_routes_need_the_key_and_never_reach_the_handler_without_it(
    gateway: tuple[LocalApiGateway, Recorder],
) -> None:
    gw, recorder = gateway
    for headers in ({}, {"x-api-key": "wrong"}, {"x-api-key": ""}):
        status, response_headers, body = request(gw, "GET", "/v1/stores", headers)
        assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
        # One CORS origin: API Gateway's own errors carry it (gateway responses of the stack).
        assert response_headers["access-control-allow-origin"] == "https://shop.example"
    # Swagger assets or anything else below /docs is {proxy+} too.
    assert request(gw, "GET", "/v1/docs/swagger-ui.css")[0] == 403
    assert recorder.events == []
    status, _, body = request(gw, "GET", "/v1/stores?x=1", {"X-Api-Key": KEY})
    assert status == 200 and json.loads(body) == {"path": "/stores"}


def test_other_methods_on_public_resources_and_paths_outside_the_stage(
    gateway: tuple[LocalApiGateway, Recorder],
) -> None:
    gw, recorder = gateway
    status, _, body = request(gw, "POST", "/v1/", {"x-api-key": KEY}, b"{}")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert request(gw, "DELETE", "/v1/docs", {"x-api-key": KEY})[0] == 403
    assert request(gw, "GET", "/")[0] == 403
    assert request(gw, "GET", "/stores", {"x-api-key": KEY})[0] == 403
    assert request(gw, "GET", "/v2/stores", {"x-api-key": KEY})[0] == 403
    assert recorder.events == []


def test_preflight_is_answered_without_a_key(gateway: tuple[LocalApiGateway, Recorder]) -> None:
    gw, recorder = gateway
    status, headers, _ = request(gw, "OPTIONS", "/v1/stores", {"Origin": "https://shop.example"})
    assert status == 204
    assert headers["access-control-allow-origin"] == "https://shop.example"
    assert "X-Api-Key" in headers["access-control-allow-headers"]
    assert recorder.events == []


def test_requests_become_rest_proxy_events(gateway: tuple[LocalApiGateway, Recorder]) -> None:
    gw, recorder = gateway
    status, headers, _ = request(
        gw,
        "POST",
        "/v1/stores/s%2D1/metrics?from=2026-11-24&tag=a&tag=b&plus=1%2B2",
        {"x-api-key": KEY, "Content-Type": "application/json"},
        b'{"a": 1}',
    )
    assert status == 200
    assert headers["set-cookie"] == "a=1, b=2"
    event = recorder.events[-1]
    assert event["httpMethod"] == "POST"
    assert event["path"] == "/stores/s-1/metrics"
    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "stores/s-1/metrics"}
    assert event["requestContext"]["path"] == "/v1/stores/s-1/metrics"
    assert event["requestContext"]["stage"] == "v1"
    assert event["requestContext"]["identity"]["apiKey"] == KEY
    assert event["queryStringParameters"] == {"from": "2026-11-24", "tag": "b", "plus": "1+2"}
    assert event["multiValueQueryStringParameters"]["tag"] == ["a", "b"]
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False


def test_handler_failures_and_oversized_answers_are_502(gateway: tuple[LocalApiGateway, Recorder]) -> None:
    gw, _ = gateway
    status, _, body = request(gw, "GET", "/v1/boom", {"x-api-key": KEY})
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    assert request(gw, "GET", "/v1/huge", {"x-api-key": KEY})[0] == 502


def test_binary_bodies_are_base64_encoded() -> None:
    event = rest_event(method="POST", resource_path="/uploads", body=b"\xff\xfe")
    assert event["isBase64Encoded"] is True and event["body"] == "//4="


def test_a_key_is_required_to_start() -> None:
    with pytest.raises(ValueError, match="API key"):
        LocalApiGateway(Recorder(), api_keys=[])
