"""Jobs: validation and idempotency of Start*, a worker pool, and job state kept on disk.

Layout of the data directory:
  jobs/<JobId>.json           the job (request, status, metadata); rewritten atomically
  results/<JobId>.json        the job's detections, Rekognition shapes, written once on success
  analyses/<key>.json         one analysis per video object and analysis settings, shared by the
                              label and the face job of that video
  footage/                    downloads in progress; deleted after each analysis
A restart loads every job; those still IN_PROGRESS are queued again.

One analysis per video: the first job of a video to reach a worker analyses it; a job of the same
video that comes while that analysis runs registers on the analysis's future and gives its worker
back at once (it completes when the analysis does), so two videos are analysed on two workers
even though each has a label and a face job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import results
from .analysis import AnalysisError, AnalysisSettings, FrameAnalyzer, VideoAnalysis, analyse_video
from .errors import (
    IdempotentParameterMismatchError,
    InvalidParameterError,
    InvalidS3ObjectError,
    LimitExceededError,
    ResourceNotFoundError,
    VideoTooLargeError,
)
from .video import VideoFormatError, VideoMetadata, probe

log = logging.getLogger(__name__)

LABELS = "StartLabelDetection"
FACES = "StartFaceDetection"
_TOKEN = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_JOB_TAG = re.compile(r"^[a-zA-Z0-9_.\-:+=/]{1,1024}$")
_TOPIC_ARN = re.compile(r"^arn:aws(-[a-z]+)*:sns:[a-z0-9-]*:\d{12}:[A-Za-z0-9_-]{1,256}$")
_ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/?[a-zA-Z0-9+=,.@\-_/]+$")
# A ClientRequestToken is remembered this long (Rekognition: 7 days).
TOKEN_TTL_S = 7 * 24 * 3600
GIB = 1024**3


class Interrupted(Exception):
    """The stand-in is stopping while this job runs."""


# Footage file and a stop check (raises Interrupted) -> the analysis and the file's metadata.
Analyse = Callable[[Path, Callable[[float], None]], tuple[VideoAnalysis, VideoMetadata]]
Outcome = Future[tuple[VideoAnalysis, VideoMetadata]]


@dataclass
class Job:
    job_id: str
    api: str
    status: str  # IN_PROGRESS, SUCCEEDED, FAILED
    bucket: str
    name: str
    version: str | None
    job_tag: str | None
    token: str | None
    fingerprint: str
    topic_arn: str | None
    min_confidence: float
    label_settings: dict[str, Any]
    face_attributes: str
    created_at: float
    completed_at: float | None = None
    status_message: str | None = None
    # SUCCEEDED, FAILED or ERROR: what the completion message says.
    outcome: str | None = None
    metadata: dict[str, Any] | None = None
    notified: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def video(self) -> dict[str, Any]:
        s3: dict[str, Any] = {"Bucket": self.bucket, "Name": self.name}
        if self.version:
            s3["Version"] = self.version
        return {"S3Object": s3}


@dataclass(frozen=True)
class StandInSettings:
    workers: int = 2
    max_concurrent_jobs: int = 20
    max_video_bytes: int = 10 * GIB
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)


def _write_json(path: Path, data: Any) -> None:
    """Atomic: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, separators=(",", ":"))
    os.replace(tmp, path)


class JobStore:
    def __init__(
        self,
        data_dir: Path,
        settings: StandInSettings,
        s3_client: Any,
        sns_client: Any,
        clock: Callable[[], float] = time.time,
        analyse: Analyse | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self._s3 = s3_client
        self._sns = sns_client
        self._clock = clock
        self._analyse = analyse or self._analyse_footage
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        self._results: dict[str, list[dict[str, Any]]] = {}
        # Analyses running now, by analysis key; the file in analyses/ takes over once written.
        self._analyses: dict[str, Outcome] = {}
        self._local = threading.local()
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.workers), thread_name_prefix="standin")
        for sub in ("jobs", "results", "analyses", "footage"):
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
        self._load()

    # ---- start ----------------------------------------------------------------------------

    def start(self, api: str, request: dict[str, Any]) -> str:
        params = self._validate(api, request)
        with self._lock:
            existing = self._same_request(api, params)
            if existing is not None:
                return existing
            self._check_capacity()
        # S3 is asked outside the lock: a slow HEAD must not hold up every other request.
        self._check_object(params["bucket"], params["name"], params["version"])
        with self._lock:
            # A start with the same token may have created its job while S3 was asked.
            existing = self._same_request(api, params)
            if existing is not None:
                return existing
            self._check_capacity()
            job = Job(
                job_id=uuid.uuid4().hex + uuid.uuid4().hex[:32],
                api=api,
                status="IN_PROGRESS",
                created_at=self._clock(),
                **{k: v for k, v in params.items() if k in _JOB_FIELDS},
            )
            self._jobs[job.job_id] = job
            if job.token:
                self._tokens[(api, job.token)] = job.job_id
            self._save(job)
        self._pool.submit(self._run, job.job_id)
        return job.job_id

    def _same_request(self, api: str, params: dict[str, Any]) -> str | None:
        """The JobId a live ClientRequestToken already names (caller holds the lock)."""
        token = params["token"]
        existing_id = self._tokens.get((api, token)) if token else None
        existing = self._jobs.get(existing_id) if existing_id else None
        if existing is None or self._clock() - existing.created_at >= TOKEN_TTL_S:
            return None
        if existing.fingerprint != params["fingerprint"]:
            raise IdempotentParameterMismatchError(
                "ClientRequestToken was already used with different parameters."
            )
        return existing.job_id

    def _check_capacity(self) -> None:
        active = sum(1 for j in self._jobs.values() if j.status == "IN_PROGRESS")
        if active >= self.settings.max_concurrent_jobs:
            raise LimitExceededError(
                f"Concurrent job limit of {self.settings.max_concurrent_jobs} stored video jobs exceeded."
            )

    def _validate(self, api: str, request: dict[str, Any]) -> dict[str, Any]:
        video = request.get("Video")
        s3 = video.get("S3Object") if isinstance(video, dict) else None
        if not isinstance(s3, dict) or not s3.get("Bucket") or not s3.get("Name"):
            raise InvalidParameterError(
                "Request has invalid parameters: Video.S3Object Bucket and Name are required."
            )
        token = request.get("ClientRequestToken")
        if token is not None and (not isinstance(token, str) or not _TOKEN.match(token)):
            raise InvalidParameterError("Request has invalid parameters: ClientRequestToken.")
        tag = request.get("JobTag")
        if tag is not None and (not isinstance(tag, str) or not _JOB_TAG.match(tag)):
            raise InvalidParameterError("Request has invalid parameters: JobTag.")
        channel = request.get("NotificationChannel")
        topic: str | None = None
        if channel is not None:
            topic = channel.get("SNSTopicArn") if isinstance(channel, dict) else None
            role = channel.get("RoleArn") if isinstance(channel, dict) else None
            if not isinstance(topic, str) or not _TOPIC_ARN.match(topic):
                raise InvalidParameterError(
                    "Request has invalid parameters: NotificationChannel.SNSTopicArn."
                )
            if not isinstance(role, str) or not _ROLE_ARN.match(role):
                raise InvalidParameterError("Request has invalid parameters: NotificationChannel.RoleArn.")
        min_confidence = 50.0
        label_settings: dict[str, Any] = {}
        face_attributes = "DEFAULT"
        if api == LABELS:
            raw = request.get("MinConfidence", 50.0)
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= 100:
                raise InvalidParameterError("Request has invalid parameters: MinConfidence must be 0-100.")
            min_confidence = float(raw)
            features = request.get("Features")
            if features is not None and (
                not isinstance(features, list) or set(features) - {"GENERAL_LABELS"}
            ):
                raise InvalidParameterError("Request has invalid parameters: Features.")
            label_settings = request.get("Settings") or {}
            if not isinstance(label_settings, dict):
                raise InvalidParameterError("Request has invalid parameters: Settings.")
        else:
            face_attributes = request.get("FaceAttributes", "DEFAULT")
            if face_attributes not in ("DEFAULT", "ALL"):
                raise InvalidParameterError("Request has invalid parameters: FaceAttributes.")
        fingerprint = json.dumps(
            {k: v for k, v in request.items() if k != "ClientRequestToken"}, sort_keys=True, default=str
        )
        return {
            "bucket": s3["Bucket"],
            "name": s3["Name"],
            "version": s3.get("Version"),
            "job_tag": tag,
            "token": token,
            "fingerprint": hashlib.sha256(fingerprint.encode()).hexdigest(),
            "topic_arn": topic,
            "min_confidence": min_confidence,
            "label_settings": label_settings,
            "face_attributes": face_attributes,
        }

    def _check_object(self, bucket: str, name: str, version: str | None) -> None:
        """Rekognition refuses a missing or oversized object when the job is started."""
        try:
            kwargs = {"Bucket": bucket, "Key": name, **({"VersionId": version} if version else {})}
            head = self._s3.head_object(**kwargs)
        except (ClientError, BotoCoreError):
            raise InvalidS3ObjectError(
                "Unable to get object metadata from S3. Check object key, region and/or access permissions."
            ) from None
        if int(head.get("ContentLength", 0)) > self.settings.max_video_bytes:
            raise VideoTooLargeError("The video is larger than the maximum allowed size.")

    # ---- get ------------------------------------------------------------------------------

    def get(self, job_id: Any, api: str) -> Job:
        if not isinstance(job_id, str) or not _TOKEN.match(job_id):
            raise InvalidParameterError("Request has invalid parameters: JobId.")
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.api != api:
            raise ResourceNotFoundError("The job was not found.")
        return job

    def detections(self, job: Job) -> list[dict[str, Any]]:
        with self._lock:
            cached = self._results.get(job.job_id)
        if cached is None:
            path = self.data_dir / "results" / f"{job.job_id}.json"
            cached = json.loads(path.read_text(encoding="utf-8"))
            with self._lock:
                self._results[job.job_id] = cached
        return cached

    # ---- work -----------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def _run(self, job_id: str) -> None:
        """Complete the job from its video's analysis: stored, running in another job, or run here."""
        job = self._jobs[job_id]
        owned: Outcome | None = None
        try:
            key = self._analysis_key(job)
            stored = self.data_dir / "analyses" / f"{key}.json"
            with self._lock:
                outcome = self._analyses.get(key)
                if outcome is None and not stored.exists():
                    outcome = owned = self._analyses[key] = Future()
        except Exception as error:
            self._complete(job, _failed(error))
            return
        if outcome is None:
            outcome = self._read_stored(stored)
        elif owned is not None:
            self._analyse_for(job, key, owned)
        # Runs now if the analysis is done, else in the analysing worker when it is: this worker is free.
        outcome.add_done_callback(partial(self._complete, job))

    def _analyse_for(self, job: Job, key: str, outcome: Outcome) -> None:
        """Download and analyse the video, store the analysis, and settle its future."""
        footage = self.data_dir / "footage" / f"{key}.video"
        try:
            self._check_stop(0.0)
            try:
                self._download(job, footage)
                analysis, metadata = self._analyse(footage, self._check_stop)
            finally:
                footage.unlink(missing_ok=True)
            _write_json(
                self.data_dir / "analyses" / f"{key}.json",
                {"metadata": metadata.to_rekognition(), "analysis": analysis.to_json()},
            )
        except Exception as error:
            with self._lock:
                del self._analyses[key]
            outcome.set_exception(error)
            return
        # The file is written before the future leaves the map: a later job finds one or the other.
        with self._lock:
            del self._analyses[key]
        outcome.set_result((analysis, metadata))

    @staticmethod
    def _read_stored(path: Path) -> Outcome:
        outcome: Outcome = Future()
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            outcome.set_result(
                (
                    VideoAnalysis.from_json(stored["analysis"]),
                    VideoMetadata.from_rekognition(stored["metadata"]),
                )
            )
        except Exception as error:
            outcome.set_exception(error)
        return outcome

    def _complete(self, job: Job, outcome: Outcome) -> None:
        try:
            analysis, metadata = outcome.result()
            if job.api == LABELS:
                found = results.label_detections(analysis, job.min_confidence, job.label_settings)
            else:
                found = results.face_detections(analysis, job.face_attributes)
            _write_json(self.data_dir / "results" / f"{job.job_id}.json", found)
            self._finish(job, "SUCCEEDED", None, metadata)
        except Interrupted:
            # Stopped mid-analysis: the job stays IN_PROGRESS on disk and is resumed at the next start.
            return
        except (VideoFormatError, AnalysisError) as error:
            self._finish(job, "FAILED", str(error), None)
        except InvalidS3ObjectError as error:
            self._finish(job, "FAILED", error.message, None)
        except Exception:
            log.exception("job %s failed unexpectedly", job.job_id)
            self._finish(job, "ERROR", "Internal server error.", None)

    def _analyse_footage(
        self, footage: Path, check_stop: Callable[[float], None]
    ) -> tuple[VideoAnalysis, VideoMetadata]:
        metadata = probe(footage)
        return analyse_video(footage, self.settings.analysis, self._analyzer(), check_stop), metadata

    def _analysis_key(self, job: Job) -> str:
        identity = json.dumps(
            [job.bucket, job.name, job.version, self._etag(job), asdict(self.settings.analysis)],
            sort_keys=True,
        )
        return hashlib.sha256(identity.encode()).hexdigest()[:32]

    def _etag(self, job: Job) -> str:
        try:
            kwargs = {
                "Bucket": job.bucket,
                "Key": job.name,
                **({"VersionId": job.version} if job.version else {}),
            }
            return str(self._s3.head_object(**kwargs).get("ETag", ""))
        except (ClientError, BotoCoreError):
            raise InvalidS3ObjectError(
                "Unable to get object metadata from S3. Check object key, region and/or access permissions."
            ) from None

    def _download(self, job: Job, target: Path) -> None:
        try:
            extra = {"VersionId": job.version} if job.version else None
            self._s3.download_file(job.bucket, job.name, str(target), ExtraArgs=extra)
        except (ClientError, BotoCoreError):
            raise InvalidS3ObjectError(
                "Unable to get object metadata from S3. Check object key, region and/or access permissions."
            ) from None

    def _check_stop(self, _done: float) -> None:
        if self._stopping.is_set():
            raise Interrupted

    def _analyzer(self) -> FrameAnalyzer:
        analyzer: FrameAnalyzer | None = getattr(self._local, "analyzer", None)
        if analyzer is None:
            analyzer = FrameAnalyzer(self.settings.analysis)
            self._local.analyzer = analyzer
        return analyzer

    def _finish(self, job: Job, outcome: str, message: str | None, metadata: VideoMetadata | None) -> None:
        with self._lock:
            job.status = "SUCCEEDED" if outcome == "SUCCEEDED" else "FAILED"
            job.outcome = outcome
            job.status_message = message
            job.metadata = metadata.to_rekognition() if metadata else None
            job.completed_at = self._clock()
            self._save(job)
        self._notify(job)

    def _notify(self, job: Job) -> None:
        """Rekognition's completion message, published once per job."""
        if job.topic_arn and not job.notified:
            message: dict[str, Any] = {
                "JobId": job.job_id,
                "Status": job.outcome,
                "API": job.api,
                "Timestamp": int((job.completed_at or self._clock()) * 1000),
                "Video": {"S3ObjectName": job.name, "S3Bucket": job.bucket},
            }
            if job.job_tag:
                message["JobTag"] = job.job_tag
            try:
                self._sns.publish(TopicArn=job.topic_arn, Message=json.dumps(message))
            except (ClientError, BotoCoreError):
                log.warning("job %s: completion message to %s not delivered", job.job_id, job.topic_arn)
                return
        with self._lock:
            job.notified = True
            self._save(job)

    # ---- persistence ----------------------------------------------------------------------

    def _save(self, job: Job) -> None:
        _write_json(self.data_dir / "jobs" / f"{job.job_id}.json", asdict(job))

    def _load(self) -> None:
        for path in sorted((self.data_dir / "jobs").glob("*.json")):
            try:
                job = Job(**json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, TypeError):
                log.warning("ignoring unreadable job file %s", path)
                continue
            self._jobs[job.job_id] = job
            if job.token:
                # A token reused after its 7 days names two jobs: the newer one is the live one.
                named = self._jobs.get(self._tokens.get((job.api, job.token), ""))
                if named is None or named.created_at < job.created_at:
                    self._tokens[(job.api, job.token)] = job.job_id
        for stale in (self.data_dir / "footage").glob("*"):
            stale.unlink(missing_ok=True)
        for job in self._jobs.values():
            if job.status == "IN_PROGRESS":
                self._pool.submit(self._run, job.job_id)
            elif not job.notified:
                self._pool.submit(self._notify, job)

    def active_jobs(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.status == "IN_PROGRESS")

    def shutdown(self) -> None:
        """Stop now: queued jobs are not started, running analyses stop at their next frame."""
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _failed(error: Exception) -> Outcome:
    outcome: Outcome = Future()
    outcome.set_exception(error)
    return outcome


_JOB_FIELDS = {
    "bucket",
    "name",
    "version",
    "job_tag",
    "token",
    "fingerprint",
    "topic_arn",
    "min_confidence",
    "label_settings",
    "face_attributes",
}


def aws_clients(s3_endpoint_url: str | None, sns_endpoint_url: str | None, region: str) -> tuple[Any, Any]:
    """Clients of the AWS emulator; credentials are whatever the environment has, or dummies."""
    config = Config(retries={"max_attempts": 3, "mode": "standard"})
    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        region_name=region,
    )
    s3 = session.client("s3", endpoint_url=s3_endpoint_url, config=config)
    sns = session.client("sns", endpoint_url=sns_endpoint_url, config=config)
    return s3, sns
