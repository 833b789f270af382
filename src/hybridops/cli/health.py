"""`hybridops health`: one verdict from endpoints, ECS, ALB targets, alarms and Route 53."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hybridops.cli.invocation import Invocation, invocation_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console
    from rich.table import Table

    from hybridops.health.verdict import Verdict


class FailOn(str, enum.Enum):
    """Which verdict makes the exit code 1."""

    unhealthy = "unhealthy"
    degraded = "degraded"


def table(verdict: Verdict) -> Table:
    """The verdict as a rich table: check, status, detail, latency."""
    from rich.table import Table

    from hybridops.cli.render import styled

    out = Table(box=None, header_style="bold", pad_edge=False, title_justify="left")
    for column in ("check", "status", "detail"):
        out.add_column(column)
    out.add_column("latency", justify="right")
    for check in verdict.checks:
        latency = "" if check.latency_ms is None else f"{check.latency_ms:.0f} ms"
        out.add_row(check.name, styled(check.status), check.detail, latency)
    return out


def health(
    ctx: typer.Context,
    components: Annotated[
        list[str] | None, typer.Argument(help="Only these components (default: all, plus /health).")
    ] = None,
    secondary: Annotated[
        bool, typer.Option("--secondary", help="Check the backup region instead.")
    ] = False,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 on this verdict or worse.")
    ] = FailOn.unhealthy,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep checking, live, until Ctrl-C (exit 0). With -o json: one verdict per line.",
        ),
    ] = False,
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.1, max=3600, help="Seconds between checks with --watch."),
    ] = 10.0,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write a JUnit XML report here.")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, max=900, help="Seconds per HTTP probe.")
    ] = 5.0,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=1000, help="HTTP probes in flight.")
    ] = 100,
    deep: Annotated[
        bool, typer.Option("--deep", help="Also check the Bedrock dependency (model, IAM).")
    ] = False,
) -> int:
    """One health verdict (healthy, degraded, unhealthy); exit 1 when unhealthy.

    `hybridops health bedrock` checks only the Bedrock dependency.
    """
    from hybridops.cli.render import styled
    from hybridops.errors import BadInput
    from hybridops.health.verdict import collect, target_for

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    settings = runtime.env.settings
    target = target_for(settings, secondary=secondary)
    bedrock_only = components == ["bedrock"]
    if bedrock_only:
        components = None
    unknown = [c for c in components or [] if c not in target.components]
    if unknown:
        raise BadInput(f"unknown component {unknown[0]!r} (known: {', '.join(target.components)})")
    region = "secondary" if secondary else "primary"

    def client(service: str) -> object:
        return runtime.clients.client(service, region)

    def run_once() -> Verdict:
        from hybridops.health.bedrock import with_bedrock

        if bedrock_only:
            return with_bedrock(None, client, settings, target, timeout_s=timeout)
        verdict = collect(
            target, client, only=components or None, timeout_s=timeout, concurrency=concurrency
        )
        return (
            with_bedrock(verdict, client, settings, target, timeout_s=timeout) if deep else verdict
        )

    if watch and invocation.json:
        return _watch_lines(invocation, run_once, interval)
    if watch:
        from rich.live import Live

        from hybridops.health.verdict import watch as watch_loop

        console = invocation.out_console()
        with Live(console=console, auto_refresh=False) as live:

            def show(verdict: Verdict) -> None:
                live.update(table(verdict), refresh=True)

            try:
                verdict = watch_loop(run_once, show, interval_s=interval, stop=runtime.stop)
            except KeyboardInterrupt:
                return 0
    else:
        verdict = run_once()
    if not secondary:
        from hybridops.health.verdict import remember_known_good

        remember_known_good(runtime.store, verdict, dry_run=runtime.mode.dry_run)
    if junit is not None:
        from hybridops.paths import write_named_file

        write_named_file(junit, verdict.junit(), "--junit")

    def text(out: Console) -> None:
        out.print(table(verdict))
        out.print(f"{styled(verdict.status)} · {target.region}")
        if verdict.status != "healthy" and not secondary and not components:
            from hybridops.cli.triage import next_after

            out.print(runtime.redactor.text(next_after(runtime)), markup=False, highlight=False)

    if not watch:  # --watch showed each verdict as it came (-o json: as lines, returned above)
        invocation.emit(verdict.as_dict(), text)
    failing = {"unhealthy"} if fail_on is FailOn.unhealthy else {"unhealthy", "degraded"}
    return 1 if verdict.status in failing else 0


def _watch_lines(invocation: Invocation, run_once: Callable[[], Verdict], interval: float) -> int:
    """`--watch -o json`: JSON Lines, one verdict per round, until Ctrl-C (exit 0)."""
    from hybridops.cli.render import emit_json_line
    from hybridops.health.verdict import watch as watch_loop
    from hybridops.state.store import iso, utcnow

    err = invocation.err_console()
    err.print(f"one verdict per line every {interval:g}s; Ctrl-C ends it", markup=False)

    def show(verdict: Verdict) -> None:
        at = iso(utcnow())
        emit_json_line(invocation.terminal, {"at": at} | verdict.as_dict())
        failing = [c.name for c in verdict.checks if c.status != "pass"]
        detail = f" ({', '.join(failing)})" if failing else ""
        err.print(f"{at} {verdict.status}{detail}", markup=False, highlight=False)

    import contextlib

    # Ctrl-C is how a watch ends (exit 0): every line written so far is whole.
    with contextlib.suppress(KeyboardInterrupt):
        watch_loop(run_once, show, interval_s=interval, stop=invocation.runtime().stop)
    return 0
