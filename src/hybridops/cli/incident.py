"""`hybridops incident`: declare, acknowledge, update, escalate, resolve; timeline, post-mortem."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli import completion
from hybridops.cli.apps import group
from hybridops.cli.invocation import Invocation, invocation_of

if TYPE_CHECKING:
    from rich.console import Console

    from hybridops.state.store import StateStore

app = group(
    "Incident lifecycle: open, ack, update, note, escalate, resolve, timeline, post-mortem."
)

IdArgument = Annotated[
    str | None,
    typer.Argument(
        help="Incident id, e.g. INC-20261129-061500 (default: the active one).",
        autocompletion=completion.incidents,
    ),
]


def _id(invocation: Invocation, given: str | None, *, latest: bool = False) -> str:
    """The given id, else --incident, else the active one, else (`latest`) the newest one."""
    from hybridops.errors import BadInput

    if given:
        return given
    if invocation.options.incident:
        return invocation.options.incident
    store = _store(invocation)
    active = store.active_incident()
    if active:
        return active
    if latest:
        every = store.list_incidents()
        if every:
            return str(every[0]["id"])
    raise BadInput("no active incident: give its id (see `hybridops incident list`)")


def _store(invocation: Invocation) -> StateStore:
    return invocation.runtime().store


def _config(invocation: Invocation) -> Any:
    return invocation.runtime().loaded_config.config.incidents


def _dry_run(invocation: Invocation) -> bool:
    """--dry-run: the feature functions compute the change and write nothing."""
    return invocation.options.dry_run


def _emit_planned(invocation: Invocation, action: str, doc: dict[str, Any], text: str) -> None:
    """A dry run's report: `{"status": "planned", ...}`, or `dry run: would ...` as text."""
    first, *details = text.split("\n")
    invocation.emit(
        {"status": "planned", "dry_run": True, "action": action} | doc,
        "\n".join([f"dry run: would {first} (nothing written, nothing sent)", *details]),
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
        "acknowledged_by",
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
    force: Annotated[
        bool,
        typer.Option("--force", help="Open it even if an open incident has the same title."),
    ] = False,
) -> int:
    """Declare an incident: id, deadlines from the severity matrix; it becomes the active one."""
    from hybridops.incidents.lifecycle import open_incident

    invocation = invocation_of(ctx)
    store = _store(invocation)
    before = _open_record(store, store.active_incident())
    record = open_incident(
        store,
        _config(invocation),
        severity=severity.upper(),
        title=title,
        service=service,
        impact=impact,
        commander=commander,
        channel=channel,
        dry_run=_dry_run(invocation),
        force=force,
    )
    from hybridops.incidents.notify import send_for

    sent = send_for(invocation.runtime(), record, "initial")
    _report_sending(invocation, sent)
    if sent.get("dry_run"):
        _emit_planned(
            invocation,
            "open",
            {"incident": _summary(record)} | _notice(sent),
            f"open a {record['severity']} incident: {record['title']}; notify {_to(sent)}"
            + (
                f"\n(--force: {record['same_title_as']} is open with the same title)"
                if record.get("same_title_as")
                else ""
            ),
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
    lines = [
        f"{record['id']} {record['severity']} opened: {record['title']}",
        f"respond by {when(record['respond_by'])}, {_escalate_at(record)}",
        "it is the active incident: every hybridops command now goes on its timeline",
    ]
    if record.get("same_title_as"):
        lines.append(f"(--force: {record['same_title_as']} is still open with the same title)")
    if before is not None:
        lines.append(f"{_one_line(before)} stays open; it is no longer the active incident")
    invocation.emit(doc, "\n".join(lines))
    return 0


def _escalate_at(record: dict[str, Any]) -> str:
    """The escalation deadline in words."""
    if not record.get("escalate_at"):
        return "no escalation deadline"
    return f"escalate at {when(record['escalate_at'])}"


def _one_line(record: dict[str, Any]) -> str:
    """`INC-… (P1, investigating: router slow)`: an incident named as a person reads it."""
    # .get: records migrated from older versions (or another tool) may lack a field.
    severity, status = record.get("severity", "?"), record.get("status", "?")
    return f"{record['id']} ({severity}, {status}: {record.get('title', '')})"


def _open_record(store: StateStore, incident_id: str | None) -> dict[str, Any] | None:
    """The incident, if there is one by that id and it is not resolved."""
    record = store.get_incident(incident_id) if incident_id else None
    return record if record and record.get("status") != "resolved" else None


def when(text: str | None) -> str:
    """A recorded time as a person reads it."""
    from hybridops.incidents.lifecycle import when as human

    return human(text)


def _report_sending(invocation: Invocation, sent: dict[str, Any]) -> None:
    err = invocation.err_console()
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
    from hybridops.incidents.lifecycle import get
    from hybridops.incidents.notify import resend, send_for, unsent

    invocation = invocation_of(ctx)
    incident_id = _id(invocation, incident_id)
    record = get(_store(invocation), incident_id)
    failed_before = bool(unsent(record))
    runtime = invocation.runtime()
    sent = resend(runtime, record) if failed_before else send_for(runtime, record, "update")
    _report_sending(invocation, sent)
    if sent.get("dry_run"):
        _emit_planned(
            invocation,
            "notify",
            {"id": incident_id} | _notice(sent),
            f"notify {_to(sent)} about {incident_id}",
        )
        return 0
    invocation.emit(
        {"id": incident_id, "notified": sent["notified"], "failed": sent["failed"]},
        f"{incident_id}: notified {', '.join(sent['notified']) or 'none'}",
    )
    return 1 if sent["failed"] else 0


@app.command("ack")
def ack(ctx: typer.Context, incident_id: IdArgument = None) -> int:
    """Acknowledge the incident: who and when go on its timeline (once; again is a no-op)."""
    from hybridops.incidents.lifecycle import acknowledge, seconds_between, took

    invocation = invocation_of(ctx)
    incident_id = _id(invocation, incident_id)
    store = _store(invocation)
    record, did = acknowledge(store, incident_id, dry_run=_dry_run(invocation))
    after = took(seconds_between(record["started_at"], record["acknowledged_at"]))
    who = record.get("acknowledged_by")
    by = f" by {who}" if who else ""
    doc: dict[str, Any] = {
        "id": incident_id,
        "changed": did,  # False: it was acknowledged already, nothing written
        "acknowledged_at": record["acknowledged_at"],
        "acknowledged_by": who,
        "time_to_acknowledge_s": seconds_between(record["started_at"], record["acknowledged_at"]),
    }
    if not did:
        # Idempotent: nothing written, nobody told again.
        invocation.emit(
            doc | {"notified": [], "failed": []},
            f"{incident_id} was already acknowledged{by} at {when(record['acknowledged_at'])}"
            f" ({after} after it started); nothing changed",
        )
        return 0
    from hybridops.incidents.notify import send_for

    sent = send_for(invocation.runtime(), record, "ack", note=f"acknowledged{by}")
    _report_sending(invocation, sent)
    if sent.get("dry_run"):
        _emit_planned(
            invocation,
            "ack",
            {"incident": _summary(record)} | _notice(sent),
            f"acknowledge {_one_line(record)}{by}; notify {_to(sent)}",
        )
        return 0
    invocation.emit(
        doc | {"notified": sent["notified"], "failed": sent["failed"]},
        f"{incident_id} acknowledged{by} at {when(record['acknowledged_at'])}"
        f" ({after} after it started)",
    )
    return 0


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
    severity: Annotated[
        str | None,
        typer.Option(
            "--severity",
            "-s",
            help="New severity (P0-P3): its deadlines restart now; the channels are told.",
        ),
    ] = None,
    commander: Annotated[
        str | None,
        typer.Option("--commander", help="Hand over to a new commander; the channels are told."),
    ] = None,
) -> int:
    """Change status, severity or commander (acknowledges it), add a note, promise an update."""
    from hybridops.incidents.lifecycle import change
    from hybridops.timeparse import parse_duration

    invocation = invocation_of(ctx)
    incident_id = _id(invocation, incident_id)
    delay = parse_duration(next_update, option="--next-update") if next_update else None
    result = change(
        _store(invocation),
        incident_id,
        status=status,
        note=note,
        next_update=delay,
        severity=severity,
        commander=commander,
        config=_config(invocation),
        dry_run=_dry_run(invocation),
    )
    record = result.record
    sent: dict[str, Any] = {"notified": [], "failed": []}
    if result.worth_telling:
        from hybridops.incidents.notify import send_for

        told = "\n".join([*result.said, *([note] if note else [])])
        sent = send_for(invocation.runtime(), record, "update", note=told)
        _report_sending(invocation, sent)
    details = list(result.changes)
    if note:
        details.append(f"note: {note}")
    if delay is not None:
        details.append(f"next update due {when(record['next_update_at'])}")
    if _dry_run(invocation):
        notice = _notice(sent) if sent.get("dry_run") else {}
        told_to = f"; notify {_to(sent)}" if sent.get("dry_run") else ""
        _emit_planned(
            invocation,
            "update",
            {"incident": _summary(record), "changes": result.changes}
            | _active_doc(result)
            | notice,
            "\n".join([f"update {_one_line(record)}{told_to}", *details, *_handover(result, True)]),
        )
        return 0
    lines = [f"updated {_one_line(record)}", *details, *_handover(result)]
    doc = _summary(record) | {
        "changes": result.changes,
        "notified": sent["notified"],
        "failed": sent["failed"],
    }
    invocation.emit(doc | _active_doc(result), "\n".join(lines))
    return 0


def _handover(result: Any, planned: bool = False) -> list[str]:
    """What a resolve did (or would do) to the active incident, in words."""
    if result.record["status"] != "resolved" or not result.was_active:
        return []
    if result.active_now is None:
        return [
            "no incident would be open: none active"
            if planned
            else "no incident is open now: none is active"
        ]
    becomes = "would become" if planned else "is now"
    return [f"{_one_line(result.active_now)} {becomes} the active incident"]


def _active_doc(result: Any) -> dict[str, Any]:
    """The JSON side of `_handover`: which incident is active after a resolve."""
    if result.record["status"] != "resolved" or not result.was_active:
        return {}
    nxt = result.active_now
    return {"active_incident": _summary(nxt) if nxt else None}


@app.command("note")
def note(
    ctx: typer.Context,
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="[ID] TEXT",
            help="The note (quoted), on the active incident or on the incident ID.",
            autocompletion=completion.incidents,
        ),
    ],
) -> int:
    """Add a note to the timeline: `note "text"` (the active incident) or `note ID "text"`."""
    from hybridops.incidents.lifecycle import update as update_incident

    invocation = invocation_of(ctx)
    incident_id, text = _note_args(invocation, words)
    record = update_incident(
        _store(invocation), incident_id, note=text, dry_run=_dry_run(invocation)
    )
    if _dry_run(invocation):
        _emit_planned(
            invocation,
            "note",
            {"incident": _summary(record), "note": text},
            f"note on {_one_line(record)}: {text}",
        )
        return 0
    invocation.emit(_summary(record) | {"note": text}, f"noted on {_one_line(record)}: {text}")
    return 0


def _note_args(invocation: Invocation, words: list[str]) -> tuple[str, str]:
    """(incident id, text) from `TEXT` or `ID TEXT`; anything else is refused, not guessed."""
    # An id has the shape `open` gives, or is one the store holds (e.g. migrated ones).
    from hybridops.errors import BadInput
    from hybridops.incidents.lifecycle import looks_like_id

    def is_id(word: str) -> bool:
        return looks_like_id(word) or _store(invocation).get_incident(word) is not None

    if len(words) == 1:
        if is_id(words[0]):
            raise BadInput(f'no note text after {words[0]}: `hybridops incident note ID "TEXT"`')
        text = words[0]
        incident_id = _id(invocation, None)
    elif len(words) == 2 and is_id(words[0]):
        incident_id, text = words
    elif len(words) == 2:
        raise BadInput(
            f"{words[0]!r} is not an incident id: quote the note"
            f' (`hybridops incident note "{" ".join(words)}"`) or give an id first'
        )
    else:
        raise BadInput(
            f'{len(words)} words: quote the note (`hybridops incident note [ID] "TEXT"`)'
        )
    if not text.strip():
        raise BadInput("the note must not be empty")
    return incident_id, text


@app.command("escalate")
def escalate(
    ctx: typer.Context,
    incident_id: IdArgument = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Who (default: next in the escalation chain).")
    ] = None,
) -> int:
    """Escalate to a person or team (the severity's escalation chain by default)."""
    from hybridops.incidents.lifecycle import escalate as escalate_incident

    invocation = invocation_of(ctx)
    incident_id = _id(invocation, incident_id)
    record = escalate_incident(
        _store(invocation), _config(invocation), incident_id, to=to, dry_run=_dry_run(invocation)
    )
    target = record["escalations"][-1]["to"]
    if _dry_run(invocation):
        _emit_planned(
            invocation,
            "escalate",
            {"incident": _summary(record), "to": target},
            f"escalate {record['id']} to {target}",
        )
        return 0
    invocation.emit(_summary(record), f"{record['id']} escalated to {target}")
    return 0


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    incident_id: IdArgument = None,
    note: Annotated[str | None, typer.Option("--note", help="How it was resolved.")] = None,
) -> int:
    """Resolve the incident; if it was the active one, the newest still-open one becomes active."""
    from hybridops.incidents.lifecycle import change, seconds_between, took

    invocation = invocation_of(ctx)
    incident_id = _id(invocation, incident_id)
    result = change(
        _store(invocation),
        incident_id,
        status="resolved",
        note=note,
        config=_config(invocation),
        dry_run=_dry_run(invocation),
    )
    record = result.record
    from hybridops.incidents.notify import send_for

    # Tell the channels too: PagerDuty closes its incident on the resolve event.
    sent = send_for(invocation.runtime(), record, "update", note=note)
    _report_sending(invocation, sent)
    if sent.get("dry_run"):
        _emit_planned(
            invocation,
            "resolve",
            {"incident": _summary(record)} | _active_doc(result) | _notice(sent),
            "\n".join([f"resolve {record['id']}; notify {_to(sent)}", *_handover(result, True)]),
        )
        return 0
    doc = _summary(record) | {"notified": sent["notified"], "failed": sent["failed"]}
    after = took(seconds_between(record["started_at"], record["resolved_at"]))
    lines = [
        f"{_one_line(record)} resolved at {when(record['resolved_at'])} ({after} after it started)",
        *_handover(result),
    ]
    invocation.emit(doc | _active_doc(result), "\n".join(lines))
    return 0


@app.command("list")
def list_(
    ctx: typer.Context,
    only_open: Annotated[bool, typer.Option("--open", help="Only unresolved incidents.")] = False,
) -> int:
    """Incidents, newest first, with overdue acknowledgements and escalations flagged."""
    from hybridops.incidents.lifecycle import overdue
    from hybridops.state.store import utcnow

    invocation = invocation_of(ctx)
    now = utcnow()
    store = _store(invocation)
    active = store.active_incident()
    rows = []
    for record in store.list_incidents():
        if only_open and record["status"] == "resolved":
            continue
        rows.append(
            _summary(record) | {"overdue": overdue(record, now), "active": record["id"] == active}
        )

    def show(out: Console) -> None:
        if not rows:
            out.print("no incidents")
        for row in rows:
            late = f"  OVERDUE: {', '.join(row['overdue'])}" if row["overdue"] else ""
            marker = "*" if row["active"] else " "
            out.print(
                f"{marker} {row['id']} {row['severity']} {row['status']:<13} {row['title']}{late}",
                markup=False,
                highlight=False,
            )

    invocation.emit({"incidents": rows}, show)
    return 0


@app.command("show")
def show(ctx: typer.Context, incident_id: IdArgument = None) -> int:
    """One incident with its deadlines and what is overdue."""
    from hybridops.incidents.lifecycle import get, overdue
    from hybridops.state.store import utcnow

    invocation = invocation_of(ctx)
    incident_id = _id(invocation, incident_id, latest=True)
    store = _store(invocation)
    record = get(store, incident_id)
    active = store.active_incident() == incident_id
    doc = _summary(record) | {"overdue": overdue(record, utcnow()), "active": active}
    invocation.emit(doc, _describe(record, doc["overdue"], active))
    return 0


def _describe(record: dict[str, Any], late: list[str], active: bool) -> str:
    """An incident as a person reads it: one fact a line, names and times in words."""

    def at_by(moment: str | None, who: str | None) -> str:
        return when(moment) + (f" by {who}" if who else "")

    rows: list[tuple[str, str | None]] = [
        ("title", record["title"]),
        ("severity", record["severity"]),
        ("status", record["status"] + (" (the active incident)" if active else "")),
        ("started", at_by(record["started_at"], record.get("opened_by"))),
    ]
    if record.get("acknowledged_at"):
        rows.append(
            ("acknowledged", at_by(record["acknowledged_at"], record.get("acknowledged_by")))
        )
    else:
        rows.append(("acknowledged", f"not yet; respond by {when(record.get('respond_by'))}"))
    resolved = record["status"] == "resolved"
    # A resolved incident's deadlines are history, not something to act on.
    if record.get("escalate_at") and not resolved and not record.get("escalations"):
        rows.append(("escalate at", when(record["escalate_at"])))
    rows += [
        (
            "escalated to",
            "; ".join(
                f"{e['to']} at {at_by(e.get('at'), e.get('by'))}"
                for e in record.get("escalations") or []
            ),
        ),
        ("commander", record.get("commander")),
        ("service", record.get("service")),
        ("impact", record.get("impact")),
        ("channel", record.get("channel")),
        (
            "next update",
            when(record["next_update_at"])
            if record.get("next_update_at") and not resolved
            else None,
        ),
        ("resolved", when(record["resolved_at"]) if record.get("resolved_at") else None),
        ("OVERDUE", ", ".join(late)),
    ]
    shown = [(k, v) for k, v in rows if v]
    width = max(len(k) for k, _ in shown) + 1
    return "\n".join([record["id"], *(f"  {k + ':':<{width}} {v}" for k, v in shown)])


@app.command("timeline")
def timeline(ctx: typer.Context, incident_id: IdArgument = None) -> int:
    """Everything recorded for the incident, including every hybridops command run during it."""
    from hybridops.incidents.lifecycle import get

    invocation = invocation_of(ctx)
    incident_id = _id(invocation, incident_id, latest=True)
    store = _store(invocation)
    record = get(store, incident_id)
    entries = store.timeline(incident_id)
    width = max((len(str(e.get("kind", "?"))) for e in entries), default=0)
    lines = [
        f"{when(e.get('at'))}  {e.get('kind', '?')!s:<{width}}  {e.get('text', '')}"
        + (f" — {e['outcome']}" if e.get("outcome") else "")
        # Who, unless the text already says (`acknowledged by ...`).
        + (f" ({e['by']})" if e.get("by") and str(e["by"]) not in str(e.get("text")) else "")
        for e in entries
    ]
    text = "\n".join([_one_line(record), *(lines or ["no entries"])])
    invocation.emit({"id": incident_id, "entries": entries}, text)
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
    from hybridops.incidents.lifecycle import get, metrics, mitigation
    from hybridops.incidents.lifecycle import postmortem as draft

    invocation = invocation_of(ctx)
    incident_id = _id(invocation, incident_id, latest=True)
    if fmt not in ("markdown", "json"):
        raise BadInput(f"--format {fmt!r}: expected markdown or json")
    store = _store(invocation)
    record = get(store, incident_id)
    entries = store.timeline(incident_id)
    document = {
        "incident": _summary(record),
        "metrics": metrics(record, entries),
        # How time to mitigate was measured: a change made, the status monitoring, or nothing.
        "mitigation": mitigation(entries),
        "timeline": entries,
    }
    if out is None:
        if fmt == "json" or invocation.json:
            from hybridops.cli.render import emit_json

            emit_json(invocation.terminal, document)
        else:
            actions = [a for a in store.list_actions() if a["incident_id"] == incident_id]
            invocation.terminal.stdout.write(draft(record, entries, actions))
        return 0
    from hybridops.paths import write_named_file

    if fmt == "json":
        text = json.dumps(document, indent=2, default=str) + "\n"
    else:
        actions = [a for a in store.list_actions() if a["incident_id"] == incident_id]
        text = draft(record, entries, actions)
    write_named_file(out, text)
    # stdout keeps its promise: the path (text) or one JSON document (-o json), never the draft.
    invocation.emit(
        {"status": "ok", "id": incident_id, "path": str(out), "format": fmt},
        otherwise=lambda: invocation.terminal.stdout.write(f"{out}\n"),
    )
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
    from hybridops.incidents.lifecycle import add_action

    invocation = invocation_of(ctx)
    item = add_action(
        _store(invocation), incident_id, text, owner=owner, due=due, dry_run=_dry_run(invocation)
    )
    if _dry_run(invocation):
        _emit_planned(
            invocation,
            "action add",
            {"item": item},
            f"add an action item to {incident_id} for {owner}, due {item['due']}: {text}",
        )
        return 0
    invocation.emit(item, f"action #{item['n']} added")
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

    invocation = invocation_of(ctx)
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    items = []
    for item in _store(invocation).list_actions():
        late = not item.get("done_at") and item["due"] < today
        if overdue_only and not late:
            continue
        items.append(item | {"overdue": late})

    def show(out: Console) -> None:
        if not items:
            out.print("no action items")
        for item in items:
            status = "done" if item.get("done_at") else ("OVERDUE" if item["overdue"] else "open")
            out.print(
                f"#{item['n']} {item['incident_id']} {status:<7} due {item['due']}"
                f" {item['owner']}: {item['text']}",
                markup=False,
                highlight=False,
            )

    invocation.emit({"actions": items}, show)
    return 0


@action_app.command("done")
def action_done(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(min=1, max=1_000_000, help="The item's number.")],
) -> int:
    """Mark an action item done."""
    from hybridops.incidents.lifecycle import complete_action

    invocation = invocation_of(ctx)
    item = complete_action(_store(invocation), number, dry_run=_dry_run(invocation))
    if _dry_run(invocation):
        _emit_planned(invocation, "action done", {"item": item}, f"mark action #{number} done")
        return 0
    invocation.emit(item, f"action #{number} done")
    return 0
