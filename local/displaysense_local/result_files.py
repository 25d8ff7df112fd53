"""Saved Rekognition result pages on disk, read as the engine's page sources.

A path is a JSON file holding one Get* response page or an array of pages, or a directory whose
`*.json` files are read in name order. Reading starts over at each iteration, so the engine can
read the pages a second time when they are out of time order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

try:  # a faster parser when installed; the standard library's otherwise
    import orjson

    def _parse(data: bytes) -> Any:
        return orjson.loads(data)

    _JSON_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError, UnicodeDecodeError)
except ImportError:  # pragma: no cover - orjson is in requirements.txt
    import json

    def _parse(data: bytes) -> Any:
        return json.loads(data)

    _JSON_ERRORS = (json.JSONDecodeError, UnicodeDecodeError)


class ResultFileError(ValueError):
    """A result file cannot be used; the message names the file and what is wrong with it."""


def expand(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
            if not found:
                raise ResultFileError(f"{path}: directory holds no *.json result pages")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ResultFileError(f"{path}: no such file or directory")
    return files


class PageFiles:
    """The pages of some result files, in order; remembers which file each page came from."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = list(files)
        self.origins: list[str] = []  # origins[n - 1]: file of page n of the current reading

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.origins = []
        for path in self.files:
            try:
                document = _parse(path.read_bytes())
            except _JSON_ERRORS as exc:
                raise ResultFileError(f"{path}: not valid JSON ({exc})") from None
            except OSError as exc:
                raise ResultFileError(f"{path}: cannot be read ({exc.strerror})") from None
            pages = document if isinstance(document, list) else [document]
            for index, page in enumerate(pages):
                where = (
                    f"{path}" if len(pages) == 1 and not isinstance(document, list) else f"{path}[{index}]"
                )
                self.origins.append(where)
                yield page

    def origin(self, page_number: int) -> str:
        if 0 < page_number <= len(self.origins):
            return self.origins[page_number - 1]
        return "?"
