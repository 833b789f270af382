"""Logs Insights: start a query, wait for it with backoff (there is no waiter), read the rows."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hybridops.errors import BadInput, RemoteError, TimedOut, aws_error

TERMINAL = frozenset({"Complete", "Failed", "Cancelled", "Timeout", "Unknown"})
ROW_CAP = 10_000  # Insights never returns more rows than this
COMMANDS = frozenset(
    {
        "fields",
        "filter",
        "stats",
        "sort",
        "limit",
        "parse",
        "display",
        "dedup",
        "pattern",
        "diff",
        "unmask",
        "anomaly",
        "filterindex",
        "source",
    }
)
_PIPE_SPLIT = re.compile(r"\|(?=(?:[^\"'`]|\"[^\"]*\"|'[^']*'|`[^`]*`)*$)")


@dataclass
class InsightsResult:
    """A finished query: its rows (field -> value) and statistics."""

    query_id: str
    status: str
    rows: list[dict[str, str]]
    statistics: dict[str, float] = field(default_factory=dict)

    @property
    def capped(self) -> bool:
        """True when the result hit Insights' row cap (more rows matched than returned)."""
        return len(self.rows) >= ROW_CAP


def check_query(text: str) -> None:
    """Reject what is certainly not an Insights query before spending a request on it."""
    if not text.strip():
        raise BadInput("--query is empty")
    for quote in ('"', "'", "`"):
        if text.count(quote) % 2:
            raise BadInput(f"--query: unbalanced {quote} quote")
    if text.count("(") != text.count(")"):
        raise BadInput("--query: unbalanced parentheses")
    for segment in _PIPE_SPLIT.split(text):
        command = segment.strip().split(None, 1)[0].lower() if segment.strip() else ""
        if command not in COMMANDS:
            raise BadInput(
                f"--query: {command or 'an empty segment'!r} is not an Insights command"
                f" (expected one of: {', '.join(sorted(COMMANDS))})"
            )


def rows_of(results: list[list[dict[str, str]]]) -> list[dict[str, str]]:
    """GetQueryResults' list-of-field-lists as dicts, without the @ptr bookkeeping field."""
    return [
        {cell["field"]: cell.get("value", "") for cell in row if cell.get("field") != "@ptr"}
        for row in results
    ]


def run_query(
    client: Any,
    groups: list[str],
    start_s: int,
    end_s: int,
    query: str,
    *,
    limit: int = ROW_CAP,
    timeout_s: float = 300.0,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_status: Callable[[str, float, dict[str, float]], None] | None = None,
    first_poll_s: float = 0.5,
    max_poll_s: float = 5.0,
) -> InsightsResult:
    """Run a query to a terminal state: rows, else TimedOut (query stopped) or RemoteError."""
    started = clock()
    try:
        query_id = client.start_query(
            logGroupNames=groups,
            startTime=start_s,
            endTime=end_s,
            queryString=query,
            limit=min(limit, ROW_CAP),
        )["queryId"]
    except Exception as exc:
        error = aws_error(exc)
        if error.get("Code") == "ResourceNotFoundException":
            raise BadInput(f"log group not found: {error.get('Message') or groups}") from None
        if error.get("Code") == "MalformedQueryException":
            raise RemoteError(f"Insights rejected the query: {error.get('Message')}") from None
        raise
    delay = first_poll_s
    while True:
        response = client.get_query_results(queryId=query_id)
        status = response.get("status", "Unknown")
        statistics = {k: float(v) for k, v in response.get("statistics", {}).items()}
        elapsed = clock() - started
        if on_status is not None:
            on_status(status, elapsed, statistics)
        if status in TERMINAL:
            if status != "Complete":
                raise RemoteError(f"Insights query {query_id} ended {status}")
            return InsightsResult(query_id, status, rows_of(response["results"]), statistics)
        if elapsed + delay > timeout_s:
            # Stopping our own query frees one of the account's concurrent-query slots.
            # It may have just finished; the timeout stands either way.
            with contextlib.suppress(Exception):
                client.stop_query(queryId=query_id)
            raise TimedOut(f"Insights query {query_id} still {status} after {timeout_s:g}s")
        sleep(delay)
        delay = min(delay * 2, max_poll_s)
