"""One time grammar for every --since/--until/--end and duration option.

Durations: `10m`, `2h30m`, `1d`, `1w`, `90 min`, `5 minutes`, `1 hour 30 minutes`.
Moments: `now`; a duration ago (`10m`, `1h ago`, `5 minutes ago`, `-10m`); a time of day
`23:40` (today, or yesterday when that is still to come); `today|yesterday [HH:MM] [UTC]`; ISO
8601 (`2026-01-14T09:00Z`; without a zone: local time); `@EPOCH` (seconds since 1970, UTC).
Times of day are local unless `UTC`/`Z` follows.
"""

from __future__ import annotations

import datetime as dt
import re

from hybridops.errors import BadInput

_UNITS = {
    "w": 604800,
    "wk": 604800,
    "week": 604800,
    "weeks": 604800,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
}
_PART_RE = re.compile(r"(\d+)\s*([a-z]+)")
_DURATION_RE = re.compile(r"^(?:\d+\s*[a-z]+[\s,]*)+$")

# Ten years: longer than any CloudWatch Logs retention (3653 days), and far enough from
# datetime's limits that `now - duration` or `now + duration` never overflows.
MAX_DURATION_DAYS = 3653
_MAX_SECONDS = MAX_DURATION_DAYS * 86400

# CloudWatch and the audit trail count milliseconds since 1970: nothing earlier can be asked
# for. The latest leaves a year of headroom for report arithmetic before datetime's year 9999.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
LATEST = dt.datetime(9999, 1, 1, tzinfo=dt.timezone.utc)
_RANGE_TEXT = "out of range: from 1970-01-01 to 9998-12-31 (UTC)"


class OutOfRange(BadInput):
    """A well-formed time that lies outside what can be used (kept apart from syntax errors)."""


def _what(option: str, text: str) -> str:
    return f"{option} {text!r}" if option else repr(text)


def _seconds(value: str) -> int | None:
    """Seconds in a duration text, or None if it is not one (`2h30m`, `90 min`, `1 week`)."""
    if not _DURATION_RE.match(value):
        return None
    total = 0
    for number, unit in _PART_RE.findall(value):
        if unit not in _UNITS:
            return None
        # Python ints do not overflow, but timedelta does: a 5000-digit count is out of range.
        total += int(number) * _UNITS[unit] if len(number) <= 20 else 10**30
    return total


def parse_duration(text: str, *, option: str = "duration") -> dt.timedelta:
    """`90s`, `10m`, `2h30m`, `1d`, `1w`, `90 min` -> timedelta; BadInput if malformed or zero."""
    total = _seconds(text.strip().lower())
    if total is None:
        raise BadInput(
            f"{_what(option, text)}: expected a duration like 30s, 10m, 2h30m, 1d, 1w or 90 min"
        )
    if total <= 0:
        raise BadInput(f"{_what(option, text)}: must be longer than zero")
    if total > _MAX_SECONDS:
        raise OutOfRange(
            f"{_what(option, text)}: longer than the limit of {MAX_DURATION_DAYS}d (ten years)"
        )
    return dt.timedelta(seconds=total)


def _in_range(moment: dt.datetime, text: str, option: str) -> dt.datetime:
    if not EARLIEST <= moment < LATEST:
        raise OutOfRange(f"{_what(option, text)}: {_RANGE_TEXT}")
    return moment


def parse_since(
    text: str, *, now: dt.datetime | None = None, option: str = "--since"
) -> dt.datetime:
    """A moment in UTC, in the one grammar (kept for callers that say "since")."""
    return parse_moment(text, now=now, option=option)


_DAY_TIME_RE = re.compile(
    r"^(?:(today|yesterday)\s*)?(?:(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(utc|z|local)?$"
)
_AGO_RE = re.compile(r"^(?:-\s*(.+)|(.+?)\s+ago)$")
SINCE_HELP = (
    "Start: 10m, 2h30m, 1h ago, -10m, 23:40, 'yesterday 18:00 UTC', ISO 8601 or @EPOCH"
    " (local time unless UTC/Z)."
)
GRAMMAR = (
    "now, a duration ago (10m, 2h30m, 1h ago, -10m, 5 minutes ago), a time of day (23:40,"
    " yesterday 18:00 UTC), an ISO time (2026-01-14T09:00Z) or @EPOCH"
)


def parse_moment(
    text: str, *, now: dt.datetime | None = None, option: str = "--since"
) -> dt.datetime:
    """A moment, in UTC, from any form of the grammar above."""
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    value = " ".join(text.strip().lower().split())
    if value == "now":
        return now
    ago = _AGO_RE.match(value)
    back = _seconds((ago.group(1) or ago.group(2)).strip()) if ago else _seconds(value)
    if back is not None:
        return _in_range(now - parse_duration(str(back) + "s", option=option), text, option)
    if value.startswith("@"):
        return _epoch(value[1:], text, option)
    match = _DAY_TIME_RE.match(value)
    if match and (match.group(1) or match.group(2)):
        return _time_of_day(match, now, text, option)
    return _iso(text.strip(), option)


def _epoch(digits: str, text: str, option: str) -> dt.datetime:
    if not digits.isdigit() or len(digits) > 15:
        raise BadInput(f"{_what(option, text)}: @EPOCH takes whole seconds since 1970")
    return _in_range(dt.datetime.fromtimestamp(int(digits), dt.timezone.utc), text, option)


def _time_of_day(match: re.Match[str], now: dt.datetime, text: str, option: str) -> dt.datetime:
    day, hour, minute, second, zone = match.groups()
    utc = zone in ("utc", "z")
    base = now if utc else now.astimezone()  # local wall clock unless UTC is explicit
    if day == "yesterday":
        base -= dt.timedelta(days=1)
    try:
        moment = base.replace(
            hour=int(hour or 0), minute=int(minute or 0), second=int(second or 0), microsecond=0
        )
    except ValueError:
        raise BadInput(f"{_what(option, text)}: no such time of day") from None
    if day is None and moment > base:
        moment -= dt.timedelta(days=1)  # 23:40 said at 01:00 means last night
    return moment.astimezone(dt.timezone.utc)


def _iso(value: str, option: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadInput(f"{_what(option, value)}: expected {GRAMMAR}") from None
    try:
        if moment.tzinfo is None:
            moment = moment.astimezone()
        moment = moment.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):  # year 1 or 9999 pushed past datetime's range
        raise OutOfRange(f"{_what(option, value)}: {_RANGE_TEXT}") from None
    return _in_range(moment, value, option)


def describe_moment(moment: dt.datetime, now: dt.datetime | None = None) -> str:
    """`2026-11-30 01:35:03 UTC (10m ago)`: a moment as output states it, zone named."""
    now = now or dt.datetime.now(dt.timezone.utc)
    ago = int((now - moment).total_seconds())
    when = moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    if ago < 0:
        return when
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if ago >= size:
            parts.append(f"{ago // size}{unit}")
            ago %= size
    return f"{when} ({''.join(parts[:2]) or 'just now'}{' ago' if parts else ''})"


def parse_window(
    since: str, until: str | None, *, now: dt.datetime | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """(start, end) in UTC from --since/--until; BadInput if the window is empty or reversed."""
    now = now or dt.datetime.now(dt.timezone.utc)
    start = parse_moment(since, now=now, option="--since")
    end = parse_moment(until, now=now, option="--until") if until else now
    if end <= start:
        raise BadInput(
            f"--until {until or 'now'!r} ({end:%Y-%m-%d %H:%M:%S}Z) is not after"
            f" --since {since!r} ({start:%Y-%m-%d %H:%M:%S}Z)"
        )
    return start, end
