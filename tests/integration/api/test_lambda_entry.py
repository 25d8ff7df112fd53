"""The deployed entry point: `handler` builds its service from the environment the stack sets."""

from __future__ import annotations

import json

import pytest
from displaysense.handlers import api as api_module
from displaysense.resources import API_FUNCTION
from displaysense_local.api_gateway import rest_event
from displaysense_local.lambda_context import LambdaContext

from tests.integration.api.conftest import TABLE_NAME
from tests.integration.api.seeding import create_table

CONTEXT = LambdaContext(API_FUNCTION)


def test_handler_reads_its_settings_from_the_environment(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    create_table(TABLE_NAME)
    monkeypatch.setenv("DS_TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("DS_BUCKET_NAME", "displaysense-test")
    monkeypatch.setenv("DS_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setattr(api_module, "_app", None)
    answer = api_module.handler(
        rest_event(method="GET", resource_path="/stores", headers=[("Origin", "https://b.example")]), CONTEXT
    )
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"stores": []}
    headers = {
        **(answer.get("headers") or {}),
        **{k: v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items()},
    }
    assert headers["Access-Control-Allow-Origin"] == "https://b.example"
    preflight = api_module.handler(
        rest_event(method="OPTIONS", resource_path="/stores", headers=[("Origin", "https://a.example")]),
        CONTEXT,
    )
    assert preflight["statusCode"] == 204


def test_the_dashboard_page_is_told_the_auth_mode_of_the_stack(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_table(TABLE_NAME)
    monkeypatch.setenv("DS_TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("DS_BUCKET_NAME", "displaysense-test")
    monkeypatch.setenv("DS_API_AUTH", "IAM")
    monkeypatch.setattr(api_module, "_app", None)
    page = api_module.handler(rest_event(method="GET", resource_path="/"), CONTEXT)
    assert page["statusCode"] == 200
    assert '<meta name="displaysense-auth" content="IAM">' in page["body"]
    monkeypatch.setattr(api_module, "_app", None)
