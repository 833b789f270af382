"""`hybridops circuit open|close|status`: the runbook's circuit-breaker activation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.invocation import invocation_of

if TYPE_CHECKING:
    from rich.console import Console

app = group("Circuit breakers (SSM parameters the router reads): open, close, status.")

TargetOption = Annotated[str, typer.Option("--target", help="Which breaker (see config).")]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why: kept with the parameter and in the audit trail.")
]


def _switch(ctx: typer.Context, state_value: str, target: str, reason: str) -> int:
    from hybridops.cli.render import print_run_result
    from hybridops.engine.runner import execute, prepare
    from hybridops.errors import BadInput
    from hybridops.failover.circuits import parameter_for
    from hybridops.state.store import actor

    if not reason.strip():
        raise BadInput("--reason is required: say why, for the audit trail and the next engineer")
    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    params: dict[str, Any] = {
        "state": state_value,
        "parameter": parameter_for(runtime, target),
        "reason": reason.strip(),
        "actor": actor(),  # who switched it, as records name them
    }
    loaded, resolved = prepare(runtime, "circuit-breaker", params)
    result = execute(runtime, loaded, resolved, [invocation.progress()])
    previous = next((s.outputs for s in result.steps if s.name == "read"), None) or {}
    invocation.emit(
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
        lambda out: print_run_result(out, result),
    )
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
    from hybridops.failover.circuits import status as circuit_status

    invocation = invocation_of(ctx)
    doc = circuit_status(invocation.runtime(), target)

    def show(out: Console) -> None:
        out.print(f"{target} circuit ({doc['parameter']}): {doc['state']}", markup=False)
        if doc["changed_by"]:
            out.print(
                f"  last changed by {doc['changed_by']} at {doc['audit'][0]['at']}:"
                f" {doc['reason']}",
                markup=False,
            )
        for change in doc["history"][:5]:
            out.print(
                f"  v{change['version']} {change['at']} {change['value']}"
                f" {change['description'] or ''}".rstrip(),
                markup=False,
            )

    invocation.emit(doc, show)
    return 0
