"""A local stand-in for the stack's API Gateway REST API, in front of the same API handler.

It applies the deployed API's rules (infra/constructs/api_construct.py): the `v1` stage, the public
pages, the API key on every other path, CORS preflights, REST (v1) proxy events and API Gateway's
size limits (docs/api.md, "Local API Gateway"). It calls the handler in-process, one request at a
time, like one Lambda process does.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from displaysense.resources import API_FUNCTION

from displaysense_local.http_serving import LocalHTTPServer
from displaysense_local.lambda_context import LambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
Reply = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body

STAGE = "v1"
# The resources with their own public GET method (api_construct.PUBLIC_PATHS); the rest is {proxy+}.
PUBLIC_PATHS = ("/", "/docs", "/openapi.json")
CORS_HEADERS = ("Content-Type", "Authorization", "X-Api-Key", "X-Amz-Date", "X-Amz-Security-Token")
CORS_METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway payload limit
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda synchronous response limit


def rest_event(
    *,
    method: str,
    resource_path: str,
    query: Sequence[tuple[str, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    stage: str = STAGE,
    source_ip: str = "127.0.0.1",
    api_key: str | None = None,
) -> dict[str, Any]:
    """The REST API (v1) Lambda proxy event API Gateway sends for a request to `resource_path`
    (the path below the stage, e.g. `/stores/s1/metrics`)."""
    resource = resource_path if resource_path in PUBLIC_PATHS else "/{proxy+}"
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    text: str | None = None
    encoded = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    return {
        "resource": resource,
        "path": resource_path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None if resource != "/{proxy+}" else {"proxy": resource_path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "httpMethod": method,
            "identity": {
                "sourceIp": source_ip,
                "apiKey": api_key,
                "userAgent": dict(headers).get("User-Agent"),
            },
            "path": f"/{stage}{resource_path if resource_path != '/' else '/'}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": "local",
            "resourcePath": resource,
            "stage": stage,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class LocalApiGateway:
    """A running local API Gateway; `url` is the stage's base URL (ends with `/v1/`)."""

    def __init__(
        self,
        handler: Handler,
        *,
        api_keys: Iterable[str],
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = STAGE,
        cors_origins: Sequence[str] = (),
    ) -> None:
        self.handler = handler
        self.api_keys = frozenset(api_keys)
        if not self.api_keys or any(not key for key in self.api_keys):
            raise ValueError("give at least one non-empty API key")
        self.stage = stage
        self.cors_origins = tuple(cors_origins)
        self._lock = threading.Lock()  # one invocation at a time, like one Lambda container
        self._server = LocalHTTPServer((host, port), _make_request_handler(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}/{self.stage}/"

    def start(self) -> LocalApiGateway:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-api-gateway", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalApiGateway:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # One request ----------------------------------------------------------------------------------

    def respond(
        self, method: str, raw_path: str, headers: Sequence[tuple[str, str]], body: bytes | None
    ) -> Reply:
        """What API Gateway answers to one HTTP request (status, headers, body)."""
        split = urlsplit(raw_path)
        path = unquote(split.path)
        prefix = f"/{self.stage}"
        if path != prefix and not path.startswith(prefix + "/"):
            return self._gateway_error(403, "Forbidden")
        resource_path = path[len(prefix) :] or "/"
        if resource_path != "/" and resource_path.endswith("/"):
            resource_path = resource_path.rstrip("/") or "/"
        header_map = {name.lower(): value for name, value in headers}
        refusal = self._refusal(method, resource_path, header_map, body)
        if refusal is not None:
            return refusal
        api_key = header_map.get("x-api-key")
        event = rest_event(
            method=method,
            resource_path=resource_path,
            query=parse_qsl(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            stage=self.stage,
            api_key=api_key,
        )
        try:
            with self._lock:
                answer = self.handler(event, LambdaContext(API_FUNCTION))
            return self._proxy_response(answer)
        except Exception:  # the Lambda failed: API Gateway says 502 and nothing more
            return self._gateway_error(502, "Internal server error")

    def _refusal(
        self, method: str, resource_path: str, headers: dict[str, str], body: bytes | None
    ) -> Reply | None:
        """API Gateway's own answer when the request does not reach the Lambda."""
        if body is not None and len(body) > MAX_REQUEST_BYTES:
            return self._gateway_error(413, "Request Too Long")
        if method == "OPTIONS" and self.cors_origins:
            return self._preflight(headers.get("origin"))
        if resource_path in PUBLIC_PATHS:
            return None if method == "GET" else self._gateway_error(403, "Missing Authentication Token")
        if headers.get("x-api-key") not in self.api_keys:
            return self._gateway_error(403, "Forbidden")
        return None

    def _proxy_response(self, answer: dict[str, Any]) -> Reply:
        status = int(answer["statusCode"])
        raw = answer.get("body") or ""
        payload = base64.b64decode(raw) if answer.get("isBase64Encoded") else str(raw).encode("utf-8")
        if len(json.dumps(answer)) > MAX_RESPONSE_BYTES:
            return self._gateway_error(502, "Internal server error")
        out: list[tuple[str, str]] = []
        multi: dict[str, list[str]] = answer.get("multiValueHeaders") or {}
        for name, values in multi.items():
            out.extend((name, str(v)) for v in values)
        for name, value in (answer.get("headers") or {}).items():
            if name not in multi:
                out.append((name, str(value)))
        return status, out, payload

    def _gateway_error(self, status: int, message: str) -> Reply:
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ForbiddenException")]
        if len(self.cors_origins) == 1:
            headers.append(("Access-Control-Allow-Origin", self.cors_origins[0]))
        return status, headers, json.dumps({"message": message}).encode("utf-8")

    def _preflight(self, origin: str | None) -> Reply:
        # The mock integration CDK's default_cors_preflight_options creates: the first allowed origin,
        # or the request's origin when it is one of several allowed ones.
        allowed = self.cors_origins[0]
        if origin and origin in self.cors_origins:
            allowed = origin
        return (
            204,
            [
                ("Access-Control-Allow-Origin", allowed),
                ("Access-Control-Allow-Methods", ",".join(CORS_METHODS)),
                ("Access-Control-Allow-Headers", ",".join(CORS_HEADERS)),
                ("Access-Control-Max-Age", "3600"),
                ("Vary", "Origin"),
            ],
            b"",
        )


def _make_request_handler(gateway: LocalApiGateway) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "DisplaySenseLocalApiGateway"
        # TCP_NODELAY: the headers and the body go out as two writes, and on a kept-alive
        # connection (browsers, load tests) Nagle's algorithm would hold the body back until the
        # client's delayed ACK, 40 ms on Linux, on every answer.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                status, headers, payload = gateway._gateway_error(413, "Request Too Long")
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length > 0 else None
                status, headers, payload = gateway.respond(
                    self.command, self.path, list(self.headers.items()), body
                )
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            # Quiet: tests and local mode print what matters themselves.
            return

    return RequestHandler


def start_api_gateway(
    handler: Handler,
    *,
    api_keys: Iterable[str],
    host: str = "127.0.0.1",
    port: int = 0,
    stage: str = STAGE,
    cors_origins: Sequence[str] = (),
) -> LocalApiGateway:
    """Serve `handler` (e.g. `displaysense.handlers.api.handler`) on `host:port` (0 = a free port)
    behind the stack's stage and auth rules; returns the running gateway (`.url`, `.stop()`)."""
    return LocalApiGateway(
        handler, api_keys=api_keys, host=host, port=port, stage=stage, cors_origins=cors_origins
    ).start()
