"""`hybridops run`: run a built-in or file runbook."""

from __future__ import annotations

from typing import Annotated

import typer

from hybridops.cli.state import app_state


def run(
    ctx: typer.Context,
    runbook: Annotated[str, typer.Argument(help="Built-in runbook name or path to a YAML file.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Parameter NAME=VALUE (repeatable)."),
    ] = None,
) -> int:
    """Run a runbook: plan with --dry-run, refuse changes with --read-only."""
    from hybridops.cli.render import RunProgress, emit_json, print_run_result
    from hybridops.engine.parameters import parse_assignments
    from hybridops.engine.runner import execute, prepare

    state = app_state(ctx)
    runtime = state.runtime()
    loaded, params = prepare(runtime, runbook, parse_assignments(param or []))
    result = execute(runtime, loaded, params, [RunProgress(state.err_console())])
    if state.json:
        emit_json(state.environment, runtime.redactor(result.to_dict()))
    else:
        print_run_result(state.out_console(), result)
    return result.exit_code
