"""CloudWatch Logs reads: paged, time-sliced in parallel, merged in timestamp order, followed.

Memory stays flat: every (group, time slice) source holds at most one fetched page in its queue
while the consumer works through another, and only a few slices are fetched ahead.
"""

from __future__ import annotations

import heapq
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from hybridops.errors import BadInput, aws_error_code

THROTTLE_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "Throttling"}
)
# Below this a window is fetched in one piece: slicing a short window only adds requests.
MIN_SLICE_MS = 15 * 60 * 1000
MAX_SLICES = 32
# AWS caps a FilterLogEvents page at 10,000 events *or 1 MB* — about 3,000 typical JSON request
# lines — so asking for 2,500 costs few extra requests there, and keeps every buffered page (and
# so peak memory) the same size whether 50 thousand events match or 5 million.
PAGE_SIZE = 2500


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One log event and where it came from."""

    timestamp: int  # ms since the epoch
    group: str
    stream: str
    message: str
    event_id: str


@dataclass
class LogQuery:
    """What to read: groups, an inclusive window in ms, a server-side filter, a stream prefix."""

    groups: list[str]
    start_ms: int
    end_ms: int
    pattern: str = ""
    stream_prefix: str | None = None


def is_throttle(exc: BaseException) -> bool:
    """True for the error codes AWS uses to say 'slow down'."""
    return aws_error_code(exc) in THROTTLE_CODES


def pages(
    client: Any,
    group: str,
    start_ms: int,
    end_ms: int,
    *,
    pattern: str = "",
    stream_prefix: str | None = None,
    stop: threading.Event | None = None,
    sleep: Callable[[float], object] | None = None,
    on_throttle: Callable[[float], None] | None = None,
    max_backoff_s: float = 20.0,
    page_size: int | None = PAGE_SIZE,
) -> Iterator[list[LogEvent]]:
    """FilterLogEvents pages of one group; throttling is waited out, not fatal."""
    stop = stop or threading.Event()
    wait = sleep or stop.wait
    token: str | None = None
    delay = 0.5
    while not stop.is_set():
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "startTime": start_ms,
            "endTime": end_ms,
            # Ignored (always true) by AWS since 2019; some emulators still need it to sort.
            "interleaved": True,
        }
        if pattern:
            kwargs["filterPattern"] = pattern
        if stream_prefix:
            kwargs["logStreamNamePrefix"] = stream_prefix
        if token:
            kwargs["nextToken"] = token
        if page_size:
            kwargs["limit"] = page_size
        try:
            page = client.filter_log_events(**kwargs)
        except Exception as exc:
            if is_throttle(exc):
                if on_throttle is not None:
                    on_throttle(delay)
                wait(delay)
                delay = min(delay * 2, max_backoff_s)
                continue
            if aws_error_code(exc) == "ResourceNotFoundException":
                raise BadInput(f"log group {group!r} does not exist") from None
            raise
        delay = 0.5
        events = [
            LogEvent(e["timestamp"], group, e["logStreamName"], e.get("message", ""), e["eventId"])
            for e in page.get("events", [])
            # The prefix is also checked here: not every implementation honours it.
            if not stream_prefix or e["logStreamName"].startswith(stream_prefix)
        ]
        if events:
            yield events
        next_token = page.get("nextToken")
        if not next_token or next_token == token:
            return
        token = next_token


def slices(start_ms: int, end_ms: int, parallel: int) -> list[tuple[int, int]]:
    """Split an inclusive window into consecutive inclusive slices for parallel fetching."""
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


_END = object()


class _Source:
    """One (group, slice) fetched on its own thread into a one-page queue."""

    def __init__(self, produce: Callable[[], Iterator[list[LogEvent]]], stop: threading.Event):
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._stop = stop
        self._thread = threading.Thread(target=self._run, args=(produce,), daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self, produce: Callable[[], Iterator[list[LogEvent]]]) -> None:
        try:
            for page in produce():
                self._put(page)
                if self._stop.is_set():
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)

    def events(self) -> Iterator[LogEvent]:
        """The source's events in order; re-raises a fetch failure."""
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item


def search(
    client_for: Callable[[str], Any],
    query: LogQuery,
    *,
    parallel: int = 4,
    sleep: Callable[[float], object] | None = None,
    on_throttle: Callable[[float], None] | None = None,
    page_size: int | None = PAGE_SIZE,
) -> Iterator[LogEvent]:
    """Every matching event of every group, in timestamp order, streamed.

    Time slices are fetched `parallel` at a time ahead of the consumer; within a slice the
    groups are merged by timestamp. Closing the iterator (or Ctrl-C) stops the fetchers.
    """
    halt = threading.Event()
    windows = slices(query.start_ms, query.end_ms, parallel)

    def start(window: tuple[int, int]) -> list[_Source]:
        lo, hi = window

        def producer(group: str) -> Callable[[], Iterator[list[LogEvent]]]:
            return lambda: pages(
                client_for(group),
                group,
                lo,
                hi,
                pattern=query.pattern,
                stream_prefix=query.stream_prefix,
                stop=halt,
                sleep=sleep,
                on_throttle=on_throttle,
                page_size=page_size,
            )

        return [_Source(producer(group), halt) for group in query.groups]

    ahead = max(1, parallel)
    pending: list[list[_Source]] = [start(w) for w in windows[:ahead]]
    following = ahead
    try:
        while pending:
            sources = pending.pop(0)
            if following < len(windows):
                pending.append(start(windows[following]))
                following += 1
            if len(sources) == 1:
                yield from sources[0].events()
            else:
                yield from heapq.merge(*(s.events() for s in sources), key=attrgetter("timestamp"))
    finally:
        halt.set()


def follow(
    client_for: Callable[[str], Any],
    query: LogQuery,
    *,
    now_ms: Callable[[], int],
    interval_s: float = 2.0,
    lookback_ms: int = 30_000,
    stop: threading.Event,
    sleep: Callable[[float], object],
    on_throttle: Callable[[float], None] | None = None,
) -> Iterator[LogEvent]:
    """New events as they arrive, across groups, until `stop` is set.

    Each poll re-reads a short look-back window (late-arriving events carry older
    timestamps) and drops event IDs already printed, so nothing is shown twice. Streams
    created after the start are found because each poll searches the whole group.
    """
    cursor = query.start_ms
    seen: dict[str, int] = {}
    while not stop.is_set():
        end = now_ms()
        batch: list[LogEvent] = []
        for group in query.groups:
            for page in pages(
                client_for(group),
                group,
                max(query.start_ms, cursor - lookback_ms),
                end,
                pattern=query.pattern,
                stream_prefix=query.stream_prefix,
                stop=stop,
                sleep=sleep,
                on_throttle=on_throttle,
            ):
                batch.extend(e for e in page if e.event_id not in seen)
        batch.sort(key=attrgetter("timestamp"))
        for event in batch:
            seen[event.event_id] = event.timestamp
            yield event
        if batch:
            cursor = max(cursor, batch[-1].timestamp)
        horizon = cursor - lookback_ms
        for event_id in [k for k, ts in seen.items() if ts < horizon]:
            del seen[event_id]
        if stop.is_set():
            return
        sleep(interval_s)
