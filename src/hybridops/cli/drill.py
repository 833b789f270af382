"""`hybridops drill SCENARIO`: a game day on the sandbox, with a report at the end."""

from __future__ import annotations

from typing import Annotated

import typer

from hybridops.cli.state import app_state


def drill(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Argument(help="Scenario to inject (see `sandbox scenarios`).")],
    interval: Annotated[
        float, typer.Option("--interval", min=0.05, max=3600, help="Seconds between health checks.")
    ] = 2.0,
    timeout: Annotated[
        str, typer.Option("--timeout", help="Give up after this long (e.g. 30m).")
    ] = "60m",
) -> int:
    """Inject a fault, let the on-call work with the normal commands, report when it is green."""
    from hybridops.sandbox import require_moto

    require_moto()
    from hybridops import paths
    from hybridops.cli.render import emit_json
    from hybridops.sandbox.drill import run_drill
    from hybridops.timeparse import parse_duration

    state = app_state(ctx)
    limit = parse_duration(timeout, option="--timeout").total_seconds()
    console = state.err_console()
    console.print(
        f"[bold]drill {scenario}[/bold]: the fault is being injected. Work it from another terminal"
        " with `hybridops --env sandbox ...`; this report appears when health is green again.",
        highlight=False,
    )
    last: list[str] = []

    def progress(text: str) -> None:
        if not last or last[-1] != text.split(" — ", 1)[-1]:
            last.append(text.split(" — ", 1)[-1])
            console.print(f"  … {text}", markup=False, highlight=False)

    runtime = state.runtime()
    report = run_drill(
        paths.sandbox_record_path(),
        runtime.store,
        scenario,
        interval_s=interval,
        timeout_s=limit,
        progress=progress,
    )
    if state.json:
        emit_json(state.environment, report.as_dict())
        return 0
    out = state.out_console()
    out.print(f"[bold]drill report — {scenario}[/bold] ({report.drill_id})")
    for label, value in (
        ("time to detect", report.time_to_detect_s),
        ("time to mitigate", report.time_to_mitigate_s),
        ("time to recover", report.time_to_recover_s),
    ):
        out.print(f"  {label:<17} {'-' if value is None else f'{value:.1f}s'}", highlight=False)
    out.print("  commands used:")
    for command in report.commands:
        out.print(
            f"    {command['at'][11:19]}  {command['runbook']:<22} {command['status']}",
            highlight=False,
        )
    out.print("  changes made:")
    for change in report.changes:
        out.print(
            f"    {change['at'][11:19]}  {change['call']:<28} {change['outcome']}", highlight=False
        )
    return 0
