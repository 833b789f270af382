"""`hybridops run`: run a built-in or file runbook."""

from __future__ import annotations

from typing import Annotated

import typer

from hybridops.cli import completion
from hybridops.cli.invocation import invocation_of


def run(
    ctx: typer.Context,
    runbook: Annotated[
        str,
        typer.Argument(
            help="Built-in runbook name or path to a YAML file.",
            autocompletion=completion.runbooks,
        ),
    ],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Parameter NAME=VALUE (repeatable)."),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume", help="Continue run RUN_ID from its first unfinished step (same runbook)."
        ),
    ] = None,
    print_cli: Annotated[
        bool,
        typer.Option(
            "--print-cli",
            help="Print the runbook as a bash script of aws/curl commands (runs nothing).",
        ),
    ] = False,
) -> int:
    """Run a runbook: plan with --dry-run, refuse changes with --read-only."""
    from hybridops.cli.render import print_run_result
    from hybridops.engine.parameters import parse_assignments
    from hybridops.engine.runner import execute, prepare, resumed
    from hybridops.errors import BadInput

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    given = parse_assignments(param or [])
    reuse: dict[str, dict[str, object]] = {}
    if resume:
        given, reuse = resumed(runtime, runbook, resume, given)
    loaded, params = prepare(runtime, runbook, given)
    if print_cli:
        from hybridops.engine.runner import shell_script

        if resume:
            raise BadInput("--print-cli and --resume do not go together")
        script = runtime.redactor(shell_script(runtime, loaded, params))
        invocation.emit(
            {"runbook": loaded.runbook.name, "env": runtime.env.name, "script": script},
            # The script as it is: a console would wrap its lines on a terminal.
            otherwise=lambda: invocation.terminal.stdout.write(script),
        )
        return 0
    result = execute(
        runtime,
        loaded,
        params,
        [invocation.progress()],
        reuse=reuse,
        resumed_from=resume,
    )
    invocation.emit(runtime.redactor(result.to_dict()), lambda out: print_run_result(out, result))
    return result.exit_code
