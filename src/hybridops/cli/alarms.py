"""`hybridops alarms sync|list`: the alarms the runbooks assume, as code; where on-call starts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.invocation import invocation_of

if TYPE_CHECKING:
    from rich.console import Console

app = group("Alerting as code: sync the alarms the runbooks assume; list them, worst first.")

MARK = {"create": "+", "update": "~", "unchanged": "=", "delete": "-", "would delete": "?"}


def duration_words(seconds: float | None) -> str:
    """3d4h, 2h05m, 12m, 40s."""
    if seconds is None:
        return ""
    s = int(max(0, seconds))
    if s >= 86400:
        return f"{s // 86400}d{s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m"
    return f"{s}s"


@app.command("sync")
def sync(
    ctx: typer.Context,
    prune: Annotated[
        bool,
        typer.Option("--prune", help="Delete alarms hybridops made that config no longer has."),
    ] = False,
) -> int:
    """Create or update the alarms from config (diff first; --dry-run shows it only)."""
    from hybridops.engine.execute import new_run_id
    from hybridops.proactive.alarms import sync_apply, sync_plan

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    changes, notes = sync_plan(runtime, prune=prune)
    err = invocation.err_console()
    for change in changes:
        fields = f" ({', '.join(change.fields)})" if change.fields else ""
        err.print(
            f"  {MARK[change.action]} {change.action:<12} {change.name} [{change.region}]"
            f" {change.severity}{fields}",
            markup=False,
            highlight=False,
        )
    for note in notes:
        err.print(f"  note: not defined: {note}", markup=False, highlight=False)
    run_id = new_run_id()
    count = sync_apply(runtime, changes, run_id)
    status = "unchanged" if count == 0 else ("planned" if runtime.mode.dry_run else "applied")
    doc: dict[str, Any] = {
        "status": status,
        "changes": [c.as_dict() for c in changes],
        "notes": notes,
        "run_id": run_id if count else None,
    }

    def show(out: Console) -> None:
        summary = {a: sum(1 for c in changes if c.action == a) for a in MARK}
        words = ", ".join(f"{n} {a}" for a, n in summary.items() if n)
        out.print(f"{status}: {words or 'no alarms'}", markup=False)

    invocation.emit(doc, show)
    return 0


@app.command("list")
def list_alarms(
    ctx: typer.Context,
    firing: Annotated[bool, typer.Option("--firing", help="Only alarms in ALARM.")] = False,
) -> int:
    """Every alarm with its state, severity, how long, and the command to run for it."""
    from hybridops.proactive.alarms import listing
    from hybridops.proactive.maintenance import open_window
    from hybridops.state.store import utcnow

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    now = utcnow()
    rows = listing(runtime, firing=firing, now=now)
    window = open_window(runtime, now)
    doc = {
        "alarms": [r.as_dict() for r in rows],
        "firing": sum(1 for r in rows if r.state == "ALARM"),
        "maintenance": _window_summary(window),
    }

    def show(out: Console) -> None:
        from rich.table import Table

        if window:
            late = "OVERDUE, " if window["overdue"] else ""
            out.print(
                f"maintenance window {window['id']} open ({late}since {window['started_at']},"
                f" by {window['opened_by']}): alarm actions muted."
                " End it: hybridops maintenance end",
                markup=False,
                style="yellow",
            )
        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("state", "sev", "alarm", "for", "run"):
            table.add_column(column)
        import shlex

        from hybridops.triage.run import command_prefix

        prefix = " ".join(shlex.quote(w) for w in command_prefix(runtime))
        for row in rows:
            muted = " (muted)" if not row.actions_enabled else ""
            style = {"ALARM": "red", "INSUFFICIENT_DATA": "yellow"}.get(row.state, "")
            table.add_row(
                f"[{style}]{row.state}[/{style}]" if style else row.state,
                row.severity,
                row.name + muted,
                duration_words(row.for_s),
                _with_env(row.command, prefix),
            )
        out.print(table)
        if firing:
            # Also when nothing fires: a Bedrock outage, say, has no alarm of its own.
            from hybridops.cli.triage import next_after

            line = next_after(runtime)
            if rows or not line.startswith("next: nothing"):
                out.print(runtime.redactor.text(line), markup=False, highlight=False)

    invocation.emit(doc, show)
    return 0


def _with_env(command: str, prefix: str) -> str:
    """An alarm's command (kept without an environment) as this environment runs it."""
    if command.startswith("hybridops ") and "--env" not in command:
        return f"{prefix} {command.removeprefix('hybridops ')}"
    return command


def _window_summary(window: dict[str, Any] | None) -> dict[str, Any] | None:
    if window is None:
        return None
    keys = ("id", "reason", "opened_by", "started_at", "ends_at", "overdue", "muted")
    return {k: window.get(k) for k in keys}
