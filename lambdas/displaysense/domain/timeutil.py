"""UTC time as the pipeline writes it: ISO 8601, whole seconds in keys, milliseconds in records."""

from __future__ import annotations

import re
from datetime import UTC, datetime

MINUTE_S = 60

_BASIC = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{1,6}))?Z$")


class TimeFormatError(ValueError):
    pass


def parse_iso(text: str) -> datetime:
    """ISO 8601 in the basic (20261124T140000Z) or extended (2026-11-24T14:00:00Z) form.

    A time without a zone is refused rather than guessed: footage from a store in another zone
    would land hours off.
    """
    raw = text.strip()
    basic = _BASIC.match(raw)
    if basic:
        y, mo, d, h, mi, s, frac = basic.groups()
        micro = int((frac or "0").ljust(6, "0"))
        try:
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=UTC)
        except ValueError as exc:
            raise TimeFormatError(f"{text!r} is not a valid date and time: {exc}") from None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TimeFormatError(
            f"{text!r} is not an ISO 8601 time (e.g. 20261124T140000Z or 2026-11-24T14:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        raise TimeFormatError(f"{text!r} has no time zone: add Z for UTC or an offset such as +01:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-01:00 is a valid ISO 8601 text whose UTC
        # instant falls outside the years datetime holds: a bad time, not a crash of the caller.
        raise TimeFormatError(f"{text!r} is outside the years 1 to 9999 in UTC") from None


def epoch_s(moment: datetime) -> int:
    return int(moment.timestamp())


def iso_s(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
