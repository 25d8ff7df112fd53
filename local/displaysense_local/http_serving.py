"""The HTTP server under local mode's endpoints (the API gateway, the Rekognition stand-in)."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LocalHTTPServer(ThreadingHTTPServer):
    """A thread per request, and a listen backlog of an AWS endpoint's patience rather than
    socketserver's 5: under a burst (every Start*, Get*, API poll and probe at once, while the
    analysis keeps both cores busy) a full backlog resets connections, which AWS never does."""

    request_queue_size = 128
    daemon_threads = True
