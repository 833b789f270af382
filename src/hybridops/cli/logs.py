"""`hybridops logs`: search and follow across groups, Insights KPIs, the daily review."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.invocation import Invocation, invocation_of
from hybridops.timeparse import SINCE_HELP

if TYPE_CHECKING:
    import datetime as dt

    from rich.console import Console

    from hybridops.logs.kpi import KpiResult

app = group("Search, follow and query CloudWatch logs; the daily performance review.")
report_app = group("Reports over the logs.")
app.add_typer(report_app, name="report")


class Engine(str, enum.Enum):
    """Where KPIs are computed."""

    auto = "auto"
    insights = "insights"
    local = "local"


class ReportFormat(str, enum.Enum):
    """How a report is printed."""

    text = "text"
    markdown = "markdown"
    json = "json"


FormatOption = Annotated[
    ReportFormat | None,
    typer.Option("--format", help="text, markdown or json (default: text, json with -o json)."),
]


SinceOption = Annotated[
    str,
    typer.Option("--since", help=SINCE_HELP),
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="End, same grammar as --since (default: now).")
]
GroupOption = Annotated[
    list[str] | None,
    typer.Option("--group", "-g", help="Log group (repeatable; default: the environment's)."),
]


def _groups(invocation: Invocation, groups: list[str] | None) -> list[str]:
    from hybridops.errors import BadInput

    chosen = list(groups or invocation.runtime().env.settings.log_groups)
    if not chosen:
        raise BadInput("no log groups: pass --group or set log_groups in the environment")
    return chosen


def _window(since: str, until: str | None) -> tuple[dt.datetime, dt.datetime]:
    from hybridops.timeparse import parse_window

    return parse_window(since, until)


@app.command("search")
def search(
    ctx: typer.Context,
    since: SinceOption = "10m",
    until: UntilOption = None,
    filter_pattern: Annotated[
        str, typer.Option("--filter", help="CloudWatch filter pattern (evaluated by AWS).")
    ] = "",
    groups: GroupOption = None,
    stream_prefix: Annotated[
        str | None, typer.Option("--stream-prefix", help="Only streams starting with this.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, max=10_000_000, help="Stop after N events.")
    ] = None,
    grep: Annotated[
        list[str] | None, typer.Option("--grep", help="Keep lines matching this regex.")
    ] = None,
    grep_v: Annotated[
        list[str] | None, typer.Option("--grep-v", help="Drop lines matching this regex.")
    ] = None,
    request_id: Annotated[
        str | None, typer.Option("--request-id", help="One request, across every group.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep polling for new events until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.2, max=3600, help="Seconds between polls with --follow."),
    ] = 2.0,
    fields: Annotated[
        str | None, typer.Option("--fields", help="For JSON messages: show only these, a,b.")
    ] = None,
    parallel: Annotated[
        int, typer.Option("--parallel", min=1, max=16, help="Time slices fetched at once.")
    ] = 4,
) -> int:
    """Matching events from several groups, merged in time order (JSON Lines with -o json)."""
    from hybridops.aws.log_lines import LineFormatter, json_line
    from hybridops.errors import BadInput
    from hybridops.logs.run import Search, compile_patterns, search_events
    from hybridops.timeparse import parse_moment

    invocation = invocation_of(ctx)
    if follow and until:
        raise BadInput("--follow and --until cannot be combined: following has no end")
    if follow:
        start, end = parse_moment(since, option="--since"), None
    else:
        start, end = _window(since, until)
    request = Search(
        groups=[],
        start=start,
        end=end,
        pattern=filter_pattern,
        stream_prefix=stream_prefix,
        limit=limit,
        grep=compile_patterns(grep or [], "--grep"),
        grep_v=compile_patterns(grep_v or [], "--grep-v"),
        request_id=request_id,
        interval_s=interval,
        parallel=parallel,
    )
    request.groups = _groups(invocation, groups)
    terminal = invocation.terminal
    err = invocation.err_console()
    if not invocation.json:
        from hybridops.timeparse import describe_moment

        # The window as people check it, with its time zone named (input may have been local).
        until_text = (
            describe_moment(end) if until and end else ("now, following" if follow else "now")
        )
        err.print(
            f"{', '.join(request.groups)}: {describe_moment(start)} → {until_text}",
            markup=False,
            highlight=False,
        )

    def throttled(delay: float) -> None:
        err.print(f"throttled by CloudWatch Logs; retrying in {delay:g}s")

    if invocation.json:
        render = json_line
    else:
        chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
        render = LineFormatter(colour=terminal.colour(stderr=False), fields=chosen).line
    out = terminal.stdout
    shown = 0
    batch: list[str] = []

    def flush() -> None:
        # One write per batch: a write call per line cost more than formatting the line.
        if batch:
            batch.append("")
            out.write("\n".join(batch))
            batch.clear()
        out.flush()

    try:
        for event in search_events(invocation.runtime(), request, on_throttle=throttled):
            batch.append(render(event))
            shown += 1
            if len(batch) >= 500 or follow:
                flush()
    except KeyboardInterrupt:
        flush()
        if follow:  # Ctrl-C is how a follow ends
            return 0
        raise
    flush()
    if not shown and not invocation.json:
        err.print("no matching events")
    return 0


@app.command("query")
def query(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(help="latency, errors, throughput, top-errors or slow-requests."),
    ] = None,
    custom: Annotated[
        str | None, typer.Option("--query", "-q", help="Any Logs Insights query instead.")
    ] = None,
    since: SinceOption = "1h",
    until: UntilOption = None,
    groups: GroupOption = None,
    engine: Annotated[
        Engine, typer.Option("--engine", help="insights, local (exact, from raw events), auto.")
    ] = Engine.auto,
    threshold_ms: Annotated[
        float | None,
        typer.Option(
            "--threshold-ms", min=0, max=3_600_000, help="slow-requests: slower than this."
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=1000, help="Rows for top lists.")] = 20,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, max=3600, help="Seconds to wait for Insights."),
    ] = None,
) -> int:
    """A KPI over the window: P50/P95/P99/P99.9 latency, error rate, throughput, top errors."""
    from hybridops.errors import BadInput
    from hybridops.logs.kpi import NAMED
    from hybridops.logs.run import run_kpi

    invocation = invocation_of(ctx)
    if (name is None) == (custom is None):
        raise BadInput(f"give a query name ({', '.join(NAMED)}) or --query, not both")
    if name is not None and name not in NAMED:
        raise BadInput(f"unknown query {name!r} (known: {', '.join(NAMED)})")
    start, end = _window(since, until)
    chosen = _groups(invocation, groups)
    with _insights_status(invocation) as on_status:
        result = run_kpi(
            invocation.runtime(),
            name,
            custom,
            chosen,
            start,
            end,
            engine=engine.value,
            threshold_ms=threshold_ms,
            top=top,
            timeout_s=timeout,
            on_status=on_status,
        )
    err = invocation.err_console()
    if result.capped:
        err.print("Insights returned its cap of 10,000 rows: narrow the window or the query")
    invocation.emit(result.as_dict(), lambda out: _print_kpi(out, result))
    return 0


def _insights_status(invocation: Invocation) -> Any:
    """A live status line on stderr while Insights runs; yields the status callback."""
    import contextlib

    @contextlib.contextmanager
    def status() -> Any:
        console = invocation.err_console()
        if not console.is_terminal or invocation.options.quiet:
            yield None
            return
        with console.status("Insights: starting") as live:

            def update(status: str, elapsed: float, stats: dict[str, float]) -> None:
                matched = int(stats.get("recordsMatched", 0))
                live.update(f"Insights: {status} {elapsed:.0f}s, {matched} records matched")

            yield update

    return status()


def _print_kpi(console: Console, result: KpiResult) -> None:
    from rich.table import Table

    if result.rows:
        table = Table(box=None, header_style="bold", pad_edge=False)
        columns = list(result.rows[0])
        for column in columns:
            table.add_column(column, justify="left" if column in ("minute", "message") else "right")
        for row in result.rows:
            table.add_row(*("" if row.get(c) is None else _cell(row.get(c)) for c in columns))
        console.print(table)
    summary = ", ".join(f"{k} {_cell(v)}" for k, v in result.summary.items())
    console.print(f"{result.name} ({result.engine}): {summary or 'no data'}")
    stats = result.statistics
    if stats:
        console.print(
            f"{int(stats.get('recordsMatched', 0))} records matched,"
            f" {int(stats.get('recordsScanned', 0))} scanned,"
            f" {stats.get('bytesScanned', 0) / 1e6:.1f} MB scanned"
        )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.1f}"
    from hybridops.plaintext import scalar

    return scalar(value)  # None as `-`, a list as words: never a Python repr


@report_app.command("daily")
def daily(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", help="Start (default: config, yesterday 18:00 UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End (default: config, today 09:00 UTC).")
    ] = None,
    groups: GroupOption = None,
    engine: Annotated[
        Engine, typer.Option("--engine", help="insights, local (exact), auto.")
    ] = Engine.auto,
    report_format: FormatOption = None,
) -> int:
    """The morning review: overnight response times, requests and errors against the SLOs."""
    from hybridops.logs.run import daily_report

    invocation = invocation_of(ctx)
    settings = invocation.runtime().env.settings.logs
    start, end = _window(since or settings.daily_since, until or settings.daily_until)
    chosen = _groups(invocation, groups)
    with _insights_status(invocation) as on_status:
        report = daily_report(
            invocation.runtime(),
            chosen,
            start,
            end,
            engine=engine.value,
            on_status=on_status,
        )
    fmt = report_format or (ReportFormat.json if invocation.json else ReportFormat.text)
    if fmt is ReportFormat.json:
        from hybridops.cli.render import emit_json

        emit_json(invocation.terminal, report.as_dict())
    elif fmt is ReportFormat.markdown:
        invocation.terminal.stdout.write(report.markdown())
    else:
        _print_report(invocation, report.as_dict())
    return 1 if report.status == "missed" else 0


@report_app.command("weekly")
def weekly(
    ctx: typer.Context,
    end: Annotated[
        str | None,
        typer.Option("--end", help="End of the week compared (default: now), e.g. 'today 00:00'."),
    ] = None,
    report_format: FormatOption = None,
) -> int:
    """Week over week from CloudWatch metrics; exit 1 when a metric regressed."""
    from hybridops.logs.trends import weekly_for

    invocation = invocation_of(ctx)
    moment = _end_moment(end)
    report = weekly_for(invocation.runtime(), moment)
    _emit_report(invocation, report, report_format)
    return 1 if report.regressions else 0


@report_app.command("monthly")
def monthly(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", min=7, max=455, help="Days looked back.")] = 30,
    end: Annotated[
        str | None, typer.Option("--end", help="End of the window (default: now).")
    ] = None,
    report_format: FormatOption = None,
) -> int:
    """Capacity planning: peaks against capacity, headroom, growth, next month's numbers."""
    from hybridops.logs.trends import monthly_for

    invocation = invocation_of(ctx)
    moment = _end_moment(end)
    report = monthly_for(invocation.runtime(), moment, days)
    _emit_report(invocation, report, report_format)
    return 0


def _end_moment(end: str | None) -> dt.datetime:
    """--end as a moment (default: now)."""
    from hybridops.state.store import utcnow
    from hybridops.timeparse import parse_moment

    return parse_moment(end, option="--end") if end else utcnow()


def _emit_report(invocation: Invocation, report: Any, report_format: ReportFormat | None) -> None:
    """A trend or capacity report as JSON, or as Markdown (which also reads well as text)."""
    fmt = report_format or (ReportFormat.json if invocation.json else ReportFormat.text)
    if fmt is ReportFormat.json:
        from hybridops.cli.render import emit_json

        emit_json(invocation.terminal, report.as_dict())
    else:
        invocation.terminal.stdout.write(report.markdown())


def _print_report(invocation: Invocation, doc: dict[str, Any]) -> None:
    from hybridops.cli.render import styled

    console = invocation.out_console()
    window = doc["window"]
    console.print(
        f"Daily performance review {window['start']} -> {window['end']} ({doc['engine']})"
    )

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} ms"

    console.print(
        f"requests {doc['requests']}, avg {ms(doc['avg_ms'])}, max {ms(doc['max_ms'])},"
        f" P50 {ms(doc['p50_ms'])}, P95 {ms(doc['p95_ms'])}, P99 {ms(doc['p99_ms'])},"
        f" errors {doc['errors']} ({doc['error_rate'] * 100:.3g}%)"
    )
    for slo in doc["slo"]:
        verdict = {True: "pass", False: "fail", None: "warn"}[slo["met"]]
        console.print(
            f"  {styled(verdict)} {slo['name']}: {slo['actual']} (target {slo['target']})"
        )
    console.print(f"SLOs {doc['status']}")
