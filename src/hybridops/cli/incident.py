"""`hybridops incident`: declare, update, escalate, resolve; timeline and post-mortem."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.state import AppState, app_state

if TYPE_CHECKING:
    from hybridops.state.store import StateStore

app = group("Incident lifecycle: open, update, note, escalate, resolve, timeline, post-mortem.")

IdArgument = Annotated[str, typer.Argument(help="Incident id, e.g. INC-20261129-061500.")]


def _store(state: AppState) -> StateStore:
    return state.runtime().store


def _config(state: AppState) -> Any:
    return state.runtime().loaded_config.config.incidents


def _emit(state: AppState, doc: dict[str, Any], text: str) -> None:
    if state.json:
        from hybridops.cli.render import emit_json

        emit_json(state.environment, doc)
    else:
        state.out_console().print(text, markup=False, highlight=False)


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "severity",
        "title",
        "status",
        "started_at",
        "respond_by",
        "escalate_at",
        "acknowledged_at",
        "resolved_at",
        "next_update_at",
        "commander",
        "service",
        "impact",
        "channel",
        "escalations",
    )
    return {k: record.get(k) for k in keys}


@app.command("open")
def open_(
    ctx: typer.Context,
    severity: Annotated[str, typer.Option("--severity", "-s", help="P0, P1, P2 or P3.")],
    title: Annotated[str, typer.Option("--title", "-t", help="What is happening, briefly.")],
    service: Annotated[str | None, typer.Option("--service", help="Affected service(s).")] = None,
    impact: Annotated[str | None, typer.Option("--impact", help="Who is affected, how.")] = None,
    commander: Annotated[
        str | None, typer.Option("--commander", help="Incident commander.")
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Communication channel, e.g. #inc-router.")
    ] = None,
) -> int:
    """Declare an incident: id, deadlines from the severity matrix; it becomes the active one."""
    from hybridops.incidents import open_incident

    state = app_state(ctx)
    record = open_incident(
        _store(state),
        _config(state),
        severity=severity.upper(),
        title=title,
        service=service,
        impact=impact,
        commander=commander,
        channel=channel,
    )
    doc = {
        "id": record["id"],
        "severity": record["severity"],
        "status": record["status"],
        "started_at": record["started_at"],
        "respond_by": record["respond_by"],
        "escalate_at": record["escalate_at"],
        "notified": [],
        "failed": [],
    }
    _emit(
        state,
        doc,
        f"{record['id']} {record['severity']} opened: {record['title']}\n"
        f"respond by {record['respond_by']}, escalate at {record['escalate_at'] or '-'}\n"
        "every hybridops command now goes on its timeline",
    )
    return 0


@app.command("update")
def update(
    ctx: typer.Context,
    incident_id: IdArgument,
    status: Annotated[
        str | None,
        typer.Option("--status", help="investigating, identified, monitoring or resolved."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="What changed.")] = None,
    next_update: Annotated[
        str | None, typer.Option("--next-update", help="When the next update is due, e.g. 30m.")
    ] = None,
) -> int:
    """Change the status (acknowledges the incident), add a note, promise the next update."""
    from hybridops.incidents import update as update_incident
    from hybridops.timeparse import parse_duration

    state = app_state(ctx)
    delay = parse_duration(next_update, option="--next-update") if next_update else None
    record = update_incident(
        _store(state), incident_id, status=status, note=note, next_update=delay
    )
    _emit(state, _summary(record), f"{record['id']} {record['status']}")
    return 0


@app.command("note")
def note(ctx: typer.Context, incident_id: IdArgument, text: str) -> int:
    """Add a note to the timeline."""
    from hybridops.incidents import update as update_incident

    state = app_state(ctx)
    record = update_incident(_store(state), incident_id, note=text)
    _emit(state, _summary(record), f"noted on {record['id']}")
    return 0


@app.command("escalate")
def escalate(
    ctx: typer.Context,
    incident_id: IdArgument,
    to: Annotated[
        str | None, typer.Option("--to", help="Who (default: next in the escalation chain).")
    ] = None,
) -> int:
    """Escalate to a person or team (the severity's escalation chain by default)."""
    from hybridops.incidents import escalate as escalate_incident

    state = app_state(ctx)
    record = escalate_incident(_store(state), _config(state), incident_id, to=to)
    _emit(state, _summary(record), f"{record['id']} escalated to {record['escalations'][-1]['to']}")
    return 0


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    incident_id: IdArgument,
    note: Annotated[str | None, typer.Option("--note", help="How it was resolved.")] = None,
) -> int:
    """Resolve the incident (it stops being the active one)."""
    from hybridops.incidents import update as update_incident

    state = app_state(ctx)
    record = update_incident(_store(state), incident_id, status="resolved", note=note)
    _emit(state, _summary(record), f"{record['id']} resolved at {record['resolved_at']}")
    return 0


@app.command("list")
def list_(
    ctx: typer.Context,
    only_open: Annotated[bool, typer.Option("--open", help="Only unresolved incidents.")] = False,
) -> int:
    """Incidents, newest first, with overdue acknowledgements and escalations flagged."""
    from hybridops.incidents import overdue
    from hybridops.state.store import utcnow

    state = app_state(ctx)
    now = utcnow()
    store = _store(state)
    active = store.active_incident()
    rows = []
    for record in store.list_incidents():
        if only_open and record["status"] == "resolved":
            continue
        rows.append(
            _summary(record) | {"overdue": overdue(record, now), "active": record["id"] == active}
        )
    if state.json:
        from hybridops.cli.render import emit_json

        emit_json(state.environment, {"incidents": rows})
        return 0
    console = state.out_console()
    if not rows:
        console.print("no incidents")
    for row in rows:
        late = f"  OVERDUE: {', '.join(row['overdue'])}" if row["overdue"] else ""
        marker = "*" if row["active"] else " "
        console.print(
            f"{marker} {row['id']} {row['severity']} {row['status']:<13} {row['title']}{late}",
            markup=False,
            highlight=False,
        )
    return 0


@app.command("show")
def show(ctx: typer.Context, incident_id: IdArgument) -> int:
    """One incident with its deadlines and what is overdue."""
    from hybridops.incidents import get, overdue
    from hybridops.state.store import utcnow

    state = app_state(ctx)
    record = get(_store(state), incident_id)
    doc = _summary(record) | {"overdue": overdue(record, utcnow())}
    text = "\n".join(f"{k}: {v}" for k, v in doc.items() if v not in (None, []))
    _emit(state, doc, text)
    return 0


@app.command("timeline")
def timeline(ctx: typer.Context, incident_id: IdArgument) -> int:
    """Everything recorded for the incident, including every hybridops command run during it."""
    from hybridops.incidents import get

    state = app_state(ctx)
    store = _store(state)
    get(store, incident_id)
    entries = store.timeline(incident_id)
    text = "\n".join(
        f"{e['at']} [{e['kind']}] {e['text']}" + (f" — {e['outcome']}" if e.get("outcome") else "")
        for e in entries
    )
    _emit(state, {"id": incident_id, "entries": entries}, text or "no entries")
    return 0


@app.command("postmortem")
def postmortem(
    ctx: typer.Context,
    incident_id: IdArgument,
    out: Annotated[Path | None, typer.Option("--out", help="Write the Markdown here.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="markdown or json.")] = "markdown",
) -> int:
    """A blameless post-mortem draft: summary, impact, metrics, the recorded timeline."""
    from hybridops.errors import BadInput
    from hybridops.incidents import get, metrics
    from hybridops.incidents import postmortem as draft

    state = app_state(ctx)
    if fmt not in ("markdown", "json"):
        raise BadInput(f"--format {fmt!r}: expected markdown or json")
    store = _store(state)
    record = get(store, incident_id)
    entries = store.timeline(incident_id)
    if fmt == "json" or state.json:
        from hybridops.cli.render import emit_json

        emit_json(
            state.environment,
            {
                "incident": _summary(record),
                "metrics": metrics(record, entries),
                "timeline": entries,
            },
        )
        return 0
    text = draft(record, entries)
    if out is not None:
        out.write_text(text)
        state.err_console().print(f"wrote {out}")
    else:
        state.environment.stdout.write(text)
    return 0
