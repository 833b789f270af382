"""`hybridops drill SCENARIO`: a game day on the sandbox, with a report at the end."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli.invocation import Invocation, invocation_of

if TYPE_CHECKING:
    from rich.console import Console

    from hybridops.sandbox.drill import DrillReport


def drill(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Argument(help="Scenario to inject (see `sandbox scenarios`).")],
    interval: Annotated[
        float, typer.Option("--interval", min=0.05, max=3600, help="Seconds between health checks.")
    ] = 2.0,
    timeout: Annotated[
        str, typer.Option("--timeout", help="Give up after this long (e.g. 30m).")
    ] = "60m",
    follow_triage: Annotated[
        bool,
        typer.Option(
            "--follow-triage",
            help="Be the engineer who runs only what `hybridops triage` says: apply its first"
            " recommendation (with --yes) until green; the report times it.",
        ),
    ] = False,
) -> int:
    """Inject a fault, let the on-call work with the normal commands, report when it is green."""
    from hybridops.sandbox import require_moto

    require_moto()
    from hybridops import paths
    from hybridops.sandbox.drill import run_drill
    from hybridops.timeparse import parse_duration

    invocation = invocation_of(ctx)
    _refuse_other_environments(invocation, scenario)
    limit = parse_duration(timeout, option="--timeout").total_seconds()
    if invocation.options.dry_run:
        # A drill's first act is a change (the fault): a dry run says so and injects nothing.
        text = (
            f"dry run: would inject {scenario!r} into the sandbox, then wait (up to {timeout})"
            " for health to be green again and report the times; nothing injected"
        )
        invocation.emit(
            {"status": "planned", "scenario": scenario},
            otherwise=lambda: invocation.terminal.stdout.write(text + "\n"),
        )
        return 0
    console = invocation.err_console()
    if follow_triage:
        # The sandbox only (refused above otherwise): triage's command is applied unasked.
        invocation.options.yes = True
        console.print(
            f"[bold]drill {scenario}[/bold]: the fault is being injected; each round applies"
            " what `hybridops triage` recommends first, until health is green again.",
            highlight=False,
        )
    else:
        console.print(
            f"[bold]drill {scenario}[/bold]: the fault is being injected. Work it from another"
            " terminal with `hybridops --env sandbox ...`; this report appears when health is"
            " green again.",
            highlight=False,
        )
    runtime = invocation.runtime()
    with _Waiting(invocation, scenario) as waiting:
        report = run_drill(
            paths.sandbox_record_path(),
            runtime.store,
            scenario,
            interval_s=interval,
            timeout_s=limit,
            progress=waiting.update,
            follow=_follower(invocation, waiting) if follow_triage else None,
        )
    recovered = report.recovered_at is not None
    invocation.emit(report.as_dict(), lambda out: _print_report(out, report))
    return 0 if recovered else 1


def _follower(invocation: Invocation, waiting: _Waiting) -> Any:
    """Each round: triage, then apply its first recommendation not applied yet."""
    from hybridops.triage.run import apply, triage

    runtime = invocation.runtime()

    def follow(applied: set[str]) -> dict[str, Any] | None:
        outcome = triage(runtime)
        fresh = [r for r in outcome.recommendations if r.runbook not in applied]
        if not fresh:
            return None
        first = fresh[0]
        waiting.note(f"triage says: {first.command}")
        result = apply(runtime, first, [])
        return {
            "runbook": first.runbook,
            "command": first.command,
            "why": first.why,
            "status": result.status,
            "run_id": result.run_id,
        }

    return follow


def _refuse_other_environments(invocation: Invocation, scenario: str) -> None:
    """A drill breaks things on purpose: only ever the sandbox, whatever else is named."""
    from hybridops.errors import BadInput

    named = invocation.options.env or os.environ.get("HYBRIDOPS_ENV")
    if not named or named == "sandbox":
        return
    from hybridops.config import Overrides, load_config, resolve_environment

    loaded = load_config(invocation.options.config)
    if not resolve_environment(loaded, Overrides(env=named)).settings.sandbox:
        raise BadInput(
            f"drill injects faults into the sandbox only: environment {named!r} is not a sandbox",
            hint=f"hybridops --env sandbox drill {scenario}",
        )


class _Waiting:
    """What the drill shows while it waits: a live line whose clock moves, or a line per change."""

    def __init__(self, invocation: Invocation, scenario: str) -> None:
        self.scenario = scenario
        self.started = time.monotonic()
        self.estate = "injecting the fault"
        self.console = invocation.err_console()
        self.live: Any = None
        self.printed: str | None = None
        # A terminal gets a status line refreshed every second; a pipe gets whole lines.
        self.terminal = invocation.terminal.stderr_isatty and not invocation.options.quiet

    def __enter__(self) -> _Waiting:
        if self.terminal:
            from rich.live import Live

            self.live = Live(
                self,
                console=self.console,
                refresh_per_second=2,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def line(self) -> str:
        """The status line: scenario, elapsed time, the estate in words."""
        elapsed = int(time.monotonic() - self.started)
        return f"drill {self.scenario}: {elapsed // 60}:{elapsed % 60:02d} — {self.estate}"

    def __rich__(self) -> Any:
        from rich.text import Text

        # Rendered on every refresh, so the clock moves between the drill's polls.
        return Text(f"… {self.line()} — waiting for you to mend it", overflow="ellipsis")

    def note(self, text: str) -> None:
        """A line about what is being done (following triage)."""
        self.estate = text
        if not self.terminal:
            self.console.print(f"  … {self.line()}", markup=False, highlight=False)

    def update(self, sandbox_state: dict[str, Any]) -> None:
        """A new poll of the sandbox."""
        from hybridops.sandbox.summary import describe_estate

        self.estate = describe_estate(sandbox_state)
        if self.terminal:
            return
        if self.estate != self.printed:
            self.printed = self.estate
            self.console.print(f"  … {self.line()}", markup=False, highlight=False)


def _print_report(out: Console, report: DrillReport) -> None:
    """The report as a person reads it: times, then what was run and changed."""
    out.print(f"[bold]drill report — {report.scenario}[/bold] ({report.drill_id})")
    if report.followed_triage:
        out.print(
            "  followed triage  " + (report.outcome if report.recovered_at is None else "yes"),
            markup=False,
            highlight=False,
        )
        for number, step in enumerate(report.triage_steps, 1):
            out.print(
                f"    {number}. +{step['after_s']:.1f}s  {step['command']}  → {step['status']}",
                markup=False,
                highlight=False,
            )
    for label, value in (
        ("time to detect", report.time_to_detect_s),
        ("time to mitigate", report.time_to_mitigate_s),
        ("time to recover", report.time_to_recover_s),
    ):
        out.print(f"  {label:<17} {'-' if value is None else f'{value:.1f}s'}", highlight=False)
    first = report.first_request
    if first:
        out.print(
            f"  first command    {_clock(first['at'])}  {first['request']}"
            f" ({report.requests_seen} requests from hybridops in all)",
            markup=False,
            highlight=False,
        )
    else:
        out.print("  first command    - (no hybridops command reached the sandbox)")
    out.print("  runs (final status; times UTC):")
    for command in report.commands or [{"at": "", "runbook": "none", "status": ""}]:
        out.print(
            f"    {_clock(command['at'])}  {command['runbook']:<22} {command['status']}",
            markup=False,
            highlight=False,
        )
    out.print("  changes made:")
    for change in report.changes or [{"at": "", "call": "none", "outcome": ""}]:
        out.print(
            f"    {_clock(change['at'])}  {change['call']:<28} {change['outcome']}",
            markup=False,
            highlight=False,
        )


def _clock(moment: str) -> str:
    """HH:MM:SS of an ISO time (UTC), or blanks."""
    return moment[11:19] if moment else " " * 8
