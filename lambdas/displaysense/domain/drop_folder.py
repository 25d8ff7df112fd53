"""The drop folder's rules (docs/architecture.md, "Drop folder"), shared by the ingest Lambda and
the upload API.

    s3://<bucket>/uploads/<store>/<camera>/<recorded-at>.<mp4|mov>

An upload that breaks a rule is rejected, never dropped: the video is listed with status REJECTED
and every reason found, each worded so the person who uploaded it knows what to change.

`validate_upload` judges an object that arrived (key, metadata, size, first bytes);
`validate_upload_request` and `upload_key` judge what a client asks to upload before it does, with
the same rules and the same wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

from displaysense.domain.file_type import ACCEPTED, SNIFF_BYTES, FileType, sniff
from displaysense.domain.timeutil import TimeFormatError, parse_iso
from displaysense.domain.video import UNASSIGNED_STORE
from displaysense.resources import UPLOADS_PREFIX

__all__ = [
    "EXTENSIONS",
    "SNIFF_BYTES",
    "UNASSIGNED_CAMERA",
    "KeyParts",
    "Problem",
    "UploadDecision",
    "UploadRejected",
    "UploadRequest",
    "decode_event_key",
    "parse_key",
    "upload_key",
    "validate_upload",
    "validate_upload_request",
]

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ID_RULE = "1–64 characters of a-z, 0-9 and '-', starting with a letter or digit"
# Extension -> the Content-Type an upload of it carries.
EXTENSIONS: dict[str, str] = {"mp4": "video/mp4", "mov": "video/quicktime"}
CONTENT_TYPES: dict[str, str] = {v: k for k, v in EXTENSIONS.items()}
# Camera under which rejected uploads with no valid camera in their key are listed.
UNASSIGNED_CAMERA = "_unassigned"
METADATA_RECORDED_AT = "recorded-at"  # x-amz-meta-recorded-at; boto3 shows it without the prefix
LAYOUT = "uploads/<store>/<camera>/<recorded-at>.<mp4|mov>"
EXAMPLE_KEY = "uploads/store-001/cam-01/20261124T140000Z.mp4"
GIB = 1024**3

# A camera whose clock was never set reports 1970 or 2000; metrics would land decades off.
EARLIEST = datetime(2000, 1, 2, tzinfo=UTC)
# Clocks of cameras and gateways drift; a day ahead is a typo or a wrong zone, not drift.
FUTURE_TOLERANCE = timedelta(days=1)
_TIME_LIKE = re.compile(r"^(\d{8}T\d{2}|\d{4}-\d{2}-\d{2}T)")


@dataclass(frozen=True)
class Problem:
    field: str  # key | store | camera | recorded_at | extension | content_type | size | content
    reason: str


class UploadRejected(ValueError):
    """An upload request breaks a drop-folder rule; `problems` says which, each with a reason."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.reason for p in problems))
        self.problems = problems

    @property
    def reason(self) -> str:
        return str(self)


def decode_event_key(raw: str) -> str:
    """An S3 event's object key as stored: events URL-encode keys, with '+' for a space.

    Malformed escapes or bytes that are not UTF-8 become U+FFFD instead of failing: the key then
    fails the id rules and the upload is rejected with a reason, rather than lost.
    """
    return unquote_plus(raw, encoding="utf-8", errors="replace")


def _id_problem(value: str, what: str) -> str | None:
    if ID_PATTERN.match(value):
        return None
    shown = value if value else "(empty)"
    hint = _suggest_id(value)
    suggestion = f", e.g. {hint!r}" if hint and hint != value else ""
    return f"the {what} {shown!r} is not a valid id: use {ID_RULE}{suggestion}"


def _suggest_id(value: str) -> str | None:
    cleaned = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:64].rstrip("-")
    return cleaned if ID_PATTERN.match(cleaned) else None


@dataclass(frozen=True)
class KeyParts:
    """A key split along the drop-folder layout. Invalid parts are None and have a problem."""

    key: str
    store: str | None
    camera: str | None
    stem: str | None
    extension: str | None  # lower case, no dot
    key_time: datetime | None
    time_problem: str | None  # the stem looks like a time but is not a valid one
    problems: tuple[Problem, ...]


def parse_key(key: str) -> KeyParts:
    """Splits and checks a decoded key; never raises."""
    problems: list[Problem] = []
    if not key.startswith(UPLOADS_PREFIX):
        problems.append(Problem("key", f"the key {key!r} is not under {UPLOADS_PREFIX}: use {LAYOUT}"))
        return KeyParts(key, None, None, None, None, None, None, tuple(problems))
    parts = key[len(UPLOADS_PREFIX) :].split("/")
    if len(parts) != 3:
        levels = len(parts) - 1
        problems.append(
            Problem(
                "key",
                f"the key {key!r} has {levels} folder level{'s' if levels != 1 else ''} below "
                f"{UPLOADS_PREFIX} where {LAYOUT} has 2 (store, then camera), e.g. {EXAMPLE_KEY}",
            )
        )
    store_raw = parts[0] if len(parts) >= 2 else None
    camera_raw = parts[1] if len(parts) >= 3 else None
    file_name = parts[-1]
    store = camera = None
    if store_raw is not None:
        problem = _id_problem(store_raw, "store")
        if problem:
            problems.append(Problem("store", problem))
        else:
            store = store_raw
    if camera_raw is not None:
        problem = _id_problem(camera_raw, "camera")
        if problem:
            problems.append(Problem("camera", problem))
        else:
            camera = camera_raw
    stem, dot, ext = file_name.rpartition(".")
    extension: str | None = None
    if not dot or not stem:
        stem = file_name
        problems.append(
            Problem("extension", f"the file name {file_name!r} has no extension: use .mp4 or .mov")
        )
    elif ext.lower() not in EXTENSIONS:
        problems.append(
            Problem("extension", f"the file name {file_name!r} ends in '.{ext}': use .mp4 or .mov")
        )
    else:
        extension = ext.lower()
    key_time, time_problem = _key_time(stem)
    return KeyParts(key, store, camera, stem, extension, key_time, time_problem, tuple(problems))


def _key_time(stem: str) -> tuple[datetime | None, str | None]:
    try:
        return _whole_seconds(parse_iso(stem)), None
    except TimeFormatError as exc:
        if _TIME_LIKE.match(stem):
            return None, f"the recording time {stem!r} in the key is not valid: {exc}"
        # An ordinary file name: the time must then come from the metadata.
        return None, None


def _whole_seconds(moment: datetime) -> datetime:
    # Keys and buckets are in whole seconds; a fraction would only shift minute boundaries by <1 s.
    return moment.astimezone(UTC).replace(microsecond=0)


def _time_range_problem(moment: datetime, now: datetime, source: str) -> str | None:
    shown = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if moment < EARLIEST:
        return (
            f"the recording time {shown} ({source}) is before 2000: the camera's clock is probably "
            "not set; give the real UTC start time"
        )
    if moment > now + FUTURE_TOLERANCE:
        return (
            f"the recording time {shown} ({source}) is in the future: give the UTC start time of the "
            "recording (check the year and the time zone)"
        )
    return None


def _recorded_at(
    parts: KeyParts, metadata_value: str | None, now: datetime
) -> tuple[datetime | None, Problem | None]:
    meta_time: datetime | None = None
    if metadata_value is not None and metadata_value.strip():
        try:
            meta_time = _whole_seconds(parse_iso(metadata_value))
        except TimeFormatError as exc:
            return None, Problem(
                "recorded_at", f"the metadata x-amz-meta-recorded-at {metadata_value!r} is not valid: {exc}"
            )
    if parts.time_problem is not None and meta_time is None:
        return None, Problem("recorded_at", parts.time_problem)
    if parts.key_time is not None and meta_time is not None and parts.key_time != meta_time:
        return None, Problem(
            "recorded_at",
            f"the key says the recording started at {_basic(parts.key_time)} but the metadata "
            f"x-amz-meta-recorded-at says {_basic(meta_time)}: make them agree or leave one out",
        )
    moment = parts.key_time or meta_time
    if moment is None:
        return None, Problem(
            "recorded_at",
            "the recording time is unknown: name the file after the UTC start of the recording "
            f"(e.g. {EXAMPLE_KEY}) or set the metadata x-amz-meta-recorded-at (ISO 8601)",
        )
    source = "from the key" if parts.key_time is not None else "from x-amz-meta-recorded-at"
    range_problem = _time_range_problem(moment, now, source)
    if range_problem:
        return None, Problem("recorded_at", range_problem)
    return moment, None


def _basic(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _size_problem(size: int, max_bytes: int) -> Problem | None:
    if size <= 0:
        return Problem(
            "size",
            f"the file is empty (0 bytes); DisplaySense accepts {ACCEPTED}: upload the recording again",
        )
    if size > max_bytes:
        return Problem(
            "size",
            f"the file is {_human_size(size)}, more than the limit of {_human_size(max_bytes)} "
            "(Rekognition Video analyses at most 10 GB and 6 hours per file): split the recording",
        )
    return None


def _human_size(size: int) -> str:
    if size >= GIB:
        return f"{size / GIB:.2f} GiB"
    return f"{size / 1024**2:.1f} MiB" if size >= 1024**2 else f"{size} bytes"


@dataclass(frozen=True)
class UploadDecision:
    """Whether an uploaded object is analysed, and where it is listed either way."""

    store: str  # UNASSIGNED_STORE when the key has no valid store
    camera: str  # UNASSIGNED_CAMERA when the key has no valid camera
    recorded_at: datetime | None  # UTC, whole seconds; None when unknown or invalid
    file_type: FileType | None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def accepted(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str | None:
        """Every problem, in key order, for the video's `reason` (None when accepted)."""
        if not self.problems:
            return None
        text = "; ".join(p.reason for p in self.problems)
        return text[0].upper() + text[1:] + "."


def validate_upload(
    *,
    key: str,
    size: int,
    max_bytes: int,
    head: bytes | None,
    metadata_recorded_at: str | None,
    now: datetime,
) -> UploadDecision:
    """The decision for an object in the drop folder (`key` already URL-decoded).

    `head` is the object's first bytes (`SNIFF_BYTES` of them, or all of a smaller file); None when
    they could not be read, which only an empty file may do.
    """
    parts = parse_key(key)
    problems = list(parts.problems)
    recorded_at, time_problem = _recorded_at(parts, metadata_recorded_at, now)
    if time_problem:
        problems.append(time_problem)
    size_problem = _size_problem(size, max_bytes)
    if size_problem:
        problems.append(size_problem)
    file_type: FileType | None = None
    if size > 0:
        file_type = sniff(head or b"")
        if not file_type.accepted:
            problems.append(Problem("content", file_type.rejection()))
    return UploadDecision(
        store=parts.store or UNASSIGNED_STORE,
        camera=parts.camera or UNASSIGNED_CAMERA,
        recorded_at=recorded_at,
        file_type=file_type,
        problems=tuple(problems),
    )


def upload_key(store: str, camera: str, recorded_at: str | datetime, extension: str) -> str:
    """The drop-folder key of a recording, or UploadRejected naming every rule it breaks."""
    problems: list[Problem] = []
    for value, what in ((store, "store"), (camera, "camera")):
        problem = _id_problem(value, what)
        if problem:
            problems.append(Problem(what, problem))
    moment = _parse_request_time(recorded_at, problems)
    ext = extension.lower().lstrip(".")
    if ext not in EXTENSIONS:
        problems.append(Problem("extension", f"the extension {extension!r} is not accepted: use mp4 or mov"))
    if problems:
        raise UploadRejected(problems)
    assert moment is not None
    return f"{UPLOADS_PREFIX}{store}/{camera}/{_basic(moment)}.{ext}"


def _parse_request_time(recorded_at: str | datetime, problems: list[Problem]) -> datetime | None:
    if isinstance(recorded_at, datetime):
        if recorded_at.tzinfo is None:
            problems.append(Problem("recorded_at", "the recording time has no time zone: give it in UTC (Z)"))
            return None
        return _whole_seconds(recorded_at)
    try:
        return _whole_seconds(parse_iso(recorded_at))
    except TimeFormatError as exc:
        problems.append(Problem("recorded_at", f"the recording time is not valid: {exc}"))
        return None


@dataclass(frozen=True)
class UploadRequest:
    key: str
    content_type: str
    extension: str
    recorded_at: str  # UTC ISO 8601, whole seconds
    size: int


def validate_upload_request(
    *,
    store: str,
    camera: str,
    recorded_at: str | datetime,
    content_type: str,
    size: int,
    max_bytes: int,
    now: datetime,
) -> UploadRequest:
    """What `POST /uploads` checks before handing out a presigned URL: the rules the ingest Lambda
    applies to the object later (ids, time, size, type), so an accepted request is not rejected
    afterwards for anything but its bytes. Raises UploadRejected with every problem found."""
    problems: list[Problem] = []
    for value, what in ((store, "store"), (camera, "camera")):
        problem = _id_problem(value, what)
        if problem:
            problems.append(Problem(what, problem))
    moment = _parse_request_time(recorded_at, problems)
    if moment is not None:
        range_problem = _time_range_problem(moment, now, "requested")
        if range_problem:
            problems.append(Problem("recorded_at", range_problem))
    mime = content_type.split(";", maxsplit=1)[0].strip().lower()
    extension = CONTENT_TYPES.get(mime)
    if extension is None:
        accepted = " or ".join(CONTENT_TYPES)
        problems.append(
            Problem("content_type", f"the content type {content_type!r} is not accepted: use {accepted}")
        )
    size_problem = _size_problem(size, max_bytes)
    if size_problem:
        problems.append(size_problem)
    if problems:
        raise UploadRejected(problems)
    assert moment is not None and extension is not None
    key = upload_key(store, camera, moment, extension)
    return UploadRequest(
        key=key,
        content_type=EXTENSIONS[extension],
        extension=extension,
        recorded_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        size=size,
    )
