"""The dashboard's files, served by `GET /` itself.

API Gateway makes only `GET /`, `/docs` and `/openapi.json` public; any other path needs the API
key, which a browser cannot attach to a `<script src>`. So the page's own files are served from
`/` too, as `/?asset=<name>&v=<content hash>`: public, cacheable for good (the hash changes with
the content), and no path can reach a file outside this list.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"
ASSET_TYPES: dict[str, str] = {
    "app.js": "text/javascript; charset=utf-8",
    "styles.css": "text/css; charset=utf-8",
    "chart.umd.min.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
# The page itself is small and may change with a deployment: revalidate it every time.
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"
# Everything the page loads is its own: no CDN, no inline script. Chart.js sets canvas sizes as
# inline styles, hence 'unsafe-inline' for styles only.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    version: str


def asset(name: str) -> Asset | None:
    """The dashboard file `name`, or None. Checked before the cache: the names come from a public
    query string, and caching each one asked for would let anyone fill the memory."""
    if name not in ASSET_TYPES:
        return None
    return _load(name)


@cache
def _load(name: str) -> Asset:
    body = (DASHBOARD_DIR / name).read_text(encoding="utf-8")
    return Asset(body, ASSET_TYPES[name], hashlib.sha256(body.encode("utf-8")).hexdigest()[:16])


@cache
def page(api_auth: str = "API_KEY") -> str:
    """index.html with each `{{asset:<name>}}` replaced by its versioned URL and `{{api_auth}}` by
    how the data routes are guarded (the page asks for a key only when a key is what they need)."""
    html = (DASHBOARD_DIR / "index.html").read_text(encoding="utf-8")
    for name in ASSET_TYPES:
        html = html.replace("{{asset:" + name + "}}", f"?asset={name}&amp;v={_load(name).version}")
    return html.replace("{{api_auth}}", api_auth)
