"""No input makes the API answer 5xx: hostile query strings, bodies, paths and methods."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.api.conftest import Api

PATHS = [
    "/",
    "/docs",
    "/openapi.json",
    "/stores",
    "/stores/store-1/metrics",
    "/videos",
    "/videos/" + "a" * 32,
    "/uploads",
    "/compare",
]
NAMES = [
    "from",
    "to",
    "granularity",
    "tz",
    "camera",
    "store",
    "status",
    "limit",
    "cursor",
    "format",
    "previous",
    "a",
    "b",
    "asset",
    "x",
]
nasty_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e309",
            "NaN",
            "99999999999999999999999",
            "2026-02-30",
            "2026-11-24T25:00",
            "9999-12-31T23:59:59-12:00",
            "0001-01-01",
            "2026-11-24T10:00:00 01:00",
            "Europe/Berlin",
            "America/St_Johns",
            "../../etc/passwd",
            "store-1/cam-1@2026-11-20..2026-11-29",
            "store-1@..",
            "%00",
            "\x00",
            "<script>",
            "'; DROP TABLE",
            "week",
            "15m",
            "true",
            "csv",
            "a" * 5000,
        ]
    ),
)
queries = st.lists(st.tuples(st.sampled_from(NAMES), nasty_text), max_size=6)
bodies = st.one_of(
    st.none(),
    st.binary(max_size=200),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=6)
        ),
        max_leaves=12,
    ).map(lambda v: json.dumps(v).encode()),
)


def _check(api: Api, method: str, path: str, query: list[tuple[str, str]], body: bytes | None) -> None:
    headers = [("Content-Type", "application/json")] if body is not None else []
    answer = api.call(method, path, query, headers=headers, body=body)
    assert answer.status < 500, (method, path, query, body, answer.body[:300])
    if answer.status >= 400:
        error = json.loads(answer.body)["error"]
        assert isinstance(error["message"], str) and error["message"]
        assert error["parameter"] is None or isinstance(error["parameter"], str)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(["GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    st.sampled_from(PATHS),
    queries,
    bodies,
)
def test_known_routes_never_fail_with_5xx(
    api: Api, method: str, path: str, query: list[tuple[str, str]], body: bytes | None
) -> None:
    _check(api, method, path, query, body)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=80), queries)
def test_any_path_never_fails_with_5xx(api: Api, tail: str, query: list[tuple[str, str]]) -> None:
    _check(api, "GET", "/" + tail, query, None)
    _check(api, "GET", "/stores/" + tail + "/metrics", query, None)
    _check(api, "GET", "/videos/" + tail, query, None)
