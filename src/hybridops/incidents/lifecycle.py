"""The incident lifecycle: open, update, note, escalate, resolve; deadlines; the timeline."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hybridops.config import IncidentsConfig
from hybridops.errors import BadInput, Refused
from hybridops.state.store import StateStore, actor, iso, utcnow

STATUSES = ("investigating", "identified", "monitoring", "resolved")
# The ids `open` gives: INC-YYYYMMDD-HHMMSS, suffixed -N when taken.
ID_SHAPE = re.compile(r"INC-\d{8}-\d{6}(-\d+)?")


def _at(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def looks_like_id(text: str) -> bool:
    """Whether `text` has the shape of an id `open` gives (INC-YYYYMMDD-HHMMSS[-N])."""
    return ID_SHAPE.fullmatch(text) is not None


def when(text: str | None) -> str:
    """A recorded time as a person reads it: `2026-11-29 06:15:00 UTC` (`-` when unset)."""
    moment = _at(text)
    return f"{moment.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC" if moment else "-"


def took(seconds: float | None) -> str:
    """A duration as a person reads it: `45 s`, `12.5 min`, from two hours `3 h 05 min`."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h {rest:02d} min"


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from one recorded time to another (None when either is unset)."""
    first, last = _at(start), _at(end)
    return round((last - first).total_seconds(), 1) if first and last else None


def _title_key(title: str) -> str:
    return " ".join(title.split()).casefold()


def open_with_title(store: StateStore, title: str) -> dict[str, Any] | None:
    """The most recent unresolved incident with this title (case and spacing ignored)."""
    key = _title_key(title)
    return next(
        (
            r
            for r in store.list_incidents()
            if r.get("status") != "resolved" and _title_key(str(r.get("title", ""))) == key
        ),
        None,
    )


def successor(store: StateStore, incident_id: str) -> dict[str, Any] | None:
    """The incident made active when `incident_id` is resolved: the newest one still open."""
    return next(
        (
            r
            for r in store.list_incidents()  # newest first
            if r["id"] != incident_id and r.get("status") != "resolved"
        ),
        None,
    )


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
    force: bool = False,
) -> dict[str, Any]:
    """Create the incident (unique id), compute its deadlines, make it the active one.

    A second open incident with the same title is refused unless `force`: two ids for one
    outage split its timeline. In a dry run the record is returned as it would be created,
    and nothing is stored.
    """
    if not title.strip():
        raise BadInput("--title must not be empty")
    same = open_with_title(store, title)
    if same is not None and not force:
        raise Refused(
            f"{same['id']} is already open with this title"
            f" ({same['severity']}, {same['status']}): {same['title']}",
            hint=f"update that one (`hybridops incident note {same['id']} TEXT`),"
            " or pass --force to open a second incident",
        )
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
    if same is not None:
        record["same_title_as"] = same["id"]
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
    text = f"{severity} opened: {record['title']}"
    if same is not None:
        text += f" (--force: {same['id']} is open with the same title)"
    add_entry(store, record["id"], "opened", text, now=now)
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
    **fields: Any,
) -> dict[str, Any]:
    """Append one timeline entry (`fields`: what a reader needs structured, e.g. `status`)."""
    entry: dict[str, Any] = {"at": iso(now()), "kind": kind, "text": text, "by": actor()}
    entry.update(fields)
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


def _direction(config: IncidentsConfig, old: str, new: str) -> str:
    """`raised` or `lowered`: the severity matrix lists the most severe first (P0)."""
    order = list(config.severities)
    if old not in order:  # a severity the config no longer has
        return "changed"
    return "raised" if order.index(new) < order.index(old) else "lowered"


@dataclass
class Updated:
    """What an update did: the record as it now is (or would be), and what changed, in words."""

    record: dict[str, Any]
    changes: list[str] = field(default_factory=list)  # as on the timeline, the note left out
    said: list[str] = field(default_factory=list)  # severity/commander changes, for the message
    was_active: bool = False
    active_now: dict[str, Any] | None = None  # the incident made active by a resolve, if any

    @property
    def worth_telling(self) -> bool:
        """A severity change or a commander handover: the channels hear of it."""
        return bool(self.said)


def update(store: StateStore, incident_id: str, **changes: Any) -> dict[str, Any]:
    """`change`, returning only the updated record (what most callers want)."""
    return change(store, incident_id, **changes).record


def change(
    store: StateStore,
    incident_id: str,
    *,
    status: str | None = None,
    note: str | None = None,
    next_update: dt.timedelta | None = None,
    severity: str | None = None,
    commander: str | None = None,
    config: IncidentsConfig | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    dry_run: bool = False,
) -> Updated:
    """Update an incident, each change on its timeline; a dry run stores nothing."""
    # Any update acknowledges. A new severity restarts the respond-by and escalate-at clocks
    # from now, by its own rule (a P2 raised to P0 after an hour is not instantly overdue).
    # Resolving the active incident makes the newest still-open one active.
    if status is not None and status not in STATUSES:
        raise BadInput(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
    if commander is not None and not commander.strip():
        raise BadInput("--commander must not be empty")
    config = config or IncidentsConfig()
    moment = now()
    at = iso(moment)
    if severity is not None:
        severity = severity.upper()
        respond, escalate_at = deadlines(severity, moment.replace(microsecond=0), config)
    who = actor()
    reopened: list[bool] = []
    entries: list[tuple[str, str, dict[str, Any]]] = []

    def edit(record: dict[str, Any]) -> None:
        # Run inside the store's atomic update (maybe retried): it only edits the record.
        reopened.clear()
        entries.clear()
        if record["status"] == "resolved" and status not in (None, "resolved"):
            record["reopened_at"] = at
            record["resolved_at"] = None
            reopened.append(True)
        if not record.get("acknowledged_at"):
            record["acknowledged_at"] = at
            record["acknowledged_by"] = who
        if severity is not None and severity != record["severity"]:
            old = record["severity"]
            verb = _direction(config, old, severity)
            record["severity"] = severity
            record["respond_by"] = iso(respond)
            record["escalate_at"] = iso(escalate_at) if escalate_at else None
            by = f"respond by {when(record['respond_by'])}"
            by += f", escalate at {when(record['escalate_at'])}" if escalate_at else ""
            entries.append(
                ("severity", f"severity {verb} from {old} to {severity} ({by})", {"to": severity})
            )
        if commander is not None and commander.strip() != record.get("commander"):
            name = commander.strip()
            before = record.get("commander")
            text = (
                f"commander handed over from {before} to {name}"
                if before
                else f"commander set to {name}"
            )
            record["commander"] = name
            entries.append(("commander", text, {"to": name}))
        if status is not None:
            old = record["status"]
            text = f"status stays {status}"
            if old != status:
                text = f"status changed from {old} to {status}"
            record["status"] = status
            if status == "monitoring" and not record.get("mitigated_at"):
                record["mitigated_at"] = at
            if status == "resolved":
                # Resolving is not mitigating: the post-mortem counts only a change made.
                record["resolved_at"] = at
            entries.append(("status", text, {"status": status}))
        if next_update is not None:
            record["next_update_at"] = iso(moment + next_update)
        if note:
            entries.append(("note", note, {}))

    record = _change(store, incident_id, edit, dry_run=dry_run)
    result = Updated(
        record,
        changes=[text for kind, text, _ in entries if kind != "note"],
        said=[text for kind, text, _ in entries if kind in ("severity", "commander")],
        was_active=store.active_incident() == incident_id,
    )
    if status == "resolved" and result.was_active:
        result.active_now = successor(store, incident_id)
    if dry_run:
        return result
    if reopened:
        store.set_active_incident(incident_id)
    for kind, text, fields in entries:
        add_entry(store, incident_id, kind, text, now=lambda: moment, **fields)
    if result.active_now is not None or (status == "resolved" and result.was_active):
        nxt = result.active_now
        store.set_active_incident(nxt["id"] if nxt else None)
        if nxt is not None:
            add_entry(
                store,
                nxt["id"],
                "active",
                f"became the active incident ({incident_id} was resolved)",
                now=lambda: moment,
            )
    return result


def acknowledge(
    store: StateStore,
    incident_id: str,
    *,
    now: Callable[[], dt.datetime] = utcnow,
    dry_run: bool = False,
) -> tuple[dict[str, Any], bool]:
    """Acknowledge once, who and when on the timeline: (record, whether this call did it)."""
    # Idempotent: the first acknowledgement stands and a second one writes nothing.
    current = get(store, incident_id)
    if current.get("acknowledged_at"):
        return current, False
    moment = now()
    who = actor()
    did: list[bool] = []

    def edit(record: dict[str, Any]) -> None:
        did.clear()
        # Someone else may have acknowledged it since we read it: theirs stands.
        if not record.get("acknowledged_at"):
            record["acknowledged_at"] = iso(moment)
            record["acknowledged_by"] = who
            did.append(True)

    record = _change(store, incident_id, edit, dry_run=dry_run)
    if did and not dry_run:
        add_entry(store, incident_id, "acknowledged", f"acknowledged by {who}", now=lambda: moment)
    return record, bool(did)


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


def mitigation(timeline: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first sign of mitigation on the timeline: a change made, or status monitoring."""
    # A change made is a successful mutating command; `monitoring` is a person saying a fix is
    # in place (maybe made outside hybridops). Resolving alone is neither.
    for entry in timeline:  # oldest first: the first match is the earliest
        if (
            entry.get("kind") == "command"
            and entry.get("outcome") == "ok"
            and entry.get("mutating")
        ):
            return {"at": entry["at"], "by": "change", "command": entry.get("command")}
        # Entries written before `status` was a field say it only in their text.
        if entry.get("kind") == "status" and (
            entry.get("status") == "monitoring"
            or (entry.get("status") is None and entry.get("text") == "status -> monitoring")
        ):
            return {"at": entry["at"], "by": "status", "command": None}
    return None


def metrics(record: dict[str, Any], timeline: list[dict[str, Any]]) -> dict[str, float | None]:
    """Minutes and seconds to acknowledge, mitigate (None: nothing did) and resolve."""
    started = _at(record["started_at"])
    assert started is not None

    def since_start(text: str | None) -> float | None:
        moment = _at(text)
        return round((moment - started).total_seconds(), 1) if moment else None

    mitigated_by = mitigation(timeline)
    mitigated = since_start(mitigated_by["at"]) if mitigated_by else None
    acknowledged = since_start(record.get("acknowledged_at"))
    resolved = since_start(record.get("resolved_at"))

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


def _by(who: str | None) -> str:
    return f", by {who}" if who else ""


def postmortem(
    record: dict[str, Any],
    timeline: list[dict[str, Any]],
    actions: list[dict[str, Any]] | None = None,
) -> str:
    """A blameless post-mortem draft in Markdown."""
    m = metrics(record, timeline)
    how = mitigation(timeline)
    if how is None:
        mitigate = "no change was made"
    elif how["by"] == "change":
        first = next(e for e in timeline if e["at"] == how["at"] and e.get("kind") == "command")
        # A pipe would end the table cell.
        mitigate = f"{took(m['time_to_mitigate_s'])} (first change: {first.get('text', '')})"
        mitigate = mitigate.replace("|", "\\|")
    else:
        mitigate = f"{took(m['time_to_mitigate_s'])} (status set to monitoring)"
    acknowledged = (
        f"{when(record['acknowledged_at'])}{_by(record.get('acknowledged_by'))}"
        if record.get("acknowledged_at")
        else "not acknowledged"
    )
    lines = [
        f"# Post-mortem: {record['id']} — {record['title']}",
        "",
        "Blameless: this describes what happened and what the system let happen, not who erred.",
        "",
        "## Summary",
        "",
        f"- Severity: {record['severity']}; status: {record['status']}",
        f"- Started: {when(record['started_at'])}{_by(record.get('opened_by'))}",
        f"- Acknowledged: {acknowledged}",
        f"- Resolved: {when(record['resolved_at']) if record.get('resolved_at') else 'not yet'}",
        f"- Service: {record.get('service') or '-'}; commander: {record.get('commander') or '-'}",
    ]
    escalations = record.get("escalations") or []
    if escalations:
        lines.append(
            "- Escalated to: " + "; ".join(f"{e['to']} at {when(e.get('at'))}" for e in escalations)
        )
    lines += [
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
        f"| time to acknowledge | {took(m['time_to_acknowledge_s'])} |",
        f"| time to mitigate | {mitigate} |",
        f"| time to resolve | {took(m['time_to_resolve_s'])} |",
        "",
        "## Timeline (recorded by hybridops)",
        "",
    ]
    for entry in timeline:
        extra = f" — {entry['outcome']}" if entry.get("outcome") else ""
        command = f" `{entry['command']}`" if entry.get("command") else ""
        head = f"- {when(entry.get('at'))} [{entry.get('kind', '?')}] {entry.get('text', '')}"
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
