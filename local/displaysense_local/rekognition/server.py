"""The HTTP side: AWS JSON 1.1 requests (`X-Amz-Target: RekognitionService.<Operation>`) and answers."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from displaysense_local.http_serving import LocalHTTPServer

from . import results
from .errors import InternalServerError, InvalidParameterError, RekognitionError, UnknownOperationError
from .jobs import FACES, LABELS, JobStore, StandInSettings, aws_clients

log = logging.getLogger(__name__)
_CONTENT_TYPE = "application/x-amz-json-1.1"
_MAX_BODY = 1024 * 1024


class RekognitionApi:
    """The four operations, on top of the job store."""

    def __init__(self, store: JobStore) -> None:
        self.store = store

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        handler = {
            "StartLabelDetection": self.start_label_detection,
            "StartFaceDetection": self.start_face_detection,
            "GetLabelDetection": self.get_label_detection,
            "GetFaceDetection": self.get_face_detection,
        }.get(operation)
        if handler is None:
            raise UnknownOperationError(f"The stand-in does not implement {operation}.")
        return handler(request)

    def start_label_detection(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"JobId": self.store.start(LABELS, request)}

    def start_face_detection(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"JobId": self.store.start(FACES, request)}

    def get_label_detection(self, request: dict[str, Any]) -> dict[str, Any]:
        job = self.store.get(request.get("JobId"), LABELS)
        sort_by = request.get("SortBy", "TIMESTAMP")
        aggregate_by = request.get("AggregateBy", "TIMESTAMPS")
        if sort_by not in ("NAME", "TIMESTAMP"):
            raise InvalidParameterError("Request has invalid parameters: SortBy.")
        if aggregate_by not in ("TIMESTAMPS", "SEGMENTS"):
            raise InvalidParameterError("Request has invalid parameters: AggregateBy.")
        answer = self._common(job, request)
        answer["LabelModelVersion"] = "3.0"
        answer["GetRequestMetadata"] = {"SortBy": sort_by, "AggregateBy": aggregate_by}
        if job.status == "SUCCEEDED":
            items = self.store.detections(job)
            if aggregate_by == "SEGMENTS":
                items = results.label_segments(items, 1000.0 / self.store.settings.analysis.sample_fps)
            # One label name only, so NAME order is timestamp order within the name.
            items = sorted(items, key=_sort_key(sort_by))
            answer["Labels"], token = results.page(
                items,
                job.job_id,
                f"{sort_by}/{aggregate_by}",
                _max_results(request),
                request.get("NextToken"),
                self.store.now(),
            )
            if token:
                answer["NextToken"] = token
        return answer

    def get_face_detection(self, request: dict[str, Any]) -> dict[str, Any]:
        job = self.store.get(request.get("JobId"), FACES)
        answer = self._common(job, request)
        if job.status == "SUCCEEDED":
            answer["Faces"], token = results.page(
                self.store.detections(job),
                job.job_id,
                "faces",
                _max_results(request),
                request.get("NextToken"),
                self.store.now(),
            )
            if token:
                answer["NextToken"] = token
        return answer

    @staticmethod
    def _common(job: Any, request: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = {"JobStatus": job.status, "JobId": job.job_id, "Video": job.video()}
        if job.job_tag:
            answer["JobTag"] = job.job_tag
        if job.status_message:
            answer["StatusMessage"] = job.status_message
        if job.metadata:
            answer["VideoMetadata"] = job.metadata
        return answer


def _sort_key(sort_by: str) -> Any:
    if sort_by == "NAME":
        return lambda d: (d["Label"]["Name"], d["Timestamp"])
    return lambda d: (d["Timestamp"], d["Label"]["Name"])


def _max_results(request: dict[str, Any]) -> int | None:
    value = request.get("MaxResults")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError("Request has invalid parameters: MaxResults must be at least 1.")
    return value


class _Handler(BaseHTTPRequestHandler):
    api: RekognitionApi
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        target = self.headers.get("X-Amz-Target", "")
        try:
            service, _, operation = target.partition(".")
            if service != "RekognitionService" or not operation:
                raise UnknownOperationError(f"Unknown target {target!r}.")
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                raise InvalidParameterError("Request body too large.")
            raw = self.rfile.read(length) if length else b"{}"
            try:
                request = json.loads(raw or b"{}")
            except ValueError:
                raise InvalidParameterError("Request body is not JSON.") from None
            if not isinstance(request, dict):
                raise InvalidParameterError("Request body must be a JSON object.")
            self._send(200, self.api.call(operation, request))
        except RekognitionError as error:
            self._send(error.status, error.body())
        except Exception:
            log.exception("unexpected error in %s", target)
            internal = InternalServerError("Internal server error.")
            self._send(internal.status, internal.body())

    def do_GET(self) -> None:
        # A health check for local mode: the stand-in is up and how busy it is.
        self._send(200, {"status": "ok", "activeJobs": self.api.store.active_jobs()})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", _CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "standin")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class RekognitionStandIn:
    """A local Rekognition Video (label and face detection) that analyses the real footage.

    `start()` serves it on 127.0.0.1 and returns its base URL, the value for
    `AWS_ENDPOINT_URL_REKOGNITION`; `stop()` stops serving and interrupts running analyses,
    which resume the next time a stand-in starts on the same data directory.
    """

    def __init__(
        self,
        data_dir: Path | str,
        s3_endpoint_url: str | None,
        sns_endpoint_url: str | None,
        *,
        port: int = 0,
        workers: int = 2,
        max_concurrent_jobs: int = 20,
        sample_fps: float = 5.0,
        host: str = "127.0.0.1",
        region: str = "us-east-1",
        settings: StandInSettings | None = None,
    ) -> None:
        base = settings or StandInSettings()
        self.settings = replace(
            base,
            workers=workers,
            max_concurrent_jobs=max_concurrent_jobs,
            analysis=replace(base.analysis, sample_fps=sample_fps),
        )
        if sample_fps <= 0:
            raise ValueError("sample_fps must be positive")
        self.data_dir = Path(data_dir)
        self._endpoints = (s3_endpoint_url, sns_endpoint_url)
        self._region = region
        self._host = host
        self._port = port
        self._server: LocalHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.store: JobStore | None = None

    def start(self) -> str:
        s3, sns = aws_clients(*self._endpoints, region=self._region)
        self.store = JobStore(self.data_dir, self.settings, s3, sns)
        handler = type("Handler", (_Handler,), {"api": RekognitionApi(self.store)})
        self._server = LocalHTTPServer((self._host, self._port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="standin-http", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.store is not None:
            self.store.shutdown()
            self.store = None

    def __enter__(self) -> RekognitionStandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
