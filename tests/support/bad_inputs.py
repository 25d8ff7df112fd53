"""The bad-input corpus: uploads and API requests that must each get their documented refusal.

This module is data. `tests/integration/bad_input/` runs every case through local mode (the AWS
emulator, the real ingest and results handlers, the Rekognition stand-in, the local API Gateway)
and checks that each gets the outcome written here while nothing already stored changes;
docs/reliability.md ("Bad input") reports the figures.

Upload outcomes (docs/architecture.md, "Drop folder" and "Ingest"):

- REJECTED: registered with status REJECTED, listed under `store`/`camera` (`_unassigned` when the
  key has no valid one), its reason containing every fragment of `reason`: what was found and
  what is accepted;
- FAILED: the first bytes look like MP4, so ingest queues the video and starts its jobs; the
  Rekognition stand-in cannot read the file and fails the job with Rekognition's own message
  ("Unsupported codec/format."), which the video shows as its reason;
- IGNORED: not an upload at all (outside `uploads/`, which the bucket notification filters out,
  or the console's folder marker): no video, nothing stored.

API outcomes: the status, and the `error.parameter` of the API's error body; or, for API
Gateway's own refusals (the handler never runs), its `{"message": ...}` body. A query parameter
a route does not take is refused like a malformed one (400 naming it), never ignored.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from importlib.resources import files

# -- shared facts of the run

SAMPLE = (files("displaysense_local") / "samples" / "storefront-walkby.mp4").read_bytes()
# The local mode of the corpus is started with this limit (DS_MAX_VIDEO_BYTES), so that the
# "too large" case needs 2 MiB rather than 10 GiB, while the 0.93 MiB sample still fits.
MAX_VIDEO_BYTES = 2 * 1024 * 1024
API_KEY = "bad-input-key"

# Recording times relative to today, so that the valid ones never turn into "in the future" and the
# baseline stays inside the API's default ranges.
_NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
BASE_TIME = (_NOW - timedelta(days=2)).strftime("%Y%m%dT%H%M%SZ")  # the baseline's recordings
T = (_NOW - timedelta(days=3)).strftime("%Y%m%dT%H%M%SZ")  # a valid time for corpus keys
FUTURE = (_NOW + timedelta(days=3650)).strftime("%Y%m%dT%H%M%SZ")

# What is stored before the corpus runs: one analysed video (metrics, passes, archived pages) and
# one rejected upload. The corpus must change none of it.
BASE_STORE = "base-store"
BASELINE: dict[str, bytes] = {
    f"uploads/{BASE_STORE}/window/{BASE_TIME}.mp4": SAMPLE,
    f"uploads/{BASE_STORE}/door/{BASE_TIME}.mp4": b"a note, not footage\n",
}

STORE = "bad-store"  # corpus uploads whose store is valid are listed here
UNASSIGNED = "_unassigned"
LAYOUT = "uploads/<store>/<camera>/<recorded-at>.<mp4|mov>"
ID_RULE = "1–64 characters of a-z, 0-9 and '-'"
ACCEPTED = "DisplaySense accepts MP4 or MOV"
UNSUPPORTED = "Unsupported codec/format."  # Rekognition's StatusMessage, as the stand-in gives it


# -- bytes


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


MP4_HEAD = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41")  # valid ftyp, nothing else
TEXT = b"Camera 3 was offline on Tuesday; footage follows tomorrow.\n"
MPEG_TS = (b"\x47\x40\x00\x10" + b"\xff" * 184) * 8
MATROSKA = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska" + bytes(200)
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + bytes(200)
AVI = b"RIFF\x00\x10\x00\x00AVI LIST\x00\x00\x00\x00hdrlavih" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
HEIC = _box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + bytes(200)
M4A = _box(b"ftyp", b"M4A \x00\x00\x02\x00M4A isom") + bytes(200)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(200)
ZIP = b"PK\x03\x04\x14\x00\x00\x00" + bytes(200)
RAW_H264 = b"\x00\x00\x00\x01\x67\x42\xc0\x1e" + bytes(200)
BAD_BRAND = struct.pack(">I", 24) + b"ftyp\x00\x01\x02\x03" + bytes(200)
NOISE = bytes((i * 7919 + 13) % 251 for i in range(4096))  # deterministic, no known signature
# QuickTime padding atoms with no movie atom after them: eight bytes any file may start with by chance
PADDING_ONLY = _box(b"free", bytes(24)) + TEXT
# Cut after 64 KiB: the `ftyp` box is intact (ingest's first-bytes check passes) but the `moov` box,
# at the end of this file, is gone.
TRUNCATED_MP4 = SAMPLE[: 64 * 1024]
# Whole file, but the `moov` box renamed: nothing describes the video track any more.
_MOOV = SAMPLE.rindex(b"moov")
CORRUPT_MP4 = SAMPLE[:_MOOV] + b"junk" + SAMPLE[_MOOV + 4 :]
TOO_LARGE = MP4_HEAD + bytes(MAX_VIDEO_BYTES + 1 - len(MP4_HEAD))


# -- uploads


class Outcome(StrEnum):
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    IGNORED = "IGNORED"


class Via(StrEnum):
    S3 = "S3 PutObject"  # a camera gateway, the console or a presigned PUT
    DROP = "drop folder"  # a file in local mode's drop folder (its path below it is the key)


@dataclass(frozen=True)
class UploadCase:
    name: str
    category: str
    key: str  # the object key as stored (what an S3 event carries URL-encoded)
    body: bytes
    outcome: Outcome
    store: str = ""  # where the video is listed (REJECTED and FAILED)
    camera: str = ""
    reason: tuple[str, ...] = ()  # fragments the video's reason must contain
    metadata: dict[str, str] = field(default_factory=dict)  # x-amz-meta-*
    via: Via = Via.S3


def _rejected(
    name: str,
    category: str,
    key: str,
    body: bytes,
    where: tuple[str, str],
    *reason: str,
    metadata: dict[str, str] | None = None,
    via: Via = Via.S3,
) -> UploadCase:
    return UploadCase(name, category, key, body, Outcome.REJECTED, *where, reason, metadata or {}, via)


LAYOUTS = "wrong key layout"
PATHS = "path tricks"
IDS = "bad ids"
ENCODING = "URL-encoding edge cases"
TIMES = "bad timestamps"
METADATA = "x-amz-meta-recorded-at variants"
CONTENT = "non-video bytes"
BROKEN = "truncated and corrupt MP4"
SIZES = "empty and oversize"

LONG_ID = "a" * 65
# Over S3's 1024-byte key limit: AWS refuses it at PutObject; the emulator stores it, and then the
# pipeline must still reject rather than fail on it.
VERY_LONG_KEY = f"uploads/{'s' * 1000}/cam-01/{T}.mp4"

# A table: one case per line or two, aligned by hand.
# fmt: off
UPLOADS: tuple[UploadCase, ...] = (
    # Layout
    _rejected("one folder level", LAYOUTS, f"uploads/{STORE}/{T}.mp4", MP4_HEAD, (STORE, UNASSIGNED),
              "has 1 folder level below uploads/", LAYOUT),
    _rejected("three folder levels", LAYOUTS, f"uploads/{STORE}/cam-01/extra/{T}.mp4", MP4_HEAD,
              (STORE, "cam-01"), "has 3 folder levels", LAYOUT),
    _rejected("no folder", LAYOUTS, f"uploads/{T}.mp4", MP4_HEAD, (UNASSIGNED, UNASSIGNED),
              "has 0 folder levels", LAYOUT),
    _rejected("extension .mkv on MP4 bytes", LAYOUTS, f"uploads/{STORE}/cam-ext/{T}.mkv", MP4_HEAD,
              (STORE, "cam-ext"), "ends in '.mkv'", "use .mp4 or .mov"),
    _rejected("no extension", LAYOUTS, f"uploads/{STORE}/cam-ext/{T}", MP4_HEAD, (STORE, "cam-ext"),
              "has no extension", "use .mp4 or .mov"),
    UploadCase("prefix in another case (Uploads/)", LAYOUTS, f"Uploads/{STORE}/cam-01/{T}.mp4", MP4_HEAD,
               Outcome.IGNORED),
    UploadCase("folder marker (console 'create folder')", LAYOUTS, f"uploads/{STORE}/cam-01/", b"",
               Outcome.IGNORED),
    # Path tricks
    _rejected("'..' as the camera", PATHS, f"uploads/{STORE}/../{T}.mp4", MP4_HEAD, (STORE, UNASSIGNED),
              "the camera '..' is not a valid id", ID_RULE),
    _rejected("'..' climbing out of uploads/", PATHS, f"uploads/../{STORE}/cam-01/{T}.mp4", MP4_HEAD,
              (UNASSIGNED, STORE), "has 3 folder levels", "the store '..' is not a valid id"),
    _rejected("'//' (empty camera)", PATHS, f"uploads/{STORE}//{T}.mp4", MP4_HEAD, (STORE, UNASSIGNED),
              "the camera '(empty)' is not a valid id", ID_RULE),
    _rejected("'.' as the store", PATHS, f"uploads/./cam-01/{T}.mp4", MP4_HEAD, (UNASSIGNED, "cam-01"),
              "the store '.' is not a valid id"),
    UploadCase("Windows separators", PATHS, f"uploads\\{STORE}\\cam-01\\{T}.mp4", MP4_HEAD, Outcome.IGNORED),
    _rejected("key over S3's 1024-byte limit", PATHS, VERY_LONG_KEY, MP4_HEAD, (UNASSIGNED, "cam-01"),
              "is not a valid id", ID_RULE),
    # Ids
    _rejected("store with capitals and a space", IDS, f"uploads/Bad Store/cam-01/{T}.mp4", MP4_HEAD,
              (UNASSIGNED, "cam-01"), "the store 'Bad Store' is not a valid id", "e.g. 'bad-store'",
              via=Via.DROP),
    _rejected("camera with '+'", IDS, f"uploads/{STORE}/cam+1/{T}.mp4", MP4_HEAD, (STORE, UNASSIGNED),
              "the camera 'cam+1' is not a valid id", "e.g. 'cam-1'", via=Via.DROP),
    _rejected("non-ASCII store and camera", IDS, f"uploads/bäckerei/kamera-süd/{T}.mp4", MP4_HEAD,
              (UNASSIGNED, UNASSIGNED), "the store 'bäckerei'", "the camera 'kamera-süd'", ID_RULE,
              via=Via.DROP),
    _rejected("Cyrillic homoglyph in the store", IDS, f"uploads/bad-\u0455tore/cam-01/{T}.mp4", MP4_HEAD,
              (UNASSIGNED, "cam-01"), "the store 'bad-\u0455tore' is not a valid id"),
    _rejected("zero-width space in the camera", IDS, f"uploads/{STORE}/cam\u200b01/{T}.mp4", MP4_HEAD,
              (STORE, UNASSIGNED), "is not a valid id", ID_RULE),
    _rejected("tab in the camera", IDS, f"uploads/{STORE}/cam\t01/{T}.mp4", MP4_HEAD, (STORE, UNASSIGNED),
              "the camera 'cam\\t01' is not a valid id"),
    _rejected("store of 65 characters", IDS, f"uploads/{LONG_ID}/cam-01/{T}.mp4", MP4_HEAD,
              (UNASSIGNED, "cam-01"), f"the store '{LONG_ID}' is not a valid id", ID_RULE),
    _rejected("store starting with '-'", IDS, f"uploads/-store/cam-01/{T}.mp4", MP4_HEAD,
              (UNASSIGNED, "cam-01"), "the store '-store' is not a valid id",
              "starting with a letter or digit"),
    # URL encoding: S3 events carry keys URL-encoded ('+' for a space); ingest decodes exactly once.
    _rejected("literal '%20' in the store", ENCODING, f"uploads/bad%20store/cam-01/{T}.mp4", MP4_HEAD,
              (UNASSIGNED, "cam-01"), "the store 'bad%20store' is not a valid id"),
    _rejected("literal '%2F' instead of a slash", ENCODING, f"uploads/{STORE}%2Fcam-01/{T}.mp4", MP4_HEAD,
              (UNASSIGNED, UNASSIGNED), "has 1 folder level", f"the store '{STORE}%2Fcam-01'"),
    _rejected("malformed escape '%zz'", ENCODING, f"uploads/{STORE}/cam%zz/{T}.mp4", MP4_HEAD,
              (STORE, UNASSIGNED), "the camera 'cam%zz' is not a valid id"),
    _rejected("'%' and spaces in a drop-folder file name", ENCODING,
              f"uploads/{STORE}/cam-drop/100% done.mp4", MP4_HEAD, (STORE, "cam-drop"),
              "the recording time is unknown", "x-amz-meta-recorded-at",
              via=Via.DROP),
    # Times in the key
    _rejected("no time in the file name", TIMES, f"uploads/{STORE}/cam-time/window.mp4", MP4_HEAD,
              (STORE, "cam-time"), "the recording time is unknown", "(e.g. uploads/store-001/cam-01/"),
    _rejected("31 November", TIMES, f"uploads/{STORE}/cam-time/20261131T100000Z.mp4", MP4_HEAD,
              (STORE, "cam-time"), "'20261131T100000Z' in the key is not valid", "day is out of range"),
    _rejected("hour 25", TIMES, f"uploads/{STORE}/cam-time/20261124T250000Z.mp4", MP4_HEAD,
              (STORE, "cam-time"), "'20261124T250000Z' in the key is not valid"),
    _rejected("no time zone", TIMES, f"uploads/{STORE}/cam-time/20261124T100000.mp4", MP4_HEAD,
              (STORE, "cam-time"), "has no time zone", "add Z for UTC"),
    _rejected("ten years ahead", TIMES, f"uploads/{STORE}/cam-time/{FUTURE}.mp4", MP4_HEAD,
              (STORE, "cam-time"), "is in the future", "check the year and the time zone"),
    _rejected("camera clock never set (1970)", TIMES, f"uploads/{STORE}/cam-time/19700101T000000Z.mp4",
              MP4_HEAD, (STORE, "cam-time"), "is before 2000", "the camera's clock is probably not set"),
    # x-amz-meta-recorded-at
    _rejected("metadata in day/month/year", METADATA, f"uploads/{STORE}/cam-meta/a.mp4", MP4_HEAD,
              (STORE, "cam-meta"), "x-amz-meta-recorded-at '24/11/2026' is not valid",
              "e.g. 20261124T140000Z", metadata={"recorded-at": "24/11/2026"}),
    _rejected("metadata disagreeing with the key", METADATA, f"uploads/{STORE}/cam-meta/{T}.mp4", MP4_HEAD,
              (STORE, "cam-meta"), "but the metadata x-amz-meta-recorded-at says", "make them agree",
              metadata={"recorded-at": "2020-01-01T00:00:00Z"}),
    _rejected("metadata without a zone", METADATA, f"uploads/{STORE}/cam-meta/b.mp4", MP4_HEAD,
              (STORE, "cam-meta"), "has no time zone", metadata={"recorded-at": "2026-11-20T10:00:00"}),
    _rejected("metadata beyond year 1 in UTC", METADATA, f"uploads/{STORE}/cam-meta/c.mp4", MP4_HEAD,
              (STORE, "cam-meta"), "outside the years 1 to 9999",
              metadata={"recorded-at": "0001-01-01T00:00:00+01:00"}),
    _rejected("metadata ten years ahead", METADATA, f"uploads/{STORE}/cam-meta/d.mp4", MP4_HEAD,
              (STORE, "cam-meta"), "(from x-amz-meta-recorded-at) is in the future",
              metadata={"recorded-at": "2099-01-01T00:00:00Z"}),
    _rejected("metadata of blanks only", METADATA, f"uploads/{STORE}/cam-meta/e.mp4", MP4_HEAD,
              (STORE, "cam-meta"), "the recording time is unknown", metadata={"recorded-at": "   "}),
    _rejected("oversize metadata (1.9 KB value)", METADATA, f"uploads/{STORE}/cam-meta/f.mp4", MP4_HEAD,
              (STORE, "cam-meta"), "x-amz-meta-recorded-at '2026", "is not valid",
              metadata={"recorded-at": "2026-11-20T10:00:00Z" + "0" * 1900}),
    # Bytes
    _rejected("text file", CONTENT, f"uploads/{STORE}/cam-bytes/{T}.mp4", TEXT, (STORE, "cam-bytes"),
              "the file is a text file", ACCEPTED),
    _rejected("MPEG-TS", CONTENT, f"uploads/{STORE}/cam-ts/{T}.mp4", MPEG_TS, (STORE, "cam-ts"),
              "MPEG transport stream (MPEG-TS", ACCEPTED),
    _rejected("Matroska", CONTENT, f"uploads/{STORE}/cam-mkv/{T}.mp4", MATROSKA, (STORE, "cam-mkv"),
              "a Matroska video (MKV)", ACCEPTED),
    _rejected("WebM named .mov", CONTENT, f"uploads/{STORE}/cam-webm/{T}.mov", WEBM, (STORE, "cam-webm"),
              "a WebM video", ACCEPTED),
    _rejected("AVI", CONTENT, f"uploads/{STORE}/cam-avi/{T}.mp4", AVI, (STORE, "cam-avi"),
              "an AVI video", ACCEPTED),
    _rejected("JPEG still", CONTENT, f"uploads/{STORE}/cam-jpeg/{T}.mp4", JPEG, (STORE, "cam-jpeg"),
              "a JPEG image", ACCEPTED),
    _rejected("PNG still", CONTENT, f"uploads/{STORE}/cam-png/{T}.mp4", PNG, (STORE, "cam-png"),
              "a PNG image", ACCEPTED),
    _rejected("HEIC (ISO media, image brand)", CONTENT, f"uploads/{STORE}/cam-heic/{T}.mp4", HEIC,
              (STORE, "cam-heic"), "a HEIC image ('ftyp' brand 'heic')", ACCEPTED),
    _rejected("M4A (ISO media, audio brand)", CONTENT, f"uploads/{STORE}/cam-m4a/{T}.mp4", M4A,
              (STORE, "cam-m4a"), "an MPEG-4 audio file (M4A)", ACCEPTED),
    _rejected("PDF", CONTENT, f"uploads/{STORE}/cam-pdf/{T}.mp4", PDF, (STORE, "cam-pdf"),
              "a PDF document", ACCEPTED),
    _rejected("ZIP", CONTENT, f"uploads/{STORE}/cam-zip/{T}.mp4", ZIP, (STORE, "cam-zip"),
              "a ZIP archive", ACCEPTED),
    _rejected("raw H.264 without a container", CONTENT, f"uploads/{STORE}/cam-h264/{T}.mp4", RAW_H264,
              (STORE, "cam-h264"), "a raw video stream with no container", ACCEPTED),
    _rejected("ftyp with an unreadable brand", CONTENT, f"uploads/{STORE}/cam-brand/{T}.mp4", BAD_BRAND,
              (STORE, "cam-brand"), "unreadable 'ftyp' brand", ACCEPTED),
    _rejected("unknown bytes", CONTENT, f"uploads/{STORE}/cam-noise/{T}.mp4", NOISE, (STORE, "cam-noise"),
              "of an unknown type (first bytes 0d", ACCEPTED),
    _rejected("a 'free' atom, then text", CONTENT, f"uploads/{STORE}/cam-free/{T}.mov", PADDING_ONLY,
              (STORE, "cam-free"), "it starts with a QuickTime 'free' atom but has no 'moov' or 'mdat' atom",
              ACCEPTED),
    # Broken MP4: past ingest's first-bytes check, failed by Rekognition
    UploadCase("MP4 cut after 64 KiB (no moov)", BROKEN, f"uploads/{STORE}/cam-cut/{T}.mp4", TRUNCATED_MP4,
               Outcome.FAILED, STORE, "cam-cut", ("ended FAILED", UNSUPPORTED)),
    UploadCase("MP4 with its moov box destroyed", BROKEN, f"uploads/{STORE}/cam-moov/{T}.mp4", CORRUPT_MP4,
               Outcome.FAILED, STORE, "cam-moov", ("ended FAILED", UNSUPPORTED)),
    UploadCase("ftyp box only (32 bytes)", BROKEN, f"uploads/{STORE}/cam-ftyp/{T}.mp4", MP4_HEAD,
               Outcome.FAILED, STORE, "cam-ftyp", ("ended FAILED", UNSUPPORTED)),
    # Sizes
    _rejected("zero bytes", SIZES, f"uploads/{STORE}/cam-size/{T}.mp4", b"", (STORE, "cam-size"),
              "the file is empty (0 bytes)", ACCEPTED, "upload the recording again"),
    _rejected("zero bytes in the drop folder", SIZES, f"uploads/{STORE}/cam-size/{BASE_TIME}.mov", b"",
              (STORE, "cam-size"), "the file is empty (0 bytes)", ACCEPTED, via=Via.DROP),
    _rejected("one byte over DS_MAX_VIDEO_BYTES", SIZES, f"uploads/{STORE}/cam-big/{T}.mp4", TOO_LARGE,
              (STORE, "cam-big"), "more than the limit of 2.0 MiB", "split the recording"),
    # Over stored data
    _rejected("text over the analysed baseline's key", CONTENT,
              f"uploads/{BASE_STORE}/window/{BASE_TIME}.mp4", TEXT, (BASE_STORE, "window"),
              "the file is a text file", ACCEPTED),
)
# fmt: on


# -- API requests

GATEWAY = "(API Gateway)"  # `parameter` of a refusal API Gateway answers itself
NO_KEY = ""


@dataclass(frozen=True)
class ApiCase:
    name: str
    route: str  # the documented route the request aims at
    method: str
    target: str  # below the stage, already URL-encoded as it goes on the wire
    status: int
    parameter: str | None  # error.parameter, or GATEWAY with `message` the gateway's text
    body: bytes | None = None
    content_type: str | None = "application/json"
    key: str = API_KEY
    message: str | None = None  # only for GATEWAY refusals

    @property
    def id(self) -> str:
        """Unique in the corpus (names repeat across routes)."""
        return f"{self.route}: {self.name}"


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


UPLOAD = {
    "store": "store-001",
    "camera": "cam-01",
    "recorded_at": "2026-11-20T10:00:00Z",
    "content_type": "video/mp4",
    "size": 1000,
}
STORES = "GET /stores"
METRICS = "GET /stores/{store}/metrics"
VIDEOS = "GET /videos"
VIDEO = "GET /videos/{video_id}"
UPLOAD_ROUTE = "POST /uploads"
COMPARE = "GET /compare"
PAGES = "GET / /docs /openapi.json"
OTHER = "no route"
M = f"/stores/{BASE_STORE}/metrics"
HEX = "0123456789abcdef" * 2


def _get(name: str, route: str, target: str, status: int, parameter: str | None) -> ApiCase:
    return ApiCase(name, route, "GET", target, status, parameter, content_type=None)


def _post(
    name: str, body: bytes, status: int, parameter: str | None, content_type: str = "application/json"
) -> ApiCase:
    return ApiCase(name, UPLOAD_ROUTE, "POST", "/uploads", status, parameter, body, content_type)


def _refused(
    name: str, route: str, method: str, target: str, key: str, message: str = "Forbidden"
) -> ApiCase:
    body = _json(UPLOAD) if method == "POST" else None
    return ApiCase(name, route, method, target, 403, GATEWAY, body, key=key, message=message)


# fmt: off
REQUESTS: tuple[ApiCase, ...] = (
    # Keys: API Gateway refuses before the handler runs
    _refused("no key", STORES, "GET", "/stores", NO_KEY),
    _refused("wrong key", STORES, "GET", "/stores", "not-the-key"),
    _refused("wrong key on metrics", METRICS, "GET", M, API_KEY[:-1]),
    _refused("key in another case", VIDEOS, "GET", "/videos", API_KEY.upper()),
    _refused("key in the query string, not the header", VIDEO, "GET", f"/videos/{HEX}?x-api-key={API_KEY}",
             NO_KEY),
    _refused("no key on POST", UPLOAD_ROUTE, "POST", "/uploads", NO_KEY),
    _refused("wrong key on compare", COMPARE, "GET", f"/compare?a={BASE_STORE}&b={BASE_STORE}", "x"),
    _refused("POST to the public document", PAGES, "POST", "/openapi.json", NO_KEY,
             "Missing Authentication Token"),
    _refused("DELETE on the docs page, even with the key", PAGES, "DELETE", "/docs", API_KEY,
             "Missing Authentication Token"),
    # GET /stores
    ApiCase("POST /stores", STORES, "POST", "/stores", 405, None, b"{}"),
    _get("a parameter it does not take", STORES, f"/stores?store={BASE_STORE}", 400, "store"),
    # GET /stores/{store}/metrics
    _get("store with capitals and a space", METRICS, "/stores/Bad%20Store/metrics", 400, "store"),
    _get("store '§' (the router refuses it)", METRICS, "/stores/%C2%A7/metrics", 400, "store"),
    _get("path traversal in the store", METRICS, "/stores/..%2F..%2Fetc/metrics", 404, None),
    _get("unknown store", METRICS, "/stores/no-such-store/metrics", 404, "store"),
    _get("unknown camera", METRICS, f"{M}?camera=no-such-camera", 404, "camera"),
    _get("granularity=minute", METRICS, f"{M}?granularity=minute", 400, "granularity"),
    _get("granularity given twice", METRICS, f"{M}?granularity=hour&granularity=day", 400, "granularity"),
    _get("tz not a zone", METRICS, f"{M}?tz=Mars%2FOlympus_Mons", 400, "tz"),
    _get("tz path traversal", METRICS, f"{M}?tz=..%2F..%2Fetc%2Fpasswd", 400, "tz"),
    _get("tz NUL byte", METRICS, f"{M}?tz=%00", 400, "tz"),
    _get("from 30 February", METRICS, f"{M}?from=2026-02-30", 400, "from"),
    _get("from with invalid UTF-8", METRICS, f"{M}?from=%FF%FE", 400, "from"),
    _get("from with a malformed escape", METRICS, f"{M}?from=2026-11-%ZZ", 400, "from"),
    _get("from year 10000", METRICS, f"{M}?from=10000-01-01", 400, "from"),
    _get("from after to", METRICS, f"{M}?from=2026-11-20&to=2026-11-10", 422, "from"),
    _get("range of six years", METRICS, f"{M}?from=2020-01-01&to=2026-01-01&granularity=week", 422, "from"),
    _get("format=xml", METRICS, f"{M}?format=xml", 400, "format"),
    _get("previous=maybe", METRICS, f"{M}?previous=maybe", 400, "previous"),
    _get("camera misspelt (camer)", METRICS, f"{M}?camer=window", 400, "camer"),
    _get("parameter in another case (Granularity)", METRICS, f"{M}?Granularity=day", 400, "Granularity"),
    _get("x-api-key as a query parameter too", METRICS, f"{M}?x-api-key={API_KEY}", 400, "x-api-key"),
    # GET /videos
    _get("limit=0", VIDEOS, "/videos?limit=0", 400, "limit"),
    _get("limit=201", VIDEOS, "/videos?limit=201", 400, "limit"),
    _get("limit=ten", VIDEOS, "/videos?limit=ten", 400, "limit"),
    _get("status=DONE", VIDEOS, "/videos?status=DONE", 400, "status"),
    _get("camera without store", VIDEOS, "/videos?camera=window", 400, "camera"),
    _get("store _UNASSIGNED", VIDEOS, "/videos?store=_UNASSIGNED", 400, "store"),
    _get("forged cursor", VIDEOS, f"/videos?store={BASE_STORE}&cursor=eyJwayI6IlNMT1RTIn0", 400, "cursor"),
    _get("cursor of 2049 characters", VIDEOS, "/videos?cursor=" + "A" * 2049, 400, "cursor"),
    _get("from after to", VIDEOS, "/videos?from=2026-11-20&to=2026-11-10", 422, "from"),
    _get("status misspelt (stat)", VIDEOS, f"/videos?store={BASE_STORE}&stat=FAILED", 400, "stat"),
    _get("page instead of cursor", VIDEOS, f"/videos?store={BASE_STORE}&page=2", 400, "page"),
    # GET /videos/{video_id}
    _get("id not hex", VIDEO, "/videos/not-a-video-id", 400, "video_id"),
    _get("id in capitals", VIDEO, f"/videos/{HEX.upper()}", 400, "video_id"),
    _get("id of 31 digits", VIDEO, f"/videos/{HEX[:31]}", 400, "video_id"),
    _get("id '§'", VIDEO, "/videos/%C2%A7", 400, "video_id"),
    _get("unknown id", VIDEO, f"/videos/{HEX}", 404, "video_id"),
    _get("a parameter it does not take", VIDEO, f"/videos/{HEX}?fields=all", 400, "fields"),
    # POST /uploads
    _post("body not JSON", b"{store: store-001}", 400, "body"),
    _post("body a JSON array", b"[]", 400, "body"),
    _post("body not UTF-8", b'{"store": "caf\xe9"}', 400, "body"),
    _post("body nested 10,000 deep", b"[" * 10_000 + b"]" * 10_000, 400, "body"),
    _post("empty object", b"{}", 400, "store"),
    _post("unknown field", _json({**UPLOAD, "bucket": "other"}), 400, "bucket"),
    _post("size -1", _json({**UPLOAD, "size": -1}), 400, "size"),
    _post("size 1e30", b'{"store":"store-001","camera":"cam-01","recorded_at":"2026-11-20T10:00:00Z",'
          b'"content_type":"video/mp4","size":1e30}', 400, "size"),
    _post("size NaN", b'{"store":"store-001","camera":"cam-01","recorded_at":"2026-11-20T10:00:00Z",'
          b'"content_type":"video/mp4","size":NaN}', 400, "size"),
    _post("size over DS_MAX_VIDEO_BYTES", _json({**UPLOAD, "size": MAX_VIDEO_BYTES + 1}), 413, "size"),
    _post("content_type video/x-matroska", _json({**UPLOAD, "content_type": "video/x-matroska"}), 415,
          "content_type"),
    _post("Content-Type text/plain", _json(UPLOAD), 415, "Content-Type", "text/plain"),
    _post("multipart without a boundary", _json(UPLOAD), 415, "Content-Type", "multipart/form-data"),
    _post("store 'Bad Store'", _json({**UPLOAD, "store": "Bad Store"}), 422, "store"),
    _post("store '../../etc'", _json({**UPLOAD, "store": "../../etc"}), 422, "store"),
    _post("recorded_at ten years ahead", _json({**UPLOAD, "recorded_at": "2099-01-01T00:00:00Z"}), 422,
          "recorded_at"),
    _post("recorded_at beyond year 1 in UTC", _json({**UPLOAD, "recorded_at": "0001-01-01T00:00:00+01:00"}),
          422, "recorded_at"),
    _post("recorded_at without a zone", _json({**UPLOAD, "recorded_at": "2026-11-20T10:00:00"}), 422,
          "recorded_at"),
    ApiCase("a query parameter on POST", UPLOAD_ROUTE, "POST", "/uploads?dry_run=1", 400, "dry_run",
            _json(UPLOAD)),
    ApiCase("body over 10 MB", UPLOAD_ROUTE, "POST", "/uploads", 413, GATEWAY, b" " * (10 * 1024 * 1024 + 1),
            message="Request Too Long"),
    # GET /compare
    _get("a missing", COMPARE, f"/compare?b={BASE_STORE}", 400, "a"),
    _get("a not a side", COMPARE, f"/compare?a=store%201&b={BASE_STORE}", 400, "a"),
    _get("a with half a period", COMPARE, f"/compare?a={BASE_STORE}%402026-11-01..&b={BASE_STORE}", 400, "a"),
    _get("b path traversal", COMPARE, f"/compare?a={BASE_STORE}&b=..%2F..%2Fetc", 400, "b"),
    _get("a of 201 characters", COMPARE, f"/compare?a={'s' * 201}&b={BASE_STORE}", 400, "a"),
    _get("a unknown store", COMPARE, f"/compare?a=no-such-store&b={BASE_STORE}", 404, "a"),
    _get("from after to", COMPARE, f"/compare?a={BASE_STORE}&b={BASE_STORE}&from=2026-11-20&to=2026-11-10",
         422, "from"),
    _get("a third side", COMPARE, f"/compare?a={BASE_STORE}&b={BASE_STORE}&c={BASE_STORE}", 400, "c"),
    _get("granularity, which it does not take", COMPARE,
         f"/compare?a={BASE_STORE}&b={BASE_STORE}&granularity=day", 400, "granularity"),
    # Public pages
    _get("dashboard asset path traversal", PAGES, "/?asset=..%2F..%2Fetc%2Fpasswd", 404, "asset"),
    _get("dashboard asset of 65 characters", PAGES, "/?asset=" + "a" * 65, 400, "asset"),
    _get("dashboard asset misspelt (assets)", PAGES, "/?assets=app.js", 400, "assets"),
    _get("the document in another format", PAGES, "/openapi.json?format=yaml", 400, "format"),
    # No route
    _get("unknown path", OTHER, "/no-such-route", 404, None),
    ApiCase("PUT on /videos", VIDEOS, "PUT", "/videos", 405, None, b"{}"),
)
# fmt: on

# Results are looked up by these; a repeated one would make two cases share one answer.
assert len({c.id for c in REQUESTS}) == len(REQUESTS), "ApiCase ids repeat"
assert len({c.name for c in UPLOADS}) == len({c.key for c in UPLOADS}) == len(UPLOADS), "UploadCase repeats"
