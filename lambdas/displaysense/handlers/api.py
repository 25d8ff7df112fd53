"""API Lambda: REST routes, the OpenAPI document, Swagger UI and the dashboard.

Thin on purpose: Powertools routes the request and validates parameters against the annotations
below (which also generate /openapi.json); `api.service.ApiService` does the work. Every refusal
leaves as `{"error": {"parameter": ..., "message": ...}}` with a 4xx status. Authentication is
API Gateway's job (API key with a usage plan, or IAM), not this handler's.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server, Tag
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from displaysense.api import static
from displaysense.api.compare import SIDE_SYNTAX
from displaysense.api.errors import ApiError, shown
from displaysense.api.metrics_query import series_csv
from displaysense.api.models import (
    STORE_PATTERN,
    VIDEO_ID_PATTERN,
    ComparisonDocument,
    ErrorBody,
    GatewayRefusal,
    Granularity,
    MetricsDocument,
    Status,
    StoreList,
    UploadBody,
    UploadTicket,
    VideoDocument,
    VideoPage,
)
from displaysense.api.service import ApiService
from displaysense.config import ApiAuth, ApiSettings
from displaysense.handlers import wiring
from displaysense.observability import count, logger, telemetry, tracer

TITLE = "DisplaySense API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Storefront metrics from Amazon Rekognition Video. Every data route needs the API key in the "
    "`x-api-key` header (or SigV4 when deployed with api_auth=IAM). Errors are "
    '`{"error": {"parameter": ..., "message": ...}}`.'
)
JSON = "application/json"
CSV = "text/csv"
_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
_ID_DOC = "1–64 of a-z, 0-9 and '-', starting with a letter or digit (or _unassigned)"
# Body types Powertools parses as forms (no route of this API takes one).
_FORM_TYPES = ("multipart/", "application/x-www-form-urlencoded")


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response[str]:
    # Serialized here, compactly: Powertools passes a str body through untouched, which spares a
    # recursive walk of thousands of series buckets.
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        headers=dict(headers or {}),
    )


def _error(status: int, parameter: str | None, message: str, **extra: Any) -> Response[str]:
    return _json(ApiError(status, parameter, message, **extra).body(), status)


def _errors_doc(*statuses: int) -> dict[int, OpenAPIResponse]:
    texts = {
        400: "a parameter is malformed",
        404: "no such store, camera or video",
        413: "the file is larger than the limit",
        415: "the content type is not accepted",
        422: "parameters are well-formed but do not fit together",
    }
    documented: dict[int, OpenAPIResponse] = {
        s: {"description": texts[s], "content": {JSON: {"model": ErrorBody}}} for s in (400, *statuses)
    }
    # Every data route is behind the API key: API Gateway refuses a request without a valid one
    # before this handler runs, in its own shape. Documented so clients (and schema checks) know it.
    documented[403] = {
        "description": "no or wrong API key (answered by API Gateway)",
        "content": {JSON: {"model": GatewayRefusal}},
    }
    return documented


def _ok_doc(model: type, description: str, *, csv: bool = False) -> dict[int, OpenAPIResponse]:
    content: dict[str, Any] = {JSON: {"model": model}}
    if csv:
        content[CSV] = {"schema": {"type": "string", "description": "the series, one bucket per row"}}
    return {200: {"description": description, "content": content}}


def _parameter_of(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
    if not loc:
        return "body"
    return loc[-1] if len(loc) > 1 else loc[0]


def _validation_message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "json_invalid":
        detail = (error.get("ctx") or {}).get("error", "")
        return f"the body is not valid JSON ({detail})" if detail else "the body is not valid JSON"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a parameter of this route"
    message = str(error.get("msg", "is not valid"))
    value = error.get("input")
    if isinstance(value, list):
        return "is given more than once: give it once"
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return f"{shown(value)}: {message}"
    return message


def _wants_csv(accept: str | None, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    if not accept:
        return False
    # The first listed of text/csv and JSON wins; q-values are rare enough from real clients.
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    csv_at = kinds.index(CSV) if CSV in kinds else None
    json_at = next((i for i, k in enumerate(kinds) if k in (JSON, "*/*", "application/*")), None)
    return csv_at is not None and (json_at is None or csv_at < json_at)


def create_app(
    service_factory: Callable[[], ApiService],
    *,
    cors_origins: Sequence[str] = (),
    api_auth: ApiAuth = "API_KEY",
) -> APIGatewayRestResolver:
    """The resolver with every route. `service_factory` is called once, at the first data request,
    so a cold start that only serves the dashboard creates no AWS client. `api_auth` is how API
    Gateway guards the data routes; the dashboard page is told, since it can only send a key."""
    cors = (
        CORSConfig(
            allow_origin=cors_origins[0],
            extra_origins=list(cors_origins[1:]) or None,
            expose_headers=["Content-Disposition"],
            max_age=3600,
        )
        if cors_origins
        else None
    )
    app = APIGatewayRestResolver(cors=cors, enable_validation=True)
    service = cache(service_factory)
    # (rule as a regex, method) of every route, for 405 and its Allow header. Path parameters are
    # named groups matching any segment: wider than Powertools' own, so that a segment the router
    # refuses (e.g. '§' or '"') is recognised as a bad parameter of a known route.
    routes: list[tuple[re.Pattern[str], str]] = []

    def register(method: str, rule: str) -> None:
        pattern = re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", rule)
        routes.append((re.compile("^" + pattern + "/?$"), method))

    _add_pages(app, register, api_auth)
    _add_data_routes(app, register, service)
    _add_error_handlers(app, routes)
    app.use(middlewares=[_refuse_unknown_query_parameters])
    return app


# Query parameters of routes whose handler is Powertools' own (Swagger UI reads `format`).
_OWN_QUERY_PARAMETERS: dict[str, frozenset[str]] = {"/docs": frozenset({"format"})}


def _refuse_unknown_query_parameters(
    app: APIGatewayRestResolver, next_middleware: NextMiddleware
) -> Response[Any]:
    """A query parameter the route does not take is refused rather than ignored: `camer=cam-1`
    would otherwise answer for the whole store. Runs after Powertools' validation of the known
    ones, so each route's parameter annotations stay the one list of what it accepts."""
    route = app.context.get("_route")
    given = app.current_event.resolved_query_string_parameters
    if route is not None and given:
        accepted = {field.alias for field in route.dependant.query_params} | _OWN_QUERY_PARAMETERS.get(
            route.path, frozenset()
        )
        unknown = sorted(set(given) - accepted)
        if unknown:
            takes = f"it takes {', '.join(sorted(accepted))}" if accepted else "it takes none"
            where = f"{route.method} {route.openapi_path}"
            details = [
                {"parameter": name, "message": f"{shown(name)} is not a query parameter of {where}"}
                for name in unknown[:10]
            ]
            raise ApiError(
                400,
                unknown[0],
                f"{shown(unknown[0])} is not a query parameter of {where}: {takes}",
                details=details if len(details) > 1 else None,
            )
    return next_middleware(app)


Register = Callable[[str, str], None]


def _openapi_options() -> dict[str, Any]:
    return {
        "title": TITLE,
        "version": VERSION,
        "description": DESCRIPTION,
        "security_schemes": {"apiKey": APIKey.model_validate({"in": APIKeyIn.header, "name": "x-api-key"})},
        "security": [{"apiKey": []}],
        "tags": [
            Tag(name="metrics", description="foot traffic, impressions, engagement, demographics"),
            Tag(name="videos", description="uploaded footage and its analysis"),
            Tag(name="uploads", description="presigned uploads into the drop folder"),
        ],
    }


def _add_pages(app: APIGatewayRestResolver, register: Register, api_auth: ApiAuth) -> None:
    # Public pages -------------------------------------------------------------------------------

    register("GET", "/")

    @app.get("/", include_in_schema=False)
    def dashboard(
        asset: Annotated[str | None, Query(max_length=64)] = None,
        # The content hash in the page's links to its files: changes the URL, not the answer.
        v: Annotated[str | None, Query(alias="v", max_length=64)] = None,
    ) -> Response[str]:
        if asset is None:
            return Response(
                200,
                "text/html; charset=utf-8",
                static.page(api_auth),
                headers={
                    "Cache-Control": static.PAGE_CACHE,
                    "Content-Security-Policy": static.PAGE_CSP,
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer",
                },
            )
        found = static.asset(asset)
        if found is None:
            raise ApiError(404, "asset", f"no dashboard file {shown(asset)}")
        return Response(
            200,
            found.content_type,
            found.body,
            headers={"Cache-Control": static.ASSET_CACHE, "X-Content-Type-Options": "nosniff"},
        )

    register("GET", "/docs")
    # Powertools inlines its bundled Swagger UI (CSS and JS) into the page when no
    # swagger_base_url is given: /docs works offline and needs no second public path.
    openapi_options = _openapi_options()
    app.enable_swagger(path="/docs", **openapi_options)

    register("GET", "/openapi.json")

    schemas: dict[str, str] = {}  # by base path: generating one walks every model, once is enough

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> Response[str]:
        base = _base_path(app)
        if base not in schemas:
            schemas[base] = app.get_openapi_json_schema(servers=[Server(url=base)], **openapi_options)
        return Response(200, JSON, schemas[base])


def _add_data_routes(
    app: APIGatewayRestResolver, register: Register, service: Callable[[], ApiService]
) -> None:
    # Data routes --------------------------------------------------------------------------------

    register("GET", "/stores")

    @app.get(
        "/stores",
        tags=["metrics"],
        summary="Stores and their cameras",
        description="First and last footage time and video counts by status, per store and camera.",
        responses={**_ok_doc(StoreList, "stores"), **_errors_doc()},
    )
    def list_stores() -> Response[str]:
        return _json(service().stores())

    register("GET", "/stores/<store>/metrics")

    @app.get(
        "/stores/<store>/metrics",
        tags=["metrics"],
        summary="Totals and series of a store or camera",
        description=(
            "Totals (the engine's summary keys) and one series entry per calendar bucket of the range, "
            "in the zone `tz`. `from` is floored and `to` raised to bucket starts; the answer's `from` and "
            "`to` say which range was used. A date or a time without offset is local to `tz`. "
            "`Accept: text/csv` or `format=csv` returns the series as CSV. `availability` marks "
            "attributes that were not estimated (e.g. local mode) so they are not read as zeros."
        ),
        responses={**_ok_doc(MetricsDocument, "totals and series", csv=True), **_errors_doc(404, 422)},
    )
    def store_metrics(
        store: Annotated[
            str, Path(pattern=STORE_PATTERN, description=f"store id: {_ID_DOC}", examples=["store-001"])
        ],
        camera: Annotated[
            str | None,
            Query(
                pattern=STORE_PATTERN,
                description="one camera of the store (default: all)",
                examples=["cam-01"],
            ),
        ] = None,
        start: Annotated[
            str | None,
            Query(
                alias="from", max_length=64, description="ISO 8601 date or time (default: `to` minus a span)"
            ),
        ] = None,
        end: Annotated[
            str | None, Query(alias="to", max_length=64, description="ISO 8601 (default: now)")
        ] = None,
        granularity: Annotated[Granularity, Query(description="bucket size; weeks start on Monday")] = "hour",
        tz: Annotated[
            str | None, Query(max_length=64, description="IANA zone, e.g. Europe/Berlin (default UTC)")
        ] = None,
        previous: Annotated[
            bool, Query(description="also total the period of the same length just before")
        ] = False,
        fmt: Annotated[
            str | None, Query(alias="format", pattern="^(json|csv)$", description="csv: the series as CSV")
        ] = None,
        accept: Annotated[str | None, Header(alias="accept", include_in_schema=False)] = None,
    ) -> Response[str]:
        document = service().metrics(
            store=store,
            camera=camera,
            start=start,
            end=end,
            granularity=granularity,
            tz_name=tz,
            with_previous=previous,
        )
        if _wants_csv(accept, fmt):
            name = f"{store}{'-' + camera if camera else ''}-{granularity}.csv"
            return Response(
                200,
                "text/csv; charset=utf-8",
                series_csv(document),
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return _json(document)

    register("GET", "/videos")

    @app.get(
        "/videos",
        tags=["videos"],
        summary="Videos, newest first, paged",
        description="Status, the reason of REJECTED and FAILED videos, timings and summary.",
        responses={**_ok_doc(VideoPage, "one page of videos"), **_errors_doc(422)},
    )
    def list_videos(
        store: Annotated[str | None, Query(pattern=STORE_PATTERN, description=f"store id: {_ID_DOC}")] = None,
        camera: Annotated[
            str | None, Query(pattern=STORE_PATTERN, description="camera id (needs store)")
        ] = None,
        status: Annotated[Status | None, Query(description="only videos in this state")] = None,
        start: Annotated[
            str | None, Query(alias="from", max_length=64, description="recorded at or after")
        ] = None,
        end: Annotated[str | None, Query(alias="to", max_length=64, description="recorded before")] = None,
        limit: Annotated[int, Query(ge=1, le=200, description="videos per page")] = 50,
        cursor: Annotated[
            str | None, Query(max_length=2048, description="next_cursor of the previous page")
        ] = None,
    ) -> Response[str]:
        return _json(
            service().list_videos(
                store=store, camera=camera, status=status, start=start, end=end, limit=limit, cursor=cursor
            )
        )

    register("GET", "/videos/<video_id>")

    @app.get(
        "/videos/<video_id>",
        tags=["videos"],
        summary="One video",
        responses={**_ok_doc(VideoDocument, "the video"), **_errors_doc(404)},
    )
    def get_video(
        video_id: Annotated[str, Path(pattern=VIDEO_ID_PATTERN, description="32 lowercase hex digits")],
    ) -> Response[str]:
        return _json(service().video(video_id))

    register("POST", "/uploads")

    @app.post(
        "/uploads",
        tags=["uploads"],
        summary="A presigned upload into the drop folder",
        description=(
            "Checks the recording like the ingest Lambda will (ids, time, type, size) and returns a "
            "presigned PUT URL for `uploads/<store>/<camera>/<recorded-at>.<mp4|mov>`: a client needs "
            "no S3 credentials. PUT the file to `url` with the returned headers before `expires_at`."
        ),
        responses={**_ok_doc(UploadTicket, "where to PUT the file"), **_errors_doc(413, 415, 422)},
    )
    def create_upload(body: Annotated[UploadBody, Body()]) -> Response[str]:
        return _json(
            service().upload(
                store=body.store,
                camera=body.camera,
                recorded_at=body.recorded_at,
                content_type=body.content_type,
                size=body.size,
            )
        )

    register("GET", "/compare")

    @app.get(
        "/compare",
        tags=["metrics"],
        summary="A/B comparison on engagement rate",
        description=(
            f"Each side is `{SIDE_SYNTAX}`: a store, a camera of a store, either with its own period "
            "(`store-001/cam-02@2026-11-01..2026-11-08`, dates or times local to `tz`). A side without a "
            "period takes `from` and `to` (default: the last 7 days). Beta-Binomial posteriors with a "
            "uniform prior: P(B > A), expected lift and 95 % credible intervals."
        ),
        responses={**_ok_doc(ComparisonDocument, "the comparison"), **_errors_doc(404, 422)},
    )
    def compare(
        a: Annotated[
            str, Query(max_length=200, description=f"side A: {SIDE_SYNTAX}", examples=["store-001/cam-01"])
        ],
        b: Annotated[
            str, Query(max_length=200, description=f"side B: {SIDE_SYNTAX}", examples=["store-001/cam-02"])
        ],
        start: Annotated[
            str | None, Query(alias="from", max_length=64, description="default period start")
        ] = None,
        end: Annotated[str | None, Query(alias="to", max_length=64, description="default period end")] = None,
        tz: Annotated[str | None, Query(max_length=64, description="IANA zone of dates and times")] = None,
    ) -> Response[str]:
        return _json(service().compare(a=a, b=b, start=start, end=end, tz_name=tz))


def _add_error_handlers(app: APIGatewayRestResolver, routes: list[tuple[re.Pattern[str], str]]) -> None:
    # Errors -------------------------------------------------------------------------------------

    def api_error(exc: ApiError) -> Response[str]:
        return _json(exc.body(), exc.status, exc.headers)

    def validation_error(exc: RequestValidationError) -> Response[str]:
        # Powertools reads form bodies as fields of their own; a body sent as a form is the
        # client's wrong Content-Type, not a JSON body with missing fields.
        content_type = (app.current_event.headers.get("content-type") or "").strip().lower()
        if app.current_event.body and content_type.startswith(_FORM_TYPES):
            return _error(415, "Content-Type", "send the body as application/json")
        errors = list(exc.errors())
        details = [{"parameter": _parameter_of(e), "message": _validation_message(e)} for e in errors[:10]]
        first = details[0] if details else {"parameter": None, "message": "the request is not valid"}
        return _error(
            400, first["parameter"], str(first["message"]), details=details if len(details) > 1 else None
        )

    def unsupported_type(exc: RequestUnsupportedContentType) -> Response[str]:
        return _error(415, "Content-Type", "send the body as application/json")

    def bad_value(exc: ValueError) -> Response[str]:
        # Powertools parses form bodies itself and raises a bare ValueError for a multipart type
        # without a boundary: the client's wrong Content-Type. Any other ValueError is a bug.
        content_type = (app.current_event.headers.get("content-type") or "").strip().lower()
        if content_type.startswith(_FORM_TYPES):
            return _error(415, "Content-Type", "send the body as application/json")
        return internal(exc)

    def too_deep(exc: RecursionError) -> Response[str]:
        return _error(400, "body", "the body is nested too deeply")

    def undecodable(exc: UnicodeDecodeError) -> Response[str]:
        # Powertools decodes the body as UTF-8 before parsing it as JSON; bytes that are not UTF-8
        # are the client's bad JSON (RFC 8259 requires UTF-8), any other decoding error is ours.
        if not _body_is_utf8(app.current_event.body, app.current_event.is_base64_encoded):
            return _error(400, "body", "the body is not valid JSON (its bytes are not UTF-8)")
        return internal(exc)

    def unknown_route(exc: NotFoundError) -> Response[str]:
        path = app.current_event.path
        method = app.current_event.http_method
        allowed = sorted({m for rule, m in routes if rule.match(path)})
        if method in allowed:
            # The route exists with this method, so Powertools' router refused a path parameter's
            # characters: a malformed parameter (400, as validation answers), not a wrong method.
            found = next(match for rule, m in routes if m == method and (match := rule.match(path)))
            name, value = next(iter(found.groupdict().items()), ("path", path))
            return _error(400, name, f"{shown(value)} is not a valid {name}: see /docs")
        if allowed:
            return _json(
                ApiError(
                    405,
                    None,
                    f"{app.current_event.http_method} is not allowed here; use {', '.join(allowed)}",
                ).body(),
                405,
                {"Allow": ", ".join(allowed)},
            )
        return _error(404, None, f"no route {shown(path)}: see /docs")

    def aws_error(exc: ClientError) -> Response[str]:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _THROTTLED:
            logger.warning("throttled by AWS", extra={"code": code})
            return _json(ApiError(503, None, "busy, retry in a moment").body(), 503, {"Retry-After": "1"})
        logger.exception("AWS error", extra={"code": code})
        return _error(500, None, "internal error")

    def aws_unreachable(exc: BotoCoreError) -> Response[str]:
        logger.exception("AWS unreachable")
        return _error(503, None, "storage unreachable, retry in a moment")

    def internal(exc: Exception) -> Response[str]:
        # A bug, not a bad request: logged with its traceback, answered in the API's error shape.
        logger.exception("unhandled error")
        return _error(500, None, "internal error")

    app.exception_handler(ApiError)(api_error)
    app.exception_handler(RequestValidationError)(validation_error)
    app.exception_handler(RequestUnsupportedContentType)(unsupported_type)
    app.exception_handler(RecursionError)(too_deep)
    app.exception_handler(UnicodeDecodeError)(undecodable)
    app.exception_handler(ValueError)(bad_value)
    app.exception_handler(NotFoundError)(unknown_route)
    app.exception_handler(ClientError)(aws_error)
    app.exception_handler(BotoCoreError)(aws_unreachable)
    app.exception_handler(Exception)(internal)


def _body_is_utf8(body: str | None, base64_encoded: bool | None) -> bool:
    if not body or not base64_encoded:
        return True  # a str body arrived as text, so it was UTF-8 already
    try:
        base64.b64decode(body).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _base_path(app: APIGatewayRestResolver) -> str:
    """The stage prefix ("/v1") when the request came through the stage's own URL, as Swagger UI
    computes it too; "/" behind a custom domain whose mapping hides the stage."""
    context = app.current_event.request_context
    stage = context.stage
    if stage and stage != "$default" and (context.path or "").startswith(f"/{stage}"):
        return f"/{stage}"
    return "/"


_app: APIGatewayRestResolver | None = None
_app_services: wiring.Services | None = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@telemetry.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One resolver per process (a Lambda cold start), built at the first request on the process's
    services (`wiring`); rebuilt only when those are replaced (tests, local mode restarted)."""
    global _app, _app_services  # noqa: PLW0603
    services = wiring.services()
    if _app is None or _app_services is not services:
        settings = ApiSettings.from_env()
        _app = create_app(
            services.api_service, cors_origins=settings.service.cors_origins, api_auth=settings.api_auth
        )
        _app_services = services
    answer = _app.resolve(event, context)
    count("ApiRequests")
    if int(answer.get("statusCode", 0)) >= 500:
        count("ApiServerErrors")
    return answer
