"""Time expressions on the command line: durations (10m, 2h30m) and moments (ISO, 1h ago)."""

from __future__ import annotations

import datetime as dt
import re

from hybridops.errors import BadInput

_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str, *, option: str = "duration") -> dt.timedelta:
    """`90s`, `10m`, `2h30m`, `1d` -> timedelta; BadInput if malformed or zero."""
    value = text.strip().lower()
    match = _DURATION_RE.match(value)
    if not value or not match or not any(match.groups()):
        raise BadInput(f"{option} {text!r}: expected a duration like 30s, 10m, 2h30m or 1d")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    delta = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if delta.total_seconds() <= 0:
        raise BadInput(f"{option} {text!r}: must be longer than zero")
    return delta


def parse_since(
    text: str, *, now: dt.datetime | None = None, option: str = "--since"
) -> dt.datetime:
    """A duration back from now (`1h`) or an ISO-8601 moment (naive = local time)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    value = text.strip()
    if _DURATION_RE.match(value.lower()) and value:
        return now - parse_duration(value, option=option)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"{option} {text!r}: expected a duration (10m, 2h) or an ISO time (2026-01-14T09:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(dt.timezone.utc)
