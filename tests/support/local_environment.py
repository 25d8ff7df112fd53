"""os.environ, the handlers' wiring and their log streams as they were before an in-process local
mode: local mode sets AWS_ENDPOINT_URL and the DS_* variables for the handlers it imports, which
must not leak into later tests (moto's in-process mocks would then send their calls to a stopped
emulator)."""

from __future__ import annotations

import logging
import os


class LocalEnvironment:
    def __enter__(self) -> None:
        self._saved = dict(os.environ)
        self._streams = {
            handler: handler.stream
            for name in ("displaysense", "displaysense-api", "displaysense_local")
            for handler in logging.getLogger(name).handlers
            if isinstance(handler, logging.StreamHandler)
        }

    def __exit__(self, *exc: object) -> None:
        from displaysense.handlers import wiring

        os.environ.clear()
        os.environ.update(self._saved)
        wiring.install(None)
        for handler, stream in self._streams.items():
            handler.stream = stream
