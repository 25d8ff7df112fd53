"""Regressions found by schemathesis and the bad-input corpus (tests/e2e/test_schemathesis.py,
tests/integration/bad_input/): each answered 5xx or a wrong status before its fix."""

from __future__ import annotations

import json

import pytest

from tests.unit.api.conftest import Api

JSON = [("Content-Type", "application/json")]
UPLOAD = {
    "store": "store-1",
    "camera": "cam-1",
    "recorded_at": "2026-11-24T14:00:00Z",
    "content_type": "video/mp4",
    "size": 1000,
}


@pytest.mark.parametrize("body", [b"O!\xff\xfe\xfdc", b'{"store": "\xe9"}', b"\x80"])
def test_a_body_that_is_not_utf8_is_bad_json_not_a_server_error(api: Api, body: bytes) -> None:
    answer = api.call("POST", "/uploads", headers=JSON, body=body)
    assert answer.status == 400, answer.body
    assert answer.json()["error"]["parameter"] == "body"
    assert "UTF-8" in answer.json()["error"]["message"]


def test_an_extreme_recorded_at_is_refused_with_422(api: Api) -> None:
    body = json.dumps({**UPLOAD, "recorded_at": "0001-01-01T00:00:00+01:00"}).encode()
    answer = api.call("POST", "/uploads", headers=JSON, body=body)
    assert answer.status == 422, answer.body
    assert answer.json()["error"]["parameter"] == "recorded_at"


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/stores/§/metrics", "store"),
        ('/stores/a"b/metrics', "store"),
        ("/stores/a#b/metrics", "store"),
        ("/videos/§", "video_id"),
        ("/videos/`", "video_id"),
    ],
)
def test_a_path_parameter_the_router_refuses_is_a_400_not_a_405(api: Api, path: str, parameter: str) -> None:
    # Powertools' router does not match every character; the route still exists with GET, so
    # "405, use GET" for a GET was wrong: the parameter is malformed.
    answer = api.call("GET", path)
    assert answer.status == 400, answer.body
    assert "Allow" not in answer.headers
    assert answer.json()["error"]["parameter"] == parameter


def test_another_method_on_such_a_path_is_still_a_405(api: Api) -> None:
    answer = api.call("DELETE", "/videos/§")
    assert (answer.status, answer.headers["Allow"]) == (405, "GET")


def test_the_spec_documents_the_gateways_403_on_every_data_route(api: Api) -> None:
    document = api.call("GET", "/openapi.json").json()
    operations = [(path, op) for path, item in document["paths"].items() for op in item.values()]
    # GET /stores, /stores/{store}/metrics, /videos, /videos/{video_id}, /compare; POST /uploads
    assert len(operations) == 6
    for path, operation in operations:
        refused = operation["responses"]["403"]["content"]["application/json"]["schema"]
        assert refused == {"$ref": "#/components/schemas/GatewayRefusal"}, path
    assert document["components"]["schemas"]["GatewayRefusal"]["required"] == ["message"]
    assert document["security"] == [{"apiKey": []}]


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; charset=utf-8"])
def test_a_multipart_type_without_a_boundary_is_a_415_not_a_500(api: Api, content_type: str) -> None:
    # Powertools raises a bare ValueError while parsing such a body. Found by schemathesis.
    answer = api.call(
        "POST", "/uploads", headers=[("Content-Type", content_type)], body=json.dumps(UPLOAD).encode()
    )
    assert answer.status == 415, answer.body
    assert answer.json()["error"]["parameter"] == "Content-Type"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"store=s1&camera=c1"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="store"\r\n\r\ns1\r\n--xyz--\r\n',
        ),
    ],
)
def test_a_form_body_on_uploads_is_a_415_as_documented(api: Api, content_type: str, body: bytes) -> None:
    answer = api.call("POST", "/uploads", headers=[("Content-Type", content_type)], body=body)
    assert answer.status == 415, answer.body
    assert answer.json()["error"]["parameter"] == "Content-Type"
