"""`hybridops scale`: guarded scaling of the ECS service and Lambda concurrency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.invocation import invocation_of

if TYPE_CHECKING:
    from rich.console import Console

app = group("Guarded scaling of the ECS service and Lambda provisioned concurrency.")

# AWS takes 32-bit counts; --to below the minimum is left to the runbook, which names it.
ToOption = Annotated[int | None, typer.Option("--to", max=2**31 - 1, help="Target value.")]
ByOption = Annotated[str | None, typer.Option("--by", help="Change by +K or -K.")]
# The scale runbooks' timeout_s maximum.
TimeoutOption = Annotated[int, typer.Option("--timeout", min=10, max=7200, help="Seconds to wait.")]


def _by(value: str | None) -> int | None:
    from hybridops.errors import BadInput

    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadInput(f"--by {value!r}: expected +K or -K, e.g. --by +2") from None


def _scale(ctx: typer.Context, runbook: str, target: str, params: dict[str, Any]) -> int:
    from hybridops.cli.render import print_run_result
    from hybridops.engine.runner import execute, prepare
    from hybridops.errors import BadInput

    if (params.get("to") is None) == (params.get("by") is None):
        raise BadInput("give exactly one of --to N or --by K")
    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    loaded, resolved = prepare(runtime, runbook, {k: v for k, v in params.items() if v is not None})
    result = execute(runtime, loaded, resolved, [invocation.progress()])
    plan = next((s.outputs for s in result.steps if s.name == "plan"), {}) or {}
    invocation.emit(
        {
            "status": result.status,
            "target": target,
            "from": plan.get("from"),
            "to": plan.get("to"),
            "capped": bool(plan.get("capped", False)),
            "run_id": result.run_id,
            "error": result.error,
        }
        | ({"report": result.report} if result.report else {}),
        lambda out: print_run_result(out, result),
    )
    return result.exit_code


@app.command("service")
def service(
    ctx: typer.Context,
    to: ToOption = None,
    by: ByOption = None,
    timeout: TimeoutOption = 600,
    adjust_autoscaling: Annotated[
        bool,
        typer.Option(
            "--adjust-autoscaling", help="Widen Auto Scaling min/max if they would undo it."
        ),
    ] = False,
) -> int:
    """Scale the ECS service (capped by limits.max_desired_count) and wait until it runs."""
    params: dict[str, Any] = {"to": to, "by": _by(by), "timeout_s": timeout}
    if adjust_autoscaling:
        params["adjust_autoscaling"] = True
    return _scale(ctx, "scale-service", "service", params)


@app.command("lambda")
def lambda_(
    ctx: typer.Context, to: ToOption = None, by: ByOption = None, timeout: TimeoutOption = 600
) -> int:
    """Set provisioned concurrency on the alias (capped) and wait until READY."""
    return _scale(ctx, "scale-lambda", "lambda", {"to": to, "by": _by(by), "timeout_s": timeout})


@app.command("check")
def check(
    ctx: typer.Context,
    apply: Annotated[
        bool, typer.Option("--apply", help="Perform the recommended scale-up.")
    ] = False,
) -> int:
    """Evaluate the scale-up triggers; recommend (or --apply) ECS +2 and Lambda +50."""
    from hybridops.cli.render import styled
    from hybridops.health.access import access_errors_raised
    from hybridops.health.scaling import evaluate

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    settings = runtime.env.settings
    # Credentials, a profile or the endpoint end the command with their fix, not a verdict.
    with access_errors_raised(settings.profile):
        triggers = evaluate(settings, runtime.clients.client("cloudwatch"))
    fired = [t for t in triggers if t.fired]
    recommendation = (
        {"service_by": settings.scaling.ecs_step, "lambda_by": settings.scaling.lambda_step}
        if fired
        else None
    )
    applied: list[dict[str, Any]] = []
    code = 1 if fired else 0
    if fired and apply:
        from hybridops.engine.runner import execute, prepare

        code = 0
        for runbook, by in (
            ("scale-service", settings.scaling.ecs_step),
            ("scale-lambda", settings.scaling.lambda_step),
        ):
            loaded, params = prepare(runtime, runbook, {"by": by})
            result = execute(runtime, loaded, params, [invocation.progress()])
            applied.append({"runbook": runbook, "status": result.status, "run_id": result.run_id})
            code = max(code, result.exit_code)
    status = "ok" if not fired else ("scaled" if applied and code == 0 else "scale-up-recommended")
    if applied and all(a["status"] == "planned" for a in applied):
        status = "planned"  # a dry run: the scale-up is shown, not made

    def show(out: Console) -> None:
        for t in triggers:
            out.print(f"{t.name:<18} {styled('fail' if t.fired else 'pass')}  ", end="")
            out.print(t.detail, markup=False, highlight=False)
        if fired and not apply:
            out.print(
                f"recommended: hybridops scale service --by +{settings.scaling.ecs_step} and"
                f" hybridops scale lambda --by +{settings.scaling.lambda_step}"
                " (or scale check --apply)",
                markup=False,
            )
        out.print(status)

    invocation.emit(
        {
            "status": status,
            "triggers": [t.as_dict() for t in triggers],
            "recommendation": recommendation,
            "applied": applied,
        },
        show,
    )
    return code
