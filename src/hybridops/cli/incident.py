"""`hybridops incident`: declare, update, escalate, resolve; timeline and post-mortem."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli import completion
from hybridops.cli.apps import group
from hybridops.cli.state import AppState, app_state

if TYPE_CHECKING:
    from hybridops.state.store import StateStore

app = group("Incident lifecycle: open, update, note, escalate, resolve, timeline, post-mortem.")

IdArgument = Annotated[
    str | None,
    typer.Argument(
        help="Incident id, e.g. INC-20261129-061500 (default: the active one).",
        autocompletion=completion.incidents,
    ),
]


def _id(state: AppState, given: str | None, *, latest: bool = False) -> str:
    """The given id, else the active incident, else (if `latest`) the most recent one."""
    from hybridops.errors import BadInput

    if given:
        return given
    store = _store(state)
    active = store.active_incident()
    if active:
        return active
    if latest:
        every = store.list_incidents()
        if every:
            return str(every[0]["id"])
    raise BadInput("no active incident: give its id (see `hybridops incident list`)")


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


def _dry_run(state: AppState) -> bool:
    """--dry-run: the feature functions compute the change and write nothing."""
    return state.options.dry_run


def _emit_planned(state: AppState, action: str, doc: dict[str, Any], text: str) -> None:
    """A dry run's report: `{"status": "planned", ...}`, or `dry run: would ...` as text."""
    _emit(
        state,
        {"status": "planned", "dry_run": True, "action": action} | doc,
        f"dry run: would {text} (nothing written, nothing sent)",
    )


def _to(sent: dict[str, Any]) -> str:
    """Where a planned message would go, in words."""
    return ", ".join(sent.get("channels", [])) or "no channel (none configured)"


def _notice(sent: dict[str, Any]) -> dict[str, Any]:
    """The notification part of a planned document."""
    return {"notify": {"channels": sent.get("channels", []), "message": sent.get("message")}}


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
        dry_run=_dry_run(state),
    )
    from hybridops.notify import send_for

    sent = send_for(state.runtime(), record, "initial")
    _report_sending(state, sent)
    if sent.get("dry_run"):
        _emit_planned(
            state,
            "open",
            {"incident": _summary(record)} | _notice(sent),
            f"open a {record['severity']} incident: {record['title']}; notify {_to(sent)}",
        )
        return 0
    doc = {
        "id": record["id"],
        "severity": record["severity"],
        "status": record["status"],
        "started_at": record["started_at"],
        "respond_by": record["respond_by"],
        "escalate_at": record["escalate_at"],
        "notified": sent["notified"],
        "failed": sent["failed"],
    }
    _emit(
        state,
        doc,
        f"{record['id']} {record['severity']} opened: {record['title']}\n"
        f"respond by {record['respond_by']}, escalate at {record['escalate_at'] or '-'}\n"
        "every hybridops command now goes on its timeline",
    )
    return 0


def _report_sending(state: AppState, sent: dict[str, Any]) -> None:
    err = state.err_console()
    if sent.get("dry_run"):
        err.print(f"dry run: this message is not sent (to: {_to(sent)})", markup=False)
        err.print(sent["message"], markup=False, highlight=False)
        return
    for name in sent["notified"]:
        err.print(f"notified {name}", markup=False)
    for failure in sent["failed"]:
        err.print(
            f"NOT notified {failure['channel']}: {failure['error']}"
            " (kept; `hybridops incident notify ID` resends)",
            markup=False,
            highlight=False,
        )


@app.command("notify")
def notify(ctx: typer.Context, incident_id: IdArgument = None) -> int:
    """Resend notifications that failed (or, if none did, send the current status)."""
    from hybridops.incidents import get
    from hybridops.notify import resend, send_for, unsent

    state = app_state(ctx)
    incident_id = _id(state, incident_id)
    record = get(_store(state), incident_id)
    failed_before = bool(unsent(record))
    runtime = state.runtime()
    sent = resend(runtime, record) if failed_before else send_for(runtime, record, "update")
    _report_sending(state, sent)
    if sent.get("dry_run"):
        _emit_planned(
            state,
            "notify",
            {"id": incident_id} | _notice(sent),
            f"notify {_to(sent)} about {incident_id}",
        )
        return 0
    _emit(
        state,
        {"id": incident_id, "notified": sent["notified"], "failed": sent["failed"]},
        f"{incident_id}: notified {', '.join(sent['notified']) or 'none'}",
    )
    return 1 if sent["failed"] else 0


@app.command("update")
def update(
    ctx: typer.Context,
    incident_id: IdArgument = None,
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
    incident_id = _id(state, incident_id)
    delay = parse_duration(next_update, option="--next-update") if next_update else None
    record = update_incident(
        _store(state),
        incident_id,
        status=status,
        note=note,
        next_update=delay,
        dry_run=_dry_run(state),
    )
    if _dry_run(state):
        _emit_planned(
            state,
            "update",
            {"incident": _summary(record)},
            f"update {record['id']}: status {record['status']}",
        )
        return 0
    _emit(state, _summary(record), f"{record['id']} {record['status']}")
    return 0


@app.command("note")
def note(
    ctx: typer.Context,
    incident_id: Annotated[
        str, typer.Argument(help="Incident id.", autocompletion=completion.incidents)
    ],
    text: Annotated[str, typer.Argument(help="The note.")],
) -> int:
    """Add a note to the timeline."""
    from hybridops.incidents import update as update_incident

    state = app_state(ctx)
    record = update_incident(_store(state), incident_id, note=text, dry_run=_dry_run(state))
    if _dry_run(state):
        _emit_planned(
            state, "note", {"incident": _summary(record), "note": text}, f"note on {record['id']}"
        )
        return 0
    _emit(state, _summary(record), f"noted on {record['id']}")
    return 0


@app.command("escalate")
def escalate(
    ctx: typer.Context,
    incident_id: IdArgument = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Who (default: next in the escalation chain).")
    ] = None,
) -> int:
    """Escalate to a person or team (the severity's escalation chain by default)."""
    from hybridops.incidents import escalate as escalate_incident

    state = app_state(ctx)
    incident_id = _id(state, incident_id)
    record = escalate_incident(
        _store(state), _config(state), incident_id, to=to, dry_run=_dry_run(state)
    )
    target = record["escalations"][-1]["to"]
    if _dry_run(state):
        _emit_planned(
            state,
            "escalate",
            {"incident": _summary(record), "to": target},
            f"escalate {record['id']} to {target}",
        )
        return 0
    _emit(state, _summary(record), f"{record['id']} escalated to {target}")
    return 0


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    incident_id: IdArgument = None,
    note: Annotated[str | None, typer.Option("--note", help="How it was resolved.")] = None,
) -> int:
    """Resolve the incident (it stops being the active one)."""
    from hybridops.incidents import update as update_incident

    state = app_state(ctx)
    incident_id = _id(state, incident_id)
    record = update_incident(
        _store(state), incident_id, status="resolved", note=note, dry_run=_dry_run(state)
    )
    from hybridops.notify import send_for

    # Tell the channels too: PagerDuty closes its incident on the resolve event.
    sent = send_for(state.runtime(), record, "update", note=note)
    _report_sending(state, sent)
    if sent.get("dry_run"):
        _emit_planned(
            state,
            "resolve",
            {"incident": _summary(record)} | _notice(sent),
            f"resolve {record['id']}; notify {_to(sent)}",
        )
        return 0
    doc = _summary(record) | {"notified": sent["notified"], "failed": sent["failed"]}
    _emit(state, doc, f"{record['id']} resolved at {record['resolved_at']}")
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
def show(ctx: typer.Context, incident_id: IdArgument = None) -> int:
    """One incident with its deadlines and what is overdue."""
    from hybridops.incidents import get, overdue
    from hybridops.state.store import utcnow

    state = app_state(ctx)
    incident_id = _id(state, incident_id, latest=True)
    record = get(_store(state), incident_id)
    doc = _summary(record) | {"overdue": overdue(record, utcnow())}
    text = "\n".join(f"{k}: {v}" for k, v in doc.items() if v not in (None, []))
    _emit(state, doc, text)
    return 0


@app.command("timeline")
def timeline(ctx: typer.Context, incident_id: IdArgument = None) -> int:
    """Everything recorded for the incident, including every hybridops command run during it."""
    from hybridops.incidents import get

    state = app_state(ctx)
    incident_id = _id(state, incident_id, latest=True)
    store = _store(state)
    get(store, incident_id)
    entries = store.timeline(incident_id)
    text = "\n".join(
        f"{e.get('at')} [{e.get('kind', '?')}] {e.get('text', '')}"
        + (f" — {e['outcome']}" if e.get("outcome") else "")
        for e in entries
    )
    _emit(state, {"id": incident_id, "entries": entries}, text or "no entries")
    return 0


@app.command("postmortem")
def postmortem(
    ctx: typer.Context,
    incident_id: IdArgument = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the post-mortem here; its path is printed instead."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="markdown or json.")] = "markdown",
) -> int:
    """A blameless post-mortem draft: summary, impact, metrics, the recorded timeline."""
    import json

    from hybridops.errors import BadInput
    from hybridops.incidents import get, metrics
    from hybridops.incidents import postmortem as draft

    state = app_state(ctx)
    incident_id = _id(state, incident_id, latest=True)
    if fmt not in ("markdown", "json"):
        raise BadInput(f"--format {fmt!r}: expected markdown or json")
    store = _store(state)
    record = get(store, incident_id)
    entries = store.timeline(incident_id)
    document = {
        "incident": _summary(record),
        "metrics": metrics(record, entries),
        "timeline": entries,
    }
    if out is None:
        if fmt == "json" or state.json:
            from hybridops.cli.render import emit_json

            emit_json(state.environment, document)
        else:
            actions = [a for a in store.list_actions() if a["incident_id"] == incident_id]
            state.environment.stdout.write(draft(record, entries, actions))
        return 0
    from hybridops.paths import write_named_file

    if fmt == "json":
        text = json.dumps(document, indent=2, default=str) + "\n"
    else:
        actions = [a for a in store.list_actions() if a["incident_id"] == incident_id]
        text = draft(record, entries, actions)
    write_named_file(out, text)
    # stdout keeps its promise: the path (text) or one JSON document (-o json), never the draft.
    if state.json:
        from hybridops.cli.render import emit_json

        emit_json(
            state.environment, {"status": "ok", "id": incident_id, "path": str(out), "format": fmt}
        )
    else:
        state.environment.stdout.write(f"{out}\n")
    return 0


action_app = group("Post-incident action items: add, list, done.")
app.add_typer(action_app, name="action")


@action_app.command("add")
def action_add(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    text: Annotated[str, typer.Argument(help="What must be done.")],
    owner: Annotated[str, typer.Option("--owner", help="Who owns it.")],
    due: Annotated[str, typer.Option("--due", help="Due date, YYYY-MM-DD.")],
) -> int:
    """Add an action item to an incident."""
    from hybridops.incidents import add_action

    state = app_state(ctx)
    item = add_action(
        _store(state), incident_id, text, owner=owner, due=due, dry_run=_dry_run(state)
    )
    if _dry_run(state):
        _emit_planned(
            state,
            "action add",
            {"item": item},
            f"add an action item to {incident_id} for {owner}, due {item['due']}: {text}",
        )
        return 0
    _emit(state, item, f"action #{item['n']} added")
    return 0


@action_app.command("list")
def action_list(
    ctx: typer.Context,
    overdue_only: Annotated[
        bool, typer.Option("--overdue", help="Only open items past their due date.")
    ] = False,
) -> int:
    """Action items across incidents, overdue ones flagged."""
    import datetime as dt

    state = app_state(ctx)
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    items = []
    for item in _store(state).list_actions():
        late = not item.get("done_at") and item["due"] < today
        if overdue_only and not late:
            continue
        items.append(item | {"overdue": late})
    if state.json:
        from hybridops.cli.render import emit_json

        emit_json(state.environment, {"actions": items})
        return 0
    console = state.out_console()
    if not items:
        console.print("no action items")
    for item in items:
        status = "done" if item.get("done_at") else ("OVERDUE" if item["overdue"] else "open")
        console.print(
            f"#{item['n']} {item['incident_id']} {status:<7} due {item['due']}"
            f" {item['owner']}: {item['text']}",
            markup=False,
            highlight=False,
        )
    return 0


@action_app.command("done")
def action_done(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(min=1, max=1_000_000, help="The item's number.")],
) -> int:
    """Mark an action item done."""
    from hybridops.incidents import complete_action

    state = app_state(ctx)
    item = complete_action(_store(state), number, dry_run=_dry_run(state))
    if _dry_run(state):
        _emit_planned(state, "action done", {"item": item}, f"mark action #{number} done")
        return 0
    _emit(state, item, f"action #{number} done")
    return 0
