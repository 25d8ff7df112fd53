"""The whole pipeline on one machine: emulator, Rekognition stand-in, the same handlers, the API.

    with LocalDeployment(LocalOptions(data_dir=Path(".displaysense"), drop_dir=Path("drop"))) as local:
        print(local.dashboard_url, local.api_key)

Only configuration differs from AWS: AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_REKOGNITION point boto3
at the emulator and the stand-in, the DS_* variables name the local resources. The pipeline's
functions run one invocation at a time; the API has services of its own (`wiring.scoped`) and
answers meanwhile (docs/architecture.md, "Local mode").
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from displaysense.config import ServiceSettings
from displaysense.resources import (
    COMPLETION_QUEUE,
    INGEST_FUNCTION,
    INGEST_QUEUE,
    RESULTS_FUNCTION,
)

from displaysense_local.local_mode.drop_folder import DropFolderWatcher
from displaysense_local.local_mode.emulator import REGION, AwsEmulator, EmulatorError, LocalResources
from displaysense_local.local_mode.event_sources import SqsEventSource

log = logging.getLogger("displaysense_local")
WATCHDOG_INTERVAL_S = 300


class StartupError(Exception):
    """Local mode cannot start; the message is one line a user can act on."""


@dataclass
class LocalOptions:
    data_dir: Path
    drop_dir: Path
    port: int = 8080
    host: str = "127.0.0.1"
    api_key: str | None = None
    sample_fps: float = 5.0
    max_concurrent_jobs: int = 20
    faces_only: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)


class LocalDeployment:
    def __init__(self, options: LocalOptions) -> None:
        self.options = options
        self.emulator = AwsEmulator(options.data_dir / "aws")
        self.resources: LocalResources | None = None
        self.api_key = ""
        self.api_url = ""
        self._parts: list[Any] = []
        self._stop = threading.Event()
        self._log_stream: Any = None

    # -- public ------------------------------------------------------------------------------

    @property
    def dashboard_url(self) -> str:
        return self.api_url

    def start(self) -> LocalDeployment:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stop.set()
        for part in reversed(self._parts):
            try:
                part.stop()
            except Exception:
                log.exception("stopping %s failed", type(part).__name__)
        self._parts.clear()
        if self._log_stream is not None:
            _log_to(sys.stderr)
            self._log_stream.close()
            self._log_stream = None

    def __enter__(self) -> LocalDeployment:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # -- start-up ----------------------------------------------------------------------------

    def _start(self) -> None:
        options = self.options
        # The data directory holds footage, metrics and the API key: a new one is its owner's only.
        _writable(options.data_dir, "data directory", mode=0o700)
        _writable(options.drop_dir, "drop folder")
        _port_free(options.host, options.port)
        _models_present()
        self._log_stream = (options.data_dir / "local.log").open("a", encoding="utf-8")
        _log_to(self._log_stream)
        self.api_key = options.api_key or _stored_key(options.data_dir / "api-key")

        try:
            self.emulator.data_dir.mkdir(parents=True, exist_ok=True)
            aws_url = self.emulator.start()
        except EmulatorError as exc:
            raise StartupError(str(exc)) from None
        self._parts.append(self.emulator)
        resources = self.resources = self.emulator.provision()

        from displaysense_local.rekognition import RekognitionStandIn

        standin = RekognitionStandIn(
            options.data_dir / "rekognition",
            s3_endpoint_url=aws_url,
            sns_endpoint_url=aws_url,
            max_concurrent_jobs=options.max_concurrent_jobs,
            sample_fps=options.sample_fps,
            region=REGION,
        )
        rekognition_url = standin.start()
        self._parts.append(standin)

        settings = local_settings(
            resources, faces_only=options.faces_only, max_concurrent_jobs=options.max_concurrent_jobs
        )
        os.environ.update(
            {**local_environment(aws_url, rekognition_url), **settings.to_env(), **options.extra_env}
        )
        # Imported only now: like a Lambda cold start, they read the environment set above.
        from displaysense.handlers import api, ingest, results, watchdog, wiring

        from displaysense_local.api_gateway import start_api_gateway

        wiring.install(None)
        _log_to(self._log_stream)
        api_container = wiring.Services.from_environment()

        def api_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with wiring.scoped(api_container):
                answer: dict[str, Any] = api.handler(event, context)
                return answer

        invoke_lock = threading.Lock()  # the pipeline's: see the module's docstring
        sqs = self.emulator.client("sqs")
        for queue, function, handler, url, arn in (
            (
                INGEST_QUEUE,
                INGEST_FUNCTION,
                ingest.handler,
                resources.ingest_queue_url,
                resources.ingest_queue_arn,
            ),
            (
                COMPLETION_QUEUE,
                RESULTS_FUNCTION,
                results.handler,
                resources.completion_queue_url,
                resources.completion_queue_arn,
            ),
        ):
            source = SqsEventSource(
                sqs,
                queue_url=url,
                queue_arn=arn,
                queue=queue,
                function=function,
                handler=handler,
                region=REGION,
                invoke_lock=invoke_lock,
            )
            source.start()
            self._parts.append(source)

        try:
            gateway = start_api_gateway(
                api_handler, api_keys=[self.api_key], host=options.host, port=options.port
            )
        except OSError as exc:
            raise StartupError(f"cannot listen on {options.host}:{options.port}: {exc.strerror}") from None
        self._parts.append(gateway)
        self.api_url = gateway.url

        watcher = DropFolderWatcher(
            options.drop_dir,
            self.emulator.client("s3"),
            resources.bucket,
            manifest=options.data_dir / "drop-manifest.json",
            persist=lambda: self.emulator.snapshot(force=True),
        )
        watcher.start()
        self._parts.append(watcher)
        self.watcher = watcher
        self._parts.append(_Every(2.0, self.emulator.snapshot, "snapshot"))
        self._parts.append(
            _Every(WATCHDOG_INTERVAL_S, lambda: _watchdog(watchdog.handler, invoke_lock), "watchdog")
        )


def local_settings(
    resources: LocalResources, *, faces_only: bool = False, max_concurrent_jobs: int = 20
) -> ServiceSettings:
    """The service settings of local mode: the emulator's resources and local mode's choices."""
    return ServiceSettings(
        table_name=resources.table,
        bucket_name=resources.bucket,
        completion_topic_arn=resources.completion_topic_arn,
        rekognition_role_arn=resources.rekognition_role_arn,
        completion_queue_url=resources.completion_queue_url,
        faces_only=faces_only,
        # The drop folder keeps the original; the bucket (and the saved state) need not.
        footage_retention_days=0,
        max_concurrent_jobs=max_concurrent_jobs,
    )


def local_environment(aws_url: str, rekognition_url: str) -> dict[str, str]:
    """What differs from AWS besides the settings: where boto3 finds AWS and Rekognition."""
    return {
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_ENDPOINT_URL_REKOGNITION": rekognition_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "displaysense",
        "POWERTOOLS_METRICS_NAMESPACE": "DisplaySenseLocal",
        # No X-Ray daemon and no CloudWatch here: tracing off, metrics not emitted.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "DS_STUCK_ANALYZING_MINUTES": "180",
    }


class _Every:
    """Calls `action` every `interval_s` seconds in a thread, until stopped."""

    def __init__(self, interval_s: float, action: Any, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s, action), name=name, daemon=True)
        self._thread.start()

    def _run(self, interval_s: float, action: Any) -> None:
        while not self._stop.wait(interval_s):
            try:
                action()
            except Exception:
                log.exception("%s failed", self._thread.name)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _watchdog(handler: Any, lock: threading.Lock) -> None:
    from displaysense.resources import FunctionDefinition

    from displaysense_local.lambda_context import LambdaContext

    with lock:
        handler(
            {"source": "aws.events", "detail-type": "Scheduled Event"},
            LambdaContext(FunctionDefinition("watchdog", "displaysense.handlers.watchdog.handler", 60, 256)),
        )


def _writable(folder: Path, what: str, mode: int = 0o777) -> None:
    try:
        if not folder.is_dir():
            folder.parent.mkdir(parents=True, exist_ok=True)
            folder.mkdir(mode=mode, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise StartupError(f"the {what} {folder} is not writable: {exc.strerror}") from None


def _port_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            raise StartupError(
                f"port {port} on {host} is in use: stop what runs there or choose another with --port"
            ) from None


def _models_present() -> None:
    from displaysense_local.rekognition.vision.models import (
        EMOTION,
        FACE_DETECTION_FULL_RANGE,
        FACE_LANDMARK,
        ModelNotFoundError,
        package_file,
    )

    for model in (FACE_DETECTION_FULL_RANGE, FACE_LANDMARK, EMOTION):
        try:
            package_file(*model)
        except ModelNotFoundError as exc:
            raise StartupError(f"a model file is missing: {exc}; run `make setup`") from None
    try:
        import cv2  # noqa: F401
    except ImportError:
        raise StartupError("OpenCV is not installed; run `make setup`") from None


def _stored_key(path: Path) -> str:
    """An API key generated once per data directory, so a restart keeps the same key. The file is
    created readable by its owner only (never, even for a moment, by anyone else). Hex digits
    only: the key is pasted onto command lines (`displaysense upload --api-key KEY`), where one
    of token_urlsafe's keys in 64 starts with '-' and reads as an option."""
    key = secrets.token_hex(24)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:  # written by an earlier version, or copied in
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(key + "\n")
    return key


def _log_to(stream: Any) -> None:
    """Logs go to the data directory's log file, not the user's console: local mode's own log,
    and the handlers' Powertools loggers (their JSON lines, with their own formatter)."""
    own = logging.getLogger("displaysense_local")
    if not own.handlers:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        own.addHandler(handler)
        own.setLevel(logging.INFO)
        own.propagate = False
    for name in ("displaysense_local", "displaysense", "displaysense-api"):
        for existing in logging.getLogger(name).handlers:
            # Exactly the plain stream handlers Powertools installs: not files, and not handlers
            # of other owners that subclass StreamHandler (a test runner's log capture).
            if type(existing) is logging.StreamHandler:
                # Assigned, not setStream(): the previous stream may be a closed log of an
                # earlier local mode in this process, which setStream would try to flush.
                with _handler_lock(existing):
                    existing.stream = stream


class _handler_lock:
    def __init__(self, handler: logging.Handler) -> None:
        self.handler = handler

    def __enter__(self) -> None:
        self.handler.acquire()

    def __exit__(self, *exc: object) -> None:
        self.handler.release()


def copy_sample(drop_dir: Path, store: str, camera: str, recorded_at: str) -> Path:
    """Put the project's sample footage into the drop folder (once)."""
    from importlib.resources import files

    target = drop_dir / store / camera / f"{recorded_at}.mp4"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        source = files("displaysense_local") / "samples" / "storefront-walkby.mp4"
        with source.open("rb") as reading, target.open("wb") as writing:
            shutil.copyfileobj(reading, writing)
    return target
