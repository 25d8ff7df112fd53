"""Times and zones in query strings: ISO 8601, read in the store's zone when no offset is given."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from displaysense.api.errors import bad_request, shown
from displaysense.domain.timeutil import TimeFormatError, parse_iso

# Outside these years a time is a typo (and far-off years overflow datetime with an offset).
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")
# A '+' of an offset that arrived as a space (a query string written by hand, form-encoded).
_SPACE_OFFSET = re.compile(r" (\d{2}(?::?\d{2})?)$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_zone(name: str | None, parameter: str = "tz") -> tzinfo:
    """An IANA zone such as Europe/Berlin; UTC when not given."""
    if name is None or name in ("", "UTC", "Z", "Etc/UTC"):
        return UTC
    if len(name) > 64 or not _ZONE_NAME.match(name):
        raise bad_request(
            parameter, f"{shown(name)} is not a time zone name: use an IANA name such as Europe/Berlin"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise bad_request(
            parameter, f"unknown time zone {shown(name)}: use an IANA name such as Europe/Berlin or UTC"
        ) from None


def parse_time(text: str, *, parameter: str, tz: tzinfo) -> int:
    """Epoch seconds of an ISO 8601 date or date-time.

    A date (2026-11-24) is local midnight in `tz`; a date-time without an offset is local time in
    `tz`; one with Z or an offset is that instant. Basic format (20261124T140000Z) works too.
    """
    raw = _SPACE_OFFSET.sub(r"+\1", text.strip())
    if len(raw) > 40:
        raise bad_request(parameter, f"{shown(text)} is not an ISO 8601 time (too long)")
    try:
        if _DATE_ONLY.match(raw):
            moment = datetime.combine(date.fromisoformat(raw), time(), tzinfo=tz)
        else:
            try:
                moment = parse_iso(raw)
            except TimeFormatError:
                local = datetime.fromisoformat(raw)
                if local.tzinfo is not None:
                    raise
                moment = local.replace(tzinfo=tz)
        if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise ValueError("year out of range")
        return int(moment.astimezone(UTC).timestamp())
    except (ValueError, OverflowError, TimeFormatError):
        raise bad_request(
            parameter,
            f"{shown(text)} is not an ISO 8601 date or time between {EARLIEST_YEAR} and {LATEST_YEAR} "
            "(e.g. 2026-11-24, 2026-11-24T09:00 in the zone tz, or 2026-11-24T08:00:00Z)",
        ) from None


def local_iso(epoch_s: int, tz: tzinfo) -> str:
    """ISO 8601 with the zone's offset at that instant (Z for UTC)."""
    moment = datetime.fromtimestamp(epoch_s, tz)
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") and tz is UTC else text


def zone_name(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or "UTC"
