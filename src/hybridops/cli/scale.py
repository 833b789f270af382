"""`hybridops scale`: guarded scaling of the ECS service and Lambda concurrency."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.state import app_state

app = group("Guarded scaling of the ECS service and Lambda provisioned concurrency.")

ToOption = Annotated[int | None, typer.Option("--to", help="Target value.")]
ByOption = Annotated[str | None, typer.Option("--by", help="Change by +K or -K.")]
TimeoutOption = Annotated[int, typer.Option("--timeout", min=10, help="Seconds to wait.")]


def _by(value: str | None) -> int | None:
    from hybridops.errors import BadInput

    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadInput(f"--by {value!r}: expected +K or -K, e.g. --by +2") from None


def _scale(ctx: typer.Context, runbook: str, target: str, params: dict[str, Any]) -> int:
    from hybridops.cli.render import RunProgress, emit_json, print_run_result
    from hybridops.engine.runner import execute, prepare
    from hybridops.errors import BadInput

    if (params.get("to") is None) == (params.get("by") is None):
        raise BadInput("give exactly one of --to N or --by K")
    state = app_state(ctx)
    runtime = state.runtime()
    loaded, resolved = prepare(runtime, runbook, {k: v for k, v in params.items() if v is not None})
    result = execute(runtime, loaded, resolved, [RunProgress(state.err_console())])
    plan = next((s.outputs for s in result.steps if s.name == "plan"), {}) or {}
    if state.json:
        emit_json(
            state.environment,
            {
                "status": result.status,
                "target": target,
                "from": plan.get("from"),
                "to": plan.get("to"),
                "capped": bool(plan.get("capped", False)),
                "run_id": result.run_id,
                "error": result.error,
            },
        )
    else:
        print_run_result(state.out_console(), result)
    return result.exit_code


@app.command("service")
def service(
    ctx: typer.Context, to: ToOption = None, by: ByOption = None, timeout: TimeoutOption = 600
) -> int:
    """Scale the ECS service (capped by limits.max_desired_count) and wait until it runs."""
    return _scale(ctx, "scale-service", "service", {"to": to, "by": _by(by), "timeout_s": timeout})


@app.command("lambda")
def lambda_(
    ctx: typer.Context, to: ToOption = None, by: ByOption = None, timeout: TimeoutOption = 600
) -> int:
    """Set provisioned concurrency on the alias (capped) and wait until READY."""
    return _scale(ctx, "scale-lambda", "lambda", {"to": to, "by": _by(by), "timeout_s": timeout})
