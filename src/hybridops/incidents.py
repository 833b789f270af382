"""The incident lifecycle: open, update, note, escalate, resolve; deadlines; the timeline."""

from __future__ import annotations

import copy
import datetime as dt
import getpass
import socket
from collections.abc import Callable
from typing import Any

from hybridops.config import IncidentsConfig
from hybridops.errors import BadInput
from hybridops.state.store import StateStore, iso, utcnow

STATUSES = ("investigating", "identified", "monitoring", "resolved")


def _at(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def next_business_day(moment: dt.datetime, hour_utc: int) -> dt.datetime:
    """The next weekday at `hour_utc` strictly after the day of `moment`."""
    day = moment.astimezone(dt.timezone.utc).date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, hour_utc, tzinfo=dt.timezone.utc)


def deadlines(
    severity: str, started: dt.datetime, config: IncidentsConfig
) -> tuple[dt.datetime, dt.datetime | None]:
    """(respond by, escalate at) from the severity matrix."""
    rule = config.severities.get(severity)
    if rule is None:
        raise BadInput(f"severity {severity!r}: expected one of {', '.join(config.severities)}")
    respond = (
        started + dt.timedelta(minutes=rule.respond_min)
        if rule.respond_min
        else next_business_day(started, config.business_day_start_utc)
    )
    escalate = started + dt.timedelta(minutes=rule.escalate_min) if rule.escalate_min else None
    return respond, escalate


def actor() -> str:
    """Who is acting: user@host."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def open_incident(
    store: StateStore,
    config: IncidentsConfig,
    *,
    severity: str,
    title: str,
    service: str | None = None,
    impact: str | None = None,
    commander: str | None = None,
    channel: str | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Create the incident (unique id), compute its deadlines, make it the active one.

    In a dry run the record is returned as it would be created, and nothing is stored.
    """
    if not title.strip():
        raise BadInput("--title must not be empty")
    started = now().replace(microsecond=0)
    respond, escalate = deadlines(severity, started, config)
    base = f"INC-{started:%Y%m%d-%H%M%S}"
    record: dict[str, Any] = {
        "severity": severity,
        "title": title.strip(),
        "service": service,
        "impact": impact,
        "commander": commander,
        "channel": channel,
        "status": "investigating",
        "started_at": iso(started),
        "respond_by": iso(respond),
        "escalate_at": iso(escalate) if escalate else None,
        "acknowledged_at": None,
        "mitigated_at": None,
        "resolved_at": None,
        "next_update_at": None,
        "escalations": [],
        "opened_by": actor(),
    }
    if dry_run:
        record["id"] = base  # the id a real open would try first
        return record
    for n in range(1, 1000):
        record["id"] = base if n == 1 else f"{base}-{n}"
        if store.create_incident(record):
            break
    else:  # pragma: no cover - a thousand incidents in one second
        raise BadInput("could not allocate an incident id")
    store.set_active_incident(record["id"])
    add_entry(store, record["id"], "opened", f"{severity} opened: {record['title']}", now=now)
    return record


def add_entry(
    store: StateStore,
    incident_id: str,
    kind: str,
    text: str,
    *,
    command: str | None = None,
    outcome: str | None = None,
    mutating: bool | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> dict[str, Any]:
    """Append one timeline entry."""
    entry: dict[str, Any] = {"at": iso(now()), "kind": kind, "text": text, "by": actor()}
    if command is not None:
        entry["command"] = command
    if outcome is not None:
        entry["outcome"] = outcome
    if mutating is not None:
        entry["mutating"] = mutating
    store.add_timeline(incident_id, entry)
    return entry


def get(store: StateStore, incident_id: str) -> dict[str, Any]:
    """The incident, or BadInput naming the id."""
    record = store.get_incident(incident_id)
    if record is None:
        raise BadInput(f"no incident {incident_id!r} (see `hybridops incident list`)")
    return record


def check_incident_exists(store: StateStore, incident_id: str) -> dict[str, Any]:
    """The incident `--incident` names; BadInput (exit 2, one line) when there is none."""
    record = store.get_incident(incident_id)
    if record is None:
        raise BadInput(f"no incident {incident_id}: `hybridops incident list`")
    return record


def _change(
    store: StateStore,
    incident_id: str,
    change: Callable[[dict[str, Any]], None],
    *,
    dry_run: bool = False,
) -> dict[str, Any]:
    current = get(store, incident_id)
    if dry_run:
        planned = copy.deepcopy(current)
        change(planned)
        return planned

    def apply(record: dict[str, Any]) -> dict[str, Any]:
        change(record)
        return record

    updated = store.update_incident(incident_id, apply)
    assert updated is not None
    return updated


def update(
    store: StateStore,
    incident_id: str,
    *,
    status: str | None = None,
    note: str | None = None,
    next_update: dt.timedelta | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Change status (acknowledging the incident), note, next update time.

    In a dry run the record is returned as it would become, and nothing is stored.
    """
    if status is not None and status not in STATUSES:
        raise BadInput(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
    moment = now()
    reopened: list[bool] = []

    def change(record: dict[str, Any]) -> None:
        # Run inside the store's atomic update (maybe retried): it only edits the record.
        reopened.clear()
        if record["status"] == "resolved" and status not in (None, "resolved"):
            record["reopened_at"] = iso(moment)
            record["resolved_at"] = None
            reopened.append(True)
        record["acknowledged_at"] = record.get("acknowledged_at") or iso(moment)
        if status is not None:
            record["status"] = status
            if status == "monitoring" and not record.get("mitigated_at"):
                record["mitigated_at"] = iso(moment)
            if status == "resolved":
                record["resolved_at"] = iso(moment)
                record["mitigated_at"] = record.get("mitigated_at") or iso(moment)
        if next_update is not None:
            record["next_update_at"] = iso(moment + next_update)

    record = _change(store, incident_id, change, dry_run=dry_run)
    if dry_run:
        return record
    if reopened:
        store.set_active_incident(incident_id)
    if status is not None:
        add_entry(store, incident_id, "status", f"status -> {status}", now=now)
    if note:
        add_entry(store, incident_id, "note", note, now=now)
    if status == "resolved" and store.active_incident() == incident_id:
        store.set_active_incident(None)
    return record


def escalate(
    store: StateStore,
    config: IncidentsConfig,
    incident_id: str,
    *,
    to: str | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Escalate to `to`, or to the next contact of the severity's escalation chain."""
    record = get(store, incident_id)
    chain = config.escalation.get(record["severity"], [])
    done = [e["to"] for e in record.get("escalations", [])]
    target = to or next((c for c in chain if c not in done), None)
    if target is None:
        raise BadInput(
            f"no one left to escalate {record['severity']} to: pass --to NAME"
            " or set incidents.escalation in the config"
        )
    moment = iso(now())

    def change(rec: dict[str, Any]) -> None:
        rec.setdefault("escalations", []).append({"to": target, "at": moment, "by": actor()})

    record = _change(store, incident_id, change, dry_run=dry_run)
    if not dry_run:
        add_entry(store, incident_id, "escalated", f"escalated to {target}", now=now)
    return record


def add_action(
    store: StateStore,
    incident_id: str,
    text: str,
    *,
    owner: str,
    due: str,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Add a post-incident action item (and a timeline entry); its number is `n`.

    In a dry run the item is returned without a number (`n` is None), and nothing is stored.
    """
    get(store, incident_id)
    try:
        due_date = dt.date.fromisoformat(due)
    except ValueError:
        raise BadInput(f"--due {due!r}: expected a date, YYYY-MM-DD") from None
    item: dict[str, Any] = {
        "text": text,
        "owner": owner,
        "due": due_date.isoformat(),
        "done_at": None,
    }
    if dry_run:
        return {"n": None, "incident_id": incident_id} | item
    number = store.add_action(incident_id, item)
    add_entry(store, incident_id, "action", f"action #{number} for {owner}, due {due}: {text}")
    return {"n": number, "incident_id": incident_id} | item


def complete_action(
    store: StateStore,
    number: int,
    *,
    now: Callable[[], dt.datetime] = utcnow,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Mark an action item done (and say so on its incident's timeline).

    In a dry run the item is returned as it would become, and nothing is stored.
    """
    if dry_run:
        found = next((i for i in store.list_actions() if i["n"] == number), None)
        item = None if found is None else found | {"done_at": found.get("done_at") or iso(now())}
    else:
        item = store.complete_action(number, iso(now()))
    if item is None:
        raise BadInput(f"no action item #{number} (see `hybridops incident action list`)")
    if not dry_run:
        add_entry(store, item["incident_id"], "action", f"action #{number} done: {item['text']}")
    return item


def overdue(record: dict[str, Any], now: dt.datetime) -> list[str]:
    """What is late: acknowledgement, escalation, the promised next update."""
    if record["status"] == "resolved":
        return []
    late = []
    respond = _at(record.get("respond_by"))
    if not record.get("acknowledged_at") and respond and now > respond:
        late.append("acknowledgement")
    escalate_at = _at(record.get("escalate_at"))
    if escalate_at and now > escalate_at and not record.get("escalations"):
        late.append("escalation")
    next_update = _at(record.get("next_update_at"))
    if next_update and now > next_update:
        late.append("update")
    return late


def metrics(record: dict[str, Any], timeline: list[dict[str, Any]]) -> dict[str, float | None]:
    """Minutes to acknowledge, mitigate and resolve, from the recorded times."""
    started = _at(record["started_at"])
    assert started is not None

    def seconds(key: str) -> float | None:
        moment = _at(record.get(key))
        return round((moment - started).total_seconds(), 1) if moment else None

    mitigated = seconds("mitigated_at")
    changes = [
        e
        for e in timeline
        if e.get("kind") == "command" and e.get("outcome") == "ok" and e.get("mutating")
    ]
    if changes:
        first = _at(changes[0]["at"])
        assert first is not None
        by_command = round((first - started).total_seconds(), 1)
        mitigated = by_command if mitigated is None else min(mitigated, by_command)
    acknowledged, resolved = seconds("acknowledged_at"), seconds("resolved_at")

    def minutes(value: float | None) -> float | None:
        return None if value is None else round(value / 60, 1)

    return {
        "time_to_acknowledge_min": minutes(acknowledged),
        "time_to_mitigate_min": minutes(mitigated),
        "time_to_resolve_min": minutes(resolved),
        "time_to_acknowledge_s": acknowledged,
        "time_to_mitigate_s": mitigated,
        "time_to_resolve_s": resolved,
    }


def postmortem(
    record: dict[str, Any],
    timeline: list[dict[str, Any]],
    actions: list[dict[str, Any]] | None = None,
) -> str:
    """A blameless post-mortem draft in Markdown."""
    m = metrics(record, timeline)

    def fmt(value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value:g} s" if value < 120 else f"{value / 60:.1f} min"

    lines = [
        f"# Post-mortem: {record['id']} — {record['title']}",
        "",
        "Blameless: this describes what happened and what the system let happen, not who erred.",
        "",
        "## Summary",
        "",
        f"- Severity: {record['severity']}; status: {record['status']}",
        f"- Started: {record['started_at']}; resolved: {record.get('resolved_at') or '-'}",
        f"- Service: {record.get('service') or '-'}; commander: {record.get('commander') or '-'}",
        "",
        "## Impact",
        "",
        record.get("impact") or "_(to fill: who was affected, how, for how long)_",
        "",
        "## Detection",
        "",
        "_(to fill: how it was noticed — alert, customer, engineer)_",
        "",
        "## Response metrics",
        "",
        "| metric | value |",
        "|---|---|",
        f"| time to acknowledge | {fmt(m['time_to_acknowledge_s'])} |",
        f"| time to mitigate | {fmt(m['time_to_mitigate_s'])} |",
        f"| time to resolve | {fmt(m['time_to_resolve_s'])} |",
        "",
        "## Timeline (UTC, recorded by hybridops)",
        "",
    ]
    for entry in timeline:
        extra = f" — {entry['outcome']}" if entry.get("outcome") else ""
        command = f" `{entry['command']}`" if entry.get("command") else ""
        head = f"- {entry.get('at')} [{entry.get('kind', '?')}] {entry.get('text', '')}"
        lines.append(f"{head}{command}{extra}")
    lines += [
        "",
        "## Root cause and contributing factors",
        "",
        "_(to fill)_",
        "",
        "## Action items",
        "",
    ]
    for item in actions or []:
        done = " (done)" if item.get("done_at") else ""
        lines.append(
            f"- [{'x' if done else ' '}] #{item['n']} {item['text']} — {item['owner']},"
            f" due {item['due']}{done}"
        )
    if not actions:
        lines.append("_(add with `hybridops incident action add ID TEXT --owner X --due DATE`)_")
    lines.append("")
    return "\n".join(lines)
