"""`hybridops failover`: move traffic between regions, guarded; `failover status`."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.invocation import invocation_of

if TYPE_CHECKING:
    from rich.console import Console

app = group(
    "Regional failover and failback: `failover --to secondary|primary`, `failover status`.",
    no_args_is_help=False,
    invoke_without_command=True,
)


class Side(str, enum.Enum):
    """Where traffic should go."""

    secondary = "secondary"
    primary = "primary"


@app.callback(invoke_without_command=True)
def failover(
    ctx: typer.Context,
    to: Annotated[
        Side | None, typer.Option("--to", help="secondary (fail over) or primary (fail back).")
    ] = None,
    count: Annotated[
        int, typer.Option("--count", min=1, max=500, help="Tasks for the target side.")
    ] = 3,
    match_primary: Annotated[
        bool, typer.Option("--match-primary", help="Scale the backup to the primary's count.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Go on with an unhealthy target (type the region name)."),
    ] = False,
    auto_revert: Annotated[
        bool,
        typer.Option("--auto-revert", help="Revert Route 53 if verification fails afterwards."),
    ] = False,
    timeout: Annotated[
        int, typer.Option("--timeout", min=10, max=7200, help="Seconds to wait.")
    ] = 600,
) -> int:
    """Fail over to the backup region (--to secondary) or back (--to primary), guarded."""
    if ctx.invoked_subcommand is not None:
        return 0
    from hybridops.cli.render import print_run_result
    from hybridops.config import SIDES, region_of
    from hybridops.engine.runner import execute, prepare
    from hybridops.errors import BadInput

    if to is None:
        raise BadInput("give --to secondary or --to primary (or `failover status`)")
    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    params: dict[str, Any] = {
        "to": to.value,
        "count": count,
        "match_primary": match_primary,
        "force": force,
        "auto_revert": auto_revert,
        "timeout_s": timeout,
    }
    loaded, resolved = prepare(runtime, "regional-failover", params)
    result = execute(runtime, loaded, resolved, [invocation.progress()])
    plan = next((s.outputs for s in result.steps if s.name == "preflight"), None) or {}
    settings = runtime.env.settings
    source = "primary" if to is Side.secondary else "secondary"
    regions = {side: region_of(settings, side) for side in SIDES}
    undo = plan.get("undo") or f"hybridops --env {runtime.env.name} failover --to {source}"
    moved = any(s.name in ("move", "switch") and s.status == "succeeded" for s in result.steps)
    reverted = any((s.compensation or {}).get("status") == "succeeded" for s in result.steps)

    def show(out: Console) -> None:
        print_run_result(out, result)
        if moved and not reverted:
            invocation.err_console().print(f"undo with: {undo}", markup=False, highlight=False)

    invocation.emit(
        {
            "status": result.status,
            "from_region": regions[source],
            "to_region": regions[to.value],
            "record": settings.record_name,
            "traffic_moved": moved and not reverted,
            "reverted": reverted,
            "undo": undo if moved and not reverted else None,
            "steps": [
                {"name": s.name, "status": s.status, "duration_s": round(s.duration_s, 3)}
                | ({"compensation": s.compensation} if s.compensation else {})
                for s in result.steps
            ],
            "run_id": result.run_id,
            "error": result.error,
        }
        | ({"report": result.report} if result.report else {}),
        show,
    )
    return result.exit_code


@app.command("status")
def status(ctx: typer.Context) -> int:
    """Which region serves traffic, the record's values, both sides' health."""
    from hybridops.cli.render import styled
    from hybridops.failover.traffic import status as traffic_status

    invocation = invocation_of(ctx)
    doc = traffic_status(invocation.runtime())

    def show(out: Console) -> None:
        out.print(
            f"{doc['record']} ({doc['mode']} routing) -> {doc['serving']}"
            f" ({doc['serving_region'] or 'unknown region'})"
        )
        for side in ("primary", "secondary"):
            info = doc[side]
            if info.get("standby"):
                out.print(
                    f"  {side:<9} {info['region']:<14} - standby (desired 0)", highlight=False
                )
                continue
            health = info.get("health")
            verdict = {"healthy": "pass", "degraded": "warn", "unhealthy": "fail"}.get(
                health or "", ""
            )
            tasks = (
                f"running {info['running']}/{info.get('desired')}"
                if info.get("running") is not None
                else info.get("error", "service unknown")
            )
            out.print(
                f"  {side:<9} {info['region']:<14} {styled(verdict) if verdict else '-'}"
                f" {health or 'no health URL'} · {tasks}"
            )

    invocation.emit(doc, show)
    return 0
