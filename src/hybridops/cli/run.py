"""`hybridops run`: run a built-in or file runbook."""

from __future__ import annotations

from typing import Annotated

import typer

from hybridops.cli import completion
from hybridops.cli.state import app_state
from hybridops.plaintext import said_yes


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
    from hybridops.cli.render import emit_json, print_run_result
    from hybridops.engine.parameters import parse_assignments
    from hybridops.engine.runner import execute, masked_parameters, prepare, resume_plan
    from hybridops.errors import BadInput, Refused

    state = app_state(ctx)
    runtime = state.runtime()
    given = parse_assignments(param or [])
    reuse: dict[str, dict[str, object]] = {}
    if resume:
        from hybridops.engine.loader import load

        name = load(runbook).runbook.name
        recorded, reuse, in_flight = resume_plan(runtime, resume, name)
        missing = [k for k in masked_parameters(recorded) if k not in given]
        if missing:
            raise BadInput(
                f"run {resume} recorded {', '.join(missing)} redacted: pass them again with -p"
            )
        given = {k: v for k, v in recorded.items() if k not in masked_parameters(recorded)} | given
        if in_flight:
            # The change of a step in flight may or may not have been made: doing it again
            # must be a decision, not a default.
            question = (
                f"run {resume} stopped during {', '.join(in_flight)}: the change may already"
                " be made. Run those steps again?"
            )
            answer = (
                "y"
                if runtime.mode.assume_yes
                else (
                    runtime.environment.ask(f"{question} [y/N] ")
                    if runtime.environment.interactive
                    else ""
                )
            )
            if not said_yes(answer):
                raise Refused(f"{question} Not confirmed (pass --yes after checking)")
    loaded, params = prepare(runtime, runbook, given)
    if print_cli:
        from hybridops.engine.runner import shell_script

        if resume:
            raise BadInput("--print-cli and --resume do not go together")
        script = runtime.redactor(shell_script(runtime, loaded, params))
        if state.json:
            emit_json(
                state.environment,
                {"runbook": loaded.runbook.name, "env": runtime.env.name, "script": script},
            )
        else:
            state.environment.stdout.write(script)
        return 0
    result = execute(
        runtime,
        loaded,
        params,
        [state.progress()],
        reuse=reuse,
        resumed_from=resume,
    )
    if state.json:
        emit_json(state.environment, runtime.redactor(result.to_dict()))
    else:
        print_run_result(state.out_console(), result)
    return result.exit_code
