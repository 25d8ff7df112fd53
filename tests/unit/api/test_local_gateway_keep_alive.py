"""The local API Gateway answers promptly on a kept-alive connection, as a browser's dashboard and
bench/load_api.py use it.

Found by the load test (docs/reliability.md, "Load and burst"): the gateway wrote an answer's
headers and body as two small TCP segments, so on a kept-alive connection Nagle's algorithm held
the body until the client's delayed ACK (40 ms on Linux): a 5 ms GET /videos/{id} took 50 ms, every
dashboard request paid it, and the load test measured the stall instead of the API.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
from typing import Any

from displaysense_local.api_gateway import start_api_gateway

KEY = "keep-alive-key"


def small_answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"path": event["path"]}),
        "isBase64Encoded": False,
    }


def test_requests_on_one_kept_alive_connection_are_not_held_back() -> None:
    with start_api_gateway(small_answer, api_keys=[KEY]) as gateway:
        connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        timings = []
        try:
            for n in range(30):
                begun = time.perf_counter()
                connection.request("GET", f"/v1/videos/{n}", headers={"x-api-key": KEY})
                response = connection.getresponse()
                body = response.read()
                timings.append(time.perf_counter() - begun)
                assert response.status == 200 and json.loads(body) == {"path": f"/videos/{n}"}
                assert not response.will_close  # the same connection serves the next request
        finally:
            connection.close()
    # A trivial handler answers in about a millisecond; a held-back body takes 40 ms or more.
    assert statistics.median(timings) < 0.02, [round(t * 1000, 1) for t in timings]
