"""`hybridops demo`: the main job on the embedded sandbox, end to end, no setup."""

from __future__ import annotations

import typer

from hybridops.cli.state import app_state


def demo(ctx: typer.Context) -> int:
    """Start the sandbox in-process, walk through the runbook procedure, tear down."""
    from hybridops.sandbox import require_moto

    require_moto()
    from hybridops.cli.main import main
    from hybridops.sandbox.demo import DemoStep, run_demo

    state = app_state(ctx)
    console = state.err_console()
    console.print("[bold]hybridops demo[/bold] — starting the embedded estate (moto + health)…")

    def run_step(step: DemoStep) -> int:
        console.rule(f"[bold]{step.title}[/bold]")
        console.print(f"$ hybridops --env sandbox {' '.join(step.argv)}", markup=False)
        return main(step.argv, state.environment)

    ok, plan = run_demo(run_step)
    console.rule()
    for step in plan.steps:
        mark = "✓" if step.exit_code == 0 else ("✗" if step.exit_code is not None else "-")
        console.print(f"{mark} {step.title}", markup=False)
    console.print(
        "[green]demo finished: the estate is healthy[/green]" if ok else "[red]demo failed[/red]"
    )
    return 0 if ok else 1
