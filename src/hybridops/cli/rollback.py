"""`hybridops rollback`: back to the last known-good revision, waited for and verified."""

from __future__ import annotations

from typing import Annotated

import typer

from hybridops.cli.invocation import invocation_of


def rollback(
    ctx: typer.Context,
    to: Annotated[
        str | None, typer.Option("--to", help="Revision (number, family:rev or ARN).")
    ] = None,
    timeout: Annotated[str, typer.Option("--timeout", help="How long to wait (e.g. 10m).")] = "10m",
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait", help="Wait for the rollout and verify health (default: wait)."
        ),
    ] = True,
) -> int:
    """Roll the service back to the last known-good revision, wait, verify health."""
    from hybridops.cli.render import print_run_result
    from hybridops.engine.runner import execute, prepare
    from hybridops.timeparse import parse_duration

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    seconds = int(parse_duration(timeout, option="--timeout").total_seconds())
    params: dict[str, object] = {"timeout_s": max(10, seconds), "wait": wait}
    if to:
        params["to"] = to
    loaded, resolved = prepare(runtime, "rollback-service", params)
    result = execute(runtime, loaded, resolved, [invocation.progress()])
    steps = {s.name: s for s in result.steps}
    plan = steps["plan"].outputs or {}
    invocation.emit(
        {
            "status": result.status,
            "service": resolved["service"],
            "from_task_definition": plan.get("current"),
            "to_task_definition": plan.get("target"),
            # null, not false, when the rollout was not waited for (--no-wait).
            "stable": outcome(steps["wait-stable"].status),
            "healthy": outcome(steps["verify-health"].status),
            "duration_s": round(result.duration_s, 3),
            "run_id": result.run_id,
            "error": result.error,
        }
        | ({"report": result.report} if result.report else {}),
        lambda out: print_run_result(out, result),
    )
    return result.exit_code


def outcome(step_status: str) -> bool | None:
    """A step's success as true/false; None when skipped (--no-wait) or only planned (dry-run)."""
    if step_status in ("skipped", "planned"):
        return None
    return step_status == "succeeded"
