"""Log commands as library calls: search/follow, KPI queries and the daily review."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from hybridops.aws.logs import LogEvent, LogQuery
from hybridops.errors import BadInput

if TYPE_CHECKING:
    from hybridops.logs.kpi import KpiResult
    from hybridops.logs.report import DailyReport
    from hybridops.runtime import Runtime

StatusCallback = Callable[[str, float, dict[str, float]], None]


@dataclass
class Search:
    """A validated `logs search` request."""

    groups: list[str]
    start: dt.datetime
    end: dt.datetime | None  # None: follow from start
    pattern: str = ""
    stream_prefix: str | None = None
    limit: int | None = None
    grep: list[re.Pattern[str]] = field(default_factory=list)
    grep_v: list[re.Pattern[str]] = field(default_factory=list)
    request_id: str | None = None
    interval_s: float = 2.0
    parallel: int = 4


def compile_patterns(patterns: list[str], option: str) -> list[re.Pattern[str]]:
    """Regexes for --grep/--grep-v; BadInput naming the bad one."""
    out = []
    for text in patterns:
        try:
            out.append(re.compile(text))
        except re.error as exc:
            raise BadInput(f"{option} {text!r}: invalid regular expression ({exc})") from None
    return out


def server_pattern(pattern: str, request_id: str | None) -> str:
    """The pattern sent to CloudWatch: a request ID becomes a quoted term unless --filter is set."""
    if pattern or not request_id:
        return pattern
    if '"' in request_id:
        raise BadInput(f"--request-id {request_id!r}: must not contain a double quote")
    return f'"{request_id}"'


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def search_events(
    runtime: Runtime, request: Search, *, on_throttle: Callable[[float], None] | None = None
) -> Iterator[LogEvent]:
    """Matching events in timestamp order; with `end=None`, followed until runtime.stop."""
    from hybridops.aws import logs as aws_logs

    def client_for(_group: str) -> Any:
        return runtime.clients.client("logs")

    pattern = server_pattern(request.pattern, request.request_id)
    if request.end is None:
        query = LogQuery(request.groups, _ms(request.start), 0, pattern, request.stream_prefix)
        events = aws_logs.follow(
            client_for,
            query,
            now_ms=lambda: int(time.time() * 1000),
            interval_s=request.interval_s,
            stop=runtime.stop,
            sleep=runtime.stop.wait,
            on_throttle=on_throttle,
        )
    else:
        query = LogQuery(
            request.groups, _ms(request.start), _ms(request.end), pattern, request.stream_prefix
        )
        events = aws_logs.search(
            client_for, query, parallel=request.parallel, on_throttle=on_throttle
        )
    selected = (e for e in events if _wanted(e, request, pattern))
    return islice(selected, request.limit) if request.limit else selected


def _wanted(event: LogEvent, request: Search, pattern: str) -> bool:
    text = event.message
    if (
        request.request_id
        and pattern != f'"{request.request_id}"'
        and request.request_id not in text
    ):
        return False
    if request.grep and not any(p.search(text) for p in request.grep):
        return False
    return not any(p.search(text) for p in request.grep_v)


def resolve_engine(engine: str, insights_available: bool) -> str:
    """`auto` is Insights where the environment has it, else local."""
    if engine == "auto":
        return "insights" if insights_available else "local"
    return engine


def run_kpi(
    runtime: Runtime,
    name: str | None,
    custom: str | None,
    groups: list[str],
    start: dt.datetime,
    end: dt.datetime,
    *,
    engine: str = "auto",
    threshold_ms: float | None = None,
    top: int = 20,
    timeout_s: float | None = None,
    on_status: StatusCallback | None = None,
) -> KpiResult:
    """A named KPI (or a custom Insights query) over the window, by Insights or locally."""
    from hybridops.logs import kpi

    settings = runtime.env.settings.logs
    engine = resolve_engine(engine, settings.insights)
    threshold = threshold_ms if threshold_ms is not None else settings.slow_request_ms
    timeout = timeout_s if timeout_s is not None else settings.insights_timeout_s
    if custom is not None:
        from hybridops.aws.insights import check_query

        if engine == "local":
            raise BadInput("--engine local computes the named queries only; --query needs Insights")
        check_query(custom)
        result = _insights(runtime, groups, start, end, custom, timeout, on_status)
        return kpi.KpiResult(
            "custom",
            "insights",
            {"count": len(result.rows)},
            list(result.rows),
            result.statistics,
            result.capped,
        )
    assert name is not None
    if engine == "local":
        events = search_events(runtime, Search(groups, start, end))
        summary, rows = kpi.local(name, events, settings.fields, threshold_ms=threshold, top=top)
        return kpi.KpiResult(name, "local", summary, rows)
    rows_query, summary_query = kpi.insights_queries(
        name, settings.fields, threshold_ms=threshold, top=top
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        rows_future = pool.submit(
            _insights, runtime, groups, start, end, rows_query, timeout, on_status
        )
        summary_future = (
            pool.submit(_insights, runtime, groups, start, end, summary_query, timeout, None)
            if summary_query
            else None
        )
        rows_result = rows_future.result()
        summary_result = summary_future.result() if summary_future else None
    summary, rows = kpi.from_insights(
        name,
        rows_result.rows,
        summary_result.rows if summary_result else None,
        threshold_ms=threshold,
        fields=settings.fields,
    )
    return kpi.KpiResult(
        name, "insights", summary, rows, rows_result.statistics, rows_result.capped
    )


def _insights(
    runtime: Runtime,
    groups: list[str],
    start: dt.datetime,
    end: dt.datetime,
    query: str,
    timeout_s: float,
    on_status: StatusCallback | None,
) -> Any:
    from hybridops.aws.insights import run_query

    return run_query(
        runtime.clients.client("logs"),
        groups,
        int(start.timestamp()),
        int(end.timestamp()),
        query,
        timeout_s=timeout_s,
        sleep=runtime.stop.wait,
        on_status=on_status,
    )


def daily_report(
    runtime: Runtime,
    groups: list[str],
    start: dt.datetime,
    end: dt.datetime,
    *,
    engine: str = "auto",
    on_status: StatusCallback | None = None,
) -> DailyReport:
    """The morning review of the window against the SLO targets in config."""
    from hybridops.logs import report

    settings = runtime.env.settings.logs
    engine = resolve_engine(engine, settings.insights)
    if engine == "local":
        numbers = report.numbers_from_events(
            search_events(runtime, Search(groups, start, end)), settings.fields
        )
        return report.judge(start, end, "local", numbers, settings.slo)
    result = _insights(
        runtime,
        groups,
        start,
        end,
        report.insights_query(settings.fields),
        settings.insights_timeout_s,
        on_status,
    )
    numbers = report.numbers_from_insights(result.rows[0] if result.rows else {})
    return report.judge(start, end, "insights", numbers, settings.slo)
