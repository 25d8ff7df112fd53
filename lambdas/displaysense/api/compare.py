"""The sides of an A/B comparison: `<store>[/<camera>][@<from>..<to>]`.

Examples: `store-001` (the whole store), `store-001/cam-02` (one camera),
`store-001/cam-02@2026-11-01..2026-11-08` (one camera in its own period; the dates are local to
`tz`). A side without a period takes the request's `from` and `to`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from displaysense.api.errors import bad_request, shown

SIDE_SYNTAX = "<store>[/<camera>][@<from>..<to>]"
_ID = r"(?:_unassigned|[a-z0-9][a-z0-9-]{0,63})"
_SIDE = re.compile(rf"^(?P<store>{_ID})(?:/(?P<camera>{_ID}))?(?:@(?P<from>[^@]*?)\.\.(?P<to>[^@]*))?$")


@dataclass(frozen=True)
class SideSpec:
    text: str
    store: str
    camera: str | None
    start: str | None
    end: str | None


def parse_side(text: str, parameter: str) -> SideSpec:
    match = _SIDE.match(text.strip())
    if match is None:
        raise bad_request(
            parameter,
            f"{shown(text)} is not a side: use {SIDE_SYNTAX}, e.g. store-001, store-001/cam-02 or "
            "store-001/cam-02@2026-11-01..2026-11-08",
        )
    start, end = match.group("from"), match.group("to")
    if match.group("from") is not None and (not start or not end):
        raise bad_request(parameter, f"{shown(text)}: a period needs both ends, <from>..<to>")
    return SideSpec(text.strip(), match.group("store"), match.group("camera"), start or None, end or None)
