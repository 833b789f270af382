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
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from ._shared import (  # script_for() writes these definitions in here
    REQUIRED,
    BadInput,
    _client,
    _inputs,
    _region,
)

ACTION = "logs.recent"
THROTTLE_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "Throttling"}
)
# Below this a window is fetched in one piece: slicing a short window only adds requests.
MIN_SLICE_MS = 15 * 60 * 1000
MAX_SLICES = 32
PAGE_SIZE = 2500
PARALLEL = 4


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "groups": ("list[str]", REQUIRED, {}),
    "minutes": ("float", 10, {"gt": 0, "le": 1440}),
    "pattern": ("str", "", {}),
    "limit": ("int", 20, {"ge": 1, "le": 10000}),
    "region": ("str", "primary", {}),
}


# -- AWS clients, as hybridops builds its own ------------------------------------------------


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
