"""`hybridops circuit open|close|status`: the runbook's circuit-breaker activation."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.invocation import invocation_of
from hybridops.state.store import actor

app = group("Circuit breakers (SSM parameters the router reads): open, close, status.")

TargetOption = Annotated[str, typer.Option("--target", help="Which breaker (see config).")]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why: kept with the parameter and in the audit trail.")
]


def _switch(ctx: typer.Context, state_value: str, target: str, reason: str) -> int:
    from hybridops.cli.render import emit_json, print_run_result
    from hybridops.engine.runner import execute, prepare
    from hybridops.errors import BadInput
    from hybridops.failover.circuits import parameter_for

    if not reason.strip():
        raise BadInput("--reason is required: say why, for the audit trail and the next engineer")
    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    params: dict[str, Any] = {
        "state": state_value,
        "parameter": parameter_for(runtime, target),
        "reason": reason.strip(),
        "actor": actor(),
    }
    loaded, resolved = prepare(runtime, "circuit-breaker", params)
    result = execute(runtime, loaded, resolved, [invocation.progress()])
    previous = next((s.outputs for s in result.steps if s.name == "read"), None) or {}
    if invocation.json:
        emit_json(
            invocation.terminal,
            {
                "status": result.status,
                "target": target,
                "parameter": params["parameter"],
                "from": previous.get("previous"),
                "to": state_value,
                "reason": params["reason"],
                "run_id": result.run_id,
                "error": result.error,
            }
            | ({"report": result.report} if result.report else {}),
        )
    else:
        print_run_result(invocation.out_console(), result)
    return result.exit_code


@app.command("open")
def open_(ctx: typer.Context, reason: ReasonOption = "", target: TargetOption = "bedrock") -> int:
    """Open the breaker: route traffic away from the dependency."""
    return _switch(ctx, "open", target, reason)


@app.command("close")
def close(ctx: typer.Context, reason: ReasonOption = "", target: TargetOption = "bedrock") -> int:
    """Close the breaker: send traffic to the dependency again."""
    return _switch(ctx, "closed", target, reason)


@app.command("status")
def status(ctx: typer.Context, target: TargetOption = "bedrock") -> int:
    """The breaker's state and who changed it, when, and why."""
    from hybridops.cli.render import emit_json
    from hybridops.failover.circuits import status as circuit_status

    invocation = invocation_of(ctx)
    doc = circuit_status(invocation.runtime(), target)
    if invocation.json:
        emit_json(invocation.terminal, doc)
        return 0
    console = invocation.out_console()
    console.print(f"{target} circuit ({doc['parameter']}): {doc['state']}", markup=False)
    if doc["changed_by"]:
        console.print(
            f"  last changed by {doc['changed_by']} at {doc['audit'][0]['at']}: {doc['reason']}",
            markup=False,
        )
    for change in doc["history"][:5]:
        console.print(
            f"  v{change['version']} {change['at']} {change['value']}"
            f" {change['description'] or ''}".rstrip(),
            markup=False,
        )
    return 0
