"""`hybridops demo`: the P0 procedure on the embedded sandbox, end to end, no setup."""

from __future__ import annotations

from typing import Annotated

import typer

from hybridops.cli.invocation import invocation_of


def demo(
    ctx: typer.Context,
    rollback_to: Annotated[
        str | None,
        typer.Option(
            "--rollback-to", help="Roll back to this revision instead (rehearse a failed rollback)."
        ),
    ] = None,
) -> int:
    """Start the sandbox in-process, break it, run the P0 procedure with real commands."""
    from hybridops.sandbox import require_moto

    require_moto()
    from hybridops.cli.main import main
    from hybridops.sandbox.demo import DemoStep, run_demo

    invocation = invocation_of(ctx)
    console = invocation.err_console()
    console.print('[bold]hybridops demo[/bold] — P0 "hybrid router down" on the embedded estate')

    def run_step(step: DemoStep) -> int:
        console.rule(f"[bold]{step.title}[/bold]")
        # soft_wrap: a long command wraps on screen but stays one line when pasted.
        console.print(f"$ {step.shell}", markup=False, highlight=False, soft_wrap=True)
        return main(step.argv, invocation.terminal)

    ok, steps, final = run_demo(run_step, rollback_to=rollback_to)
    console.rule("[bold]summary[/bold]")
    for step in steps:
        mark = "-" if step.exit_code is None else ("✓" if step.ok else "✗")
        got = (
            ""
            if step.exit_code is None or step.ok
            else f" (exit {step.exit_code}, expected {step.expect_exit})"
        )
        console.print(f"{mark} {step.title}{got}", markup=False, highlight=False)
    from hybridops.sandbox.summary import describe_estate

    console.print(
        f"estate: {describe_estate(final)}", markup=False, highlight=False, soft_wrap=True
    )
    if ok:
        console.print("[green]demo finished: the estate really recovered[/green]")
        return 0
    console.print("[red]demo failed: the estate did not recover[/red]")
    return 1
