"""Every hostile corpus request gets its documented 4xx through the local API Gateway: the API's
error body naming the parameter at fault, or API Gateway's own refusal (the handler never runs)."""

from __future__ import annotations

import pytest

from tests.integration.bad_input.conftest import CorpusRun
from tests.support.bad_inputs import GATEWAY, REQUESTS, ApiCase

pytestmark = [pytest.mark.slow]


@pytest.mark.parametrize("case", REQUESTS, ids=lambda c: c.id)
def test_each_request_gets_its_documented_refusal(corpus: CorpusRun, case: ApiCase) -> None:
    answer = corpus.answers[case.id]
    assert answer.status == case.status, (answer.status, answer.body[:300])
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    if case.parameter == GATEWAY:
        assert body == {"message": case.message}
        return
    error = body["error"]
    assert error["parameter"] == case.parameter, error
    assert isinstance(error["message"], str) and error["message"]
    if case.status == 405:
        assert answer.headers.get("allow"), answer.headers
