"""`hybridops sandbox`: the embedded simulated estate (needs the `sandbox` extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.invocation import invocation_of

if TYPE_CHECKING:
    from rich.console import Console

app = group("The embedded simulated hybrid-routing estate (moto + health endpoints).")


def _describe(invocation: Any, info: dict[str, Any]) -> None:
    def show(console: Console) -> None:
        if not info.get("running", True):
            console.print("sandbox: not running")
            return
        console.print(f"sandbox running (pid {info['pid']})", highlight=False)
        console.print(f"  AWS endpoint     {info['endpoint_url']}", highlight=False)
        console.print(f"  health (primary) {info['health_url']}", highlight=False)
        console.print(f"  health (backup)  {info['secondary_health_url']}", highlight=False)
        if info.get("scenario"):
            console.print(f"  scenario         {info['scenario']}", highlight=False)
        if isinstance(info.get("state"), dict):
            from hybridops.sandbox.summary import describe_estate

            console.print(
                f"  estate           {describe_estate(info['state'])}",
                markup=False,
                highlight=False,
            )
        console.print("  use it with: hybridops --env sandbox ...")

    invocation.emit(info, show)


@app.command("up")
def up(
    ctx: typer.Context,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Run in the background.")] = False,
) -> int:
    """Start the sandbox (foreground until Ctrl-C, or --detach)."""
    from hybridops import paths
    from hybridops.sandbox import process, require_moto

    require_moto()
    invocation = invocation_of(ctx)
    record_path = paths.sandbox_record_path()
    if detach:
        _describe(invocation, process.start_detached(record_path))
        return 0

    def ready(record: dict[str, Any]) -> None:
        info = {**process.status(record_path), "running": True, "pid": record["pid"]}
        info.update(
            {
                k: record[k]
                for k in ("endpoint_url", "health_url", "secondary_health_url", "scenario")
            }
        )
        _describe(invocation, info)
        invocation.err_console().print("[dim]Ctrl-C to stop[/dim]")

    process.serve(record_path, on_ready=ready)
    return 0


@app.command("down")
def down(ctx: typer.Context) -> int:
    """Stop a detached sandbox."""
    from hybridops import paths
    from hybridops.sandbox import process

    invocation = invocation_of(ctx)
    stopped = process.stop(paths.sandbox_record_path())
    invocation.emit(
        {"stopped": stopped},
        otherwise=lambda: invocation.err_console().print(
            "sandbox stopped" if stopped else "no sandbox was running"
        ),
    )
    return 0


@app.command("status")
def status(ctx: typer.Context) -> int:
    """Show whether a sandbox runs and where (exit 1 if not running)."""
    from hybridops import paths
    from hybridops.sandbox import process

    invocation = invocation_of(ctx)
    info = process.status(paths.sandbox_record_path())
    if info["running"]:
        info["state"] = process.control(paths.sandbox_record_path(), "state")
    _describe(invocation, info)
    return 0 if info["running"] else 1


@app.command("scenarios")
def scenarios(ctx: typer.Context) -> int:
    """List the fault scenarios `sandbox break` can inject."""
    from hybridops.sandbox import require_moto

    require_moto()
    from hybridops.sandbox.scenarios import SCENARIOS

    invocation = invocation_of(ctx)
    rows = [
        {"name": s.name, "summary": s.summary, "symptoms": s.symptoms, "remedy": s.remedy}
        for s in SCENARIOS.values()
    ]

    def show(out: Console) -> None:
        from rich.table import Table

        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("name", "what breaks", "remedy"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["name"], row["summary"], row["remedy"])
        out.print(table)

    invocation.emit({"scenarios": rows}, show)
    return 0


@app.command("break")
def break_(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Argument(help="Scenario name (see `sandbox scenarios`).")],
) -> int:
    """Inject a fault scenario into the running sandbox."""
    from hybridops import paths
    from hybridops.sandbox import process

    invocation = invocation_of(ctx)
    result = process.control(paths.sandbox_record_path(), "break", scenario)

    def said() -> None:
        from rich.markup import escape

        from hybridops.sandbox.summary import describe_estate

        invocation.err_console().print(
            f"scenario [bold]{escape(scenario)}[/bold] injected: {escape(describe_estate(result))}",
            highlight=False,
        )

    invocation.emit(result, otherwise=said)
    return 0


@app.command("reset")
def reset(ctx: typer.Context) -> int:
    """Put the running sandbox back to its seeded, healthy state."""
    from hybridops import paths
    from hybridops.sandbox import process

    invocation = invocation_of(ctx)
    result = process.control(paths.sandbox_record_path(), "reset")

    def said() -> None:
        from hybridops.sandbox.summary import describe_estate

        invocation.err_console().print(
            f"sandbox reset: {describe_estate(result)}", markup=False, highlight=False
        )

    invocation.emit(result, otherwise=said)
    return 0
