"""A folder on disk as the drop folder: `<drop-dir>/<store>/<camera>/<recorded-at>.mp4` is
uploaded to `uploads/<store>/<camera>/<recorded-at>.mp4` in the local bucket.

A file is uploaded once it has stopped growing (two scans with the same size and time), so a copy
in progress is never analysed half-written. A manifest under the data directory records each
uploaded file with its content hash, written only after the emulator's state holding the upload
is saved: restarting local mode neither analyses a video a second time nor forgets one. Changed
content is a new upload. Files of any name are uploaded: a bad layout is for the pipeline to
reject, with a reason the user sees in the dashboard, exactly as on AWS.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from displaysense.resources import UPLOADS_PREFIX

log = logging.getLogger("displaysense_local")
SOURCE_HASH = "displaysense-source-sha256"
# One part up to 5 GB: the object's ETag is then the MD5 of the file, as a camera's PUT gives.
_ONE_PART = TransferConfig(multipart_threshold=5 * 1024**3)
# Names of files that are still being written by common tools, and of hidden files.
_SKIPPED_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", "~")


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    stable: bool = False
    sha256: str | None = None
    uploaded: bool = False


class DropFolderWatcher:
    def __init__(
        self,
        folder: Path,
        s3: Any,
        bucket: str,
        manifest: Path,
        persist: Callable[[], object],
        interval_s: float = 1.0,
    ) -> None:
        self.folder = folder
        self.s3 = s3
        self.bucket = bucket
        self.manifest = manifest
        self.persist = persist  # saves the emulator state, so the manifest never runs ahead of it
        self.interval_s = interval_s
        self.uploads = 0
        self._seen: dict[Path, _Seen] = {}
        self._uploaded: dict[str, str] = (
            json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else {}
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="drop-folder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception:  # a bad file must not stop the watcher
                log.exception("scanning the drop folder %s failed", self.folder)
            self._stop.wait(self.interval_s)

    def scan(self) -> list[str]:
        """Upload what is new and complete; returns the keys uploaded by this scan."""
        uploaded = []
        present = set()
        for path in sorted(self.folder.rglob("*")):
            if not path.is_file() or _skipped(path):
                continue
            present.add(path)
            stat = path.stat()
            seen = self._seen.get(path)
            if seen is None or (seen.size, seen.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                self._seen[path] = _Seen(stat.st_size, stat.st_mtime_ns)  # changed: wait one scan
                continue
            if seen.uploaded:
                continue
            seen.sha256 = seen.sha256 or _sha256(path)
            relative = path.relative_to(self.folder).as_posix()
            if self._uploaded.get(relative) != seen.sha256:
                key = UPLOADS_PREFIX + relative
                self.s3.upload_file(
                    str(path),
                    self.bucket,
                    key,
                    ExtraArgs={"Metadata": {SOURCE_HASH: seen.sha256}},
                    Config=_ONE_PART,
                )
                self.persist()
                self._uploaded[relative] = seen.sha256
                self._save_manifest()
                self.uploads += 1
                uploaded.append(key)
                log.info("uploaded %s", key)
            seen.uploaded = True
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return uploaded

    def _save_manifest(self) -> None:
        partial = self.manifest.with_suffix(".partial")
        partial.write_text(json.dumps(self._uploaded, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(partial, self.manifest)


def _skipped(path: Path) -> bool:
    return path.name.startswith(".") or path.name.endswith(_SKIPPED_SUFFIXES)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
