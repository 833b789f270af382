"""Time expressions on the command line: durations (10m, 2h30m) and moments (ISO, 1h ago)."""

from __future__ import annotations

import datetime as dt
import re

from hybridops.errors import BadInput

_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")

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


def parse_duration(text: str, *, option: str = "duration") -> dt.timedelta:
    """`90s`, `10m`, `2h30m`, `1d` -> timedelta; BadInput if malformed, zero or over ten years."""
    value = text.strip().lower()
    match = _DURATION_RE.match(value)
    if not value or not match or not any(match.groups()):
        raise BadInput(f"{_what(option, text)}: expected a duration like 30s, 10m, 2h30m or 1d")
    groups = [g or "0" for g in match.groups()]
    # Python ints do not overflow, but timedelta and int() of a 5000-digit string do.
    if any(len(g) > 20 for g in groups):
        raise OutOfRange(f"{_what(option, text)}: longer than the limit of {MAX_DURATION_DAYS}d")
    days, hours, minutes, seconds = (int(g) for g in groups)
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
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
    """A duration back from now (`1h`) or an ISO-8601 moment (naive = local time)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    value = text.strip()
    if _DURATION_RE.match(value.lower()) and value:
        return _in_range(now - parse_duration(value, option=option), text, option)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"{_what(option, text)}: expected a duration (10m, 2h) or an ISO time"
            " (2026-01-14T09:00)"
        ) from None
    try:
        if moment.tzinfo is None:
            moment = moment.astimezone()
        moment = moment.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):  # year 1 or 9999 pushed past datetime's range
        raise OutOfRange(f"{_what(option, text)}: {_RANGE_TEXT}") from None
    return _in_range(moment, text, option)


_DAY_TIME_RE = re.compile(
    r"^(today|yesterday)(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?(?:\s+(utc|z|local))?$"
)


def parse_moment(
    text: str, *, now: dt.datetime | None = None, option: str = "--since"
) -> dt.datetime:
    """A moment, in UTC: `now`, `10m` (ago), `yesterday 18:00 [UTC]`, `today 09:00`, or ISO.

    Times without a zone are local; `UTC`/`Z` (or an ISO offset) makes them explicit.
    """
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    value = text.strip().lower()
    if value == "now":
        return now
    match = _DAY_TIME_RE.match(value)
    if match:
        day, hour, minute, second, zone = match.groups()
        tz = dt.timezone.utc if zone in ("utc", "z") else None
        base = now if tz else now.astimezone()  # local wall clock unless UTC is explicit
        if day == "yesterday":
            base -= dt.timedelta(days=1)
        try:
            moment = base.replace(
                hour=int(hour or 0),
                minute=int(minute or 0),
                second=int(second or 0),
                microsecond=0,
            )
        except ValueError:
            raise BadInput(f"{_what(option, text)}: no such time of day") from None
        return moment.astimezone(dt.timezone.utc)
    try:
        return parse_since(text, now=now, option=option)
    except OutOfRange:
        raise
    except BadInput:
        raise BadInput(
            f"{_what(option, text)}: expected now, a duration ago (10m, 2h30m), "
            "today/yesterday HH:MM [UTC], or an ISO time (2026-01-14T09:00Z)"
        ) from None


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
