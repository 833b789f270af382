"""hybridops' `logs.recent` as an SSM `aws:executeScript` handler (Python 3.8+, boto3).

The newest `limit` events matching a CloudWatch Logs filter pattern in the last `minutes`,
across log groups, in timestamp order (FilterLogEvents, paged; throttling waited out), and how
many matched in all. The window is cut into the same time slices hybridops reads, and the
groups of a slice are merged by timestamp as hybridops merges them; hybridops fetches slices
four at a time, this script one after the other (the same events, in the same order).

InputPayload: the action's inputs (groups; minutes, default 10; pattern, default ""; limit,
default 20; region, default primary) and the environment's settings hybridops' AWS clients use:
primary_region, secondary_region (to resolve region: primary|secondary), and optionally
aws_max_attempts (default 5) and aws_read_timeout_s (default 30).
Returns {"count", "events": [{"timestamp", "group", "stream", "message"}]}, as hybridops does.
"""

from __future__ import annotations

import heapq
import re
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config

ACTION = "logs.recent"
THROTTLE_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "Throttling"}
)
# Below this a window is fetched in one piece: slicing a short window only adds requests.
MIN_SLICE_MS = 15 * 60 * 1000
MAX_SLICES = 32
PAGE_SIZE = 2500
PARALLEL = 4


class BadInput(Exception):
    """Bad input; nothing was changed (hybridops: exit 2)."""


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

REQUIRED = object()
FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "groups": ("list[str]", REQUIRED, {}),
    "minutes": ("float", 10, {"gt": 0, "le": 1440}),
    "pattern": ("str", "", {}),
    "limit": ("int", 20, {"ge": 1, "le": 10000}),
    "region": ("str", "primary", {}),
}
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
_INT_TEXT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")
_BOUNDS = {"gt": "greater than", "ge": "greater than or equal to", "le": "less than or equal to"}


class ValidationError(Exception):
    """Inputs hybridops' action model rejects (hybridops: exit 2)."""


def _invalid(where: str, message: str) -> ValidationError:
    return ValidationError(f"action {ACTION!r}: input {where}: {message}")


def _convert(where: str, kind: str, value: Any) -> Any:
    """One value as pydantic's lax mode converts it (numbers from text, booleans from words)."""
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "str":
        if isinstance(value, str):
            return value
        raise _invalid(where, "Input should be a valid string")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        unreadable = ", unable to interpret input" if isinstance(value, (int, str)) else ""
        raise _invalid(where, "Input should be a valid boolean" + unreadable)
    if kind == "int":
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise _invalid(where, "Input should be a finite number")
            if not value.is_integer():
                raise _invalid(
                    where, "Input should be a valid integer, got a number with a fractional part"
                )
            return int(value)
        if isinstance(value, str):
            if _INT_TEXT.fullmatch(value.strip()):
                return int(value.strip().split(".")[0])
            raise _invalid(
                where, "Input should be a valid integer, unable to parse string as an integer"
            )
        raise _invalid(where, "Input should be a valid integer")
    if kind == "float":
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                if value.strip().isascii():
                    return float(value.strip())
            except ValueError:
                pass
            raise _invalid(
                where, "Input should be a valid number, unable to parse string as a number"
            )
        raise _invalid(where, "Input should be a valid number")
    if kind == "list[str]":
        if not isinstance(value, (list, tuple)):
            raise _invalid(where, "Input should be a valid list")
        return [_convert(f"{where}.{i}", "str", item) for i, item in enumerate(value)]
    choices = kind.split("|")
    if isinstance(value, str) and value in choices:
        return value
    raise _invalid(where, "Input should be " + " or ".join(repr(c) for c in choices))


def _inputs(events: Any) -> dict[str, Any]:
    """The action's inputs from the InputPayload: converted, checked, defaults filled in."""
    if not isinstance(events, dict):
        raise ValidationError(f"action {ACTION!r}: the InputPayload must be a mapping")
    out: dict[str, Any] = {}
    for name, (kind, default, bounds) in FIELDS.items():
        if name not in events:
            if default is REQUIRED:
                raise _invalid(name, "Field required")
            out[name] = list(default) if isinstance(default, list) else default
            continue
        value = _convert(name, kind, events[name])
        for bound, limit in bounds.items():
            if value is None:
                break
            if bound == "gt":
                within = value > limit
            else:
                within = value >= limit if bound == "ge" else value <= limit
            if not within:  # NaN is within nothing, as for pydantic
                raise _invalid(name, f"Input should be {_BOUNDS[bound]} {limit}")
        out[name] = value
    return out


# -- AWS clients, as hybridops builds its own ------------------------------------------------


def _region(events: dict[str, Any], which: str) -> str:
    """`primary`/`secondary`: the environment's region, from the payload; else a region name."""
    if which in ("", "primary"):
        key = "primary_region"
    elif which == "secondary":
        key = "secondary_region"
    else:
        return which
    region = events.get(key)
    if not isinstance(region, str) or not region:
        raise ValueError(f"the InputPayload has no {key}: the exported document passes it")
    return region


def _client(events: dict[str, Any], service: str, region: str) -> Any:
    """A boto3 client with hybridops' retries (adaptive) and timeouts."""
    config = Config(
        retries={
            "mode": "adaptive",
            "total_max_attempts": int(events.get("aws_max_attempts") or 5),
        },
        connect_timeout=10.0,
        read_timeout=float(events.get("aws_read_timeout_s") or 30.0),
    )
    return boto3.client(service, region_name=region, config=config)


# -- the action ------------------------------------------------------------------------------


def _is_throttle(exc: BaseException) -> bool:
    """True for the error codes AWS uses to say 'slow down'."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code in THROTTLE_CODES


def events_of(
    client: Any, group: str, start_ms: int, end_ms: int, pattern: str
) -> Iterator[dict[str, Any]]:
    """FilterLogEvents events of one group, page after page; throttling is waited out."""
    token: str | None = None
    delay = 0.5
    while True:
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "startTime": start_ms,
            "endTime": end_ms,
            # Ignored (always true) by AWS since 2019; some emulators still need it to sort.
            "interleaved": True,
            "limit": PAGE_SIZE,
        }
        if pattern:
            kwargs["filterPattern"] = pattern
        if token:
            kwargs["nextToken"] = token
        try:
            page = client.filter_log_events(**kwargs)
        except Exception as exc:
            if _is_throttle(exc):
                time.sleep(delay)
                delay = min(delay * 2, 20.0)
                continue
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "ResourceNotFoundException":
                raise BadInput(f"log group {group!r} does not exist") from None
            raise
        delay = 0.5
        for e in page.get("events", []):
            yield {
                "timestamp": e["timestamp"],
                "group": group,
                "stream": e["logStreamName"],
                "message": e.get("message", ""),
            }
        next_token = page.get("nextToken")
        if not next_token or next_token == token:
            return
        token = next_token


def slices(start_ms: int, end_ms: int, parallel: int) -> list[tuple[int, int]]:
    """Split an inclusive window into consecutive inclusive slices, as hybridops does."""
    span = end_ms - start_ms + 1
    count = max(1, min(MAX_SLICES, span // MIN_SLICE_MS, parallel * 4 if parallel > 1 else 1))
    size = -(-span // count)
    out = []
    lo = start_ms
    while lo <= end_ms:
        hi = min(end_ms, lo + size - 1)
        out.append((lo, hi))
        lo = hi + 1
    return out


def search(
    client: Any, groups: list[str], start_ms: int, end_ms: int, pattern: str
) -> Iterator[dict[str, Any]]:
    """Every matching event of every group: slice by slice, each slice's groups merged."""
    for lo, hi in slices(start_ms, end_ms, PARALLEL):
        sources = [events_of(client, group, lo, hi, pattern) for group in groups]
        if len(sources) == 1:
            yield from sources[0]
        else:
            yield from heapq.merge(*sources, key=lambda event: event["timestamp"])


def handler(events: Any, context: Any) -> dict[str, Any]:
    """The SSM entry point: the step's InputPayload in, the action's outputs back."""
    inputs = _inputs(events)
    client = _client(events, "logs", _region(events, inputs["region"]))
    end = int(time.time() * 1000)
    start = end - int(inputs["minutes"] * 60_000)
    # Only the newest `limit` are kept, so a noisy window never fills memory.
    newest: deque[dict[str, Any]] = deque(maxlen=inputs["limit"])
    count = 0
    for event in search(client, inputs["groups"], start, end, inputs["pattern"]):
        count += 1
        newest.append(event)
    return {"count": count, "events": list(newest)}
