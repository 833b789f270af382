"""`hybridops maintenance start|end|status|checklist`: guarded maintenance windows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.invocation import invocation_of

if TYPE_CHECKING:
    from rich.console import Console

app = group("Maintenance windows: snapshot, mute alarm actions, checklist; end restores them.")


def _print_differences(out: Console, differences: list[dict[str, Any]]) -> None:
    if not differences:
        out.print("pre/post: no differences", markup=False)
        return
    from hybridops.plaintext import scalar

    out.print("pre/post:", markup=False)
    for d in differences:
        flag = "REGRESSION" if d["regression"] else "changed"
        note = f" ({d['note']})" if d.get("note") else ""
        # Record values are lists, a missing reading is None: words, not Python reprs.
        change = f"{scalar(d['before'])} -> {scalar(d['after'])}"
        out.print(f"  {flag:<10} {d['what']}: {change}{note}", markup=False)


@app.command("start")
def start(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="What the maintenance is.")] = "",
    duration: Annotated[
        str | None, typer.Option("--duration", help="How long, e.g. 1h, 90m (config default 1h).")
    ] = None,
    emergency: Annotated[
        bool, typer.Option("--emergency", help="Skip the checklist; the snapshot is still taken.")
    ] = False,
) -> int:
    """Open a window: checklist, pre-maintenance snapshot, mute the service's alarm actions."""
    from hybridops.proactive import maintenance
    from hybridops.timeparse import parse_duration

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    settings = runtime.env.settings.maintenance
    length = parse_duration(duration or settings.duration, option="--duration")
    if not reason.strip():
        from hybridops.errors import BadInput

        raise BadInput("--reason is required: say what the maintenance is, for the record")
    items = maintenance.checklist(runtime)
    terminal = invocation.terminal
    if not emergency and not runtime.mode.assume_yes and terminal.interactive:
        invocation.err_console().print("checklist:", markup=False)
    ticked = maintenance.tick(
        items,
        emergency=emergency,
        assume_yes=runtime.mode.assume_yes or runtime.mode.dry_run,
        ask=terminal.ask if terminal.interactive else None,
    )
    record = maintenance.start(
        runtime, reason=reason, duration=length, emergency=emergency, ticked=ticked
    )
    muted = sum(len(v) for v in record["muted"].values())
    doc = {
        "status": record["status"],
        "id": record["id"],
        "ends_at": record["ends_at"],
        "muted": record["muted"],
        "already_muted": record["already_muted"],
        "checklist": record["checklist"],
        "pre": record["pre"],
    }

    def show(out: Console) -> None:
        verb = "dry run: would open" if record["status"] == "planned" else "opened"
        out.print(
            f"{verb} {record['id']} until {record['ends_at']}: {muted} alarm action(s) muted;"
            f" health {record['pre'].get('health', {}).get('status', '?')}."
            " End it with: hybridops maintenance end",
            markup=False,
        )

    invocation.emit(doc, show)
    return 0


@app.command("end")
def end(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="End a window someone else opened (restores it).")
    ] = False,
) -> int:
    """Close the window: restore exactly the muted alarm actions; pre/post compared (exit 1
    when a regression is found)."""
    from hybridops.proactive import maintenance

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    record = maintenance.end(runtime, force=force)
    regressions = record["regressions"]

    def show(out: Console) -> None:
        restored = sum(len(v) for v in record["muted"].values())
        if record["status"] == "planned":
            text = f"dry run: would end {record['id']} and restore {restored} alarm action(s)"
        else:
            text = f"ended {record['id']}: {restored} alarm action(s) restored"
        out.print(text, markup=False)
        _print_differences(out, record["differences"])

    invocation.emit(
        {
            "status": record["status"],
            "id": record["id"],
            "restored": record["muted"],
            "forced": record["forced"],
            "differences": record["differences"],
            "regressions": regressions,
            "post": record["post"],
        },
        show,
    )
    return 1 if regressions else 0


@app.command("status")
def status(ctx: typer.Context) -> int:
    """The open window (elapsed, remaining or overdue, muted alarms), or the last one."""
    from hybridops.cli.alarms import duration_words
    from hybridops.proactive import maintenance

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    doc = maintenance.status(runtime)

    def show(out: Console) -> None:
        if not doc["open"]:
            last = doc["last"]
            text = (
                f"no window open; last: {last['id']} ({last['reason']})" if last else "no windows"
            )
            out.print(text, markup=False)
            return
        window = doc["window"]
        when = (
            f"OVERDUE by {duration_words(-doc['remaining_s'])}"
            if doc["overdue"]
            else f"{duration_words(doc['remaining_s'])} left"
        )
        out.print(
            f"{window['id']} open for {duration_words(doc['elapsed_s'])}, {when}:"
            f" {window['reason']} (by {window['opened_by']})",
            markup=False,
        )
        for region, names in window["muted"].items():
            out.print(f"  muted in {region}: {', '.join(names)}", markup=False)
        for item in window["checklist"]:
            mark = "x" if item["ticked"] else " "
            out.print(f"  [{mark}] {item['item']} {item['note']}".rstrip(), markup=False)

    invocation.emit(doc, show)
    return 0


@app.command("checklist")
def checklist(ctx: typer.Context) -> int:
    """The checklist `maintenance start` ticks, in order (config: maintenance.checklist)."""
    from hybridops.proactive import maintenance

    invocation = invocation_of(ctx)
    items = maintenance.checklist(invocation.runtime())

    def show(out: Console) -> None:
        for number, item in enumerate(items, 1):
            out.print(f"{number}. {item}", markup=False)

    invocation.emit({"checklist": items}, show)
    return 0
