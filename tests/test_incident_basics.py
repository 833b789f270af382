"""Incidents with the basics people expect from `pd`: ack, severity and commander changes, notes
on the active incident, no duplicate open incidents, an honest time to mitigate, and the next
open incident taking over when the active one is resolved. Text is read as a person reads it."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hybridops.config import IncidentsConfig
from hybridops.incidents import lifecycle as incidents
from hybridops.state.sqlite import SqliteStore
from tests.support import Cli, HttpServer, MotoServer, Result

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
HUMAN_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
WHO = incidents.actor()


def clock(*moments: dt.datetime) -> Any:
    it = iter(moments)
    return lambda: next(it)


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = SqliteStore(tmp_path / "lib.db")
    yield store
    store.close()


def open_id(cli: Cli, *args: str) -> str:
    result = cli("-o", "json", "incident", "open", *args)
    assert result.code == 0, result.err
    return str(result.json()["id"])


def readable(result: Result) -> str:
    """The output a person reads: no Python reprs, no raw ISO timestamps."""
    text = result.out + result.err
    assert not re.search(r"[\[{(]'|\{\"", text), text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), text
    return text


def kinds(cli: Cli, rid: str) -> list[str]:
    entries = cli("-o", "json", "incident", "timeline", rid).json()["entries"]
    return [e["kind"] for e in entries]


# -- ack ---------------------------------------------------------------------------------------


def test_ack_records_who_and_when_once_and_feeds_time_to_acknowledge(cli: Cli) -> None:
    rid = open_id(cli, "-s", "P1", "-t", "router slow")
    first = cli("incident", "ack")  # the active incident by default
    assert first.code == 0, first.err
    text = readable(first)
    assert re.fullmatch(
        rf"{rid} acknowledged by {re.escape(WHO)} at {HUMAN_TIME} \([\d.]+ s after it started\)\n",
        text,
    ), text
    shown = cli("-o", "json", "incident", "show").json()
    assert (shown["acknowledged_by"], shown["acknowledged_at"] is not None) == (WHO, True)
    again = cli("-o", "json", "incident", "ack", rid)
    assert again.code == 0
    doc = again.json()
    assert (doc["changed"], doc["acknowledged_at"]) == (False, shown["acknowledged_at"])
    assert doc["notified"] == []
    said = readable(cli("incident", "ack", rid))
    assert said.startswith(f"{rid} was already acknowledged by {WHO} at ")
    assert said.rstrip().endswith("nothing changed")
    # Once on the timeline, however often it is said.
    assert kinds(cli, rid) == ["opened", "acknowledged"]
    metrics = cli("-o", "json", "incident", "postmortem", rid).json()["metrics"]
    assert metrics["time_to_acknowledge_s"] == doc["time_to_acknowledge_s"]
    assert metrics["time_to_acknowledge_s"] is not None


def test_ack_time_is_the_post_mortem_time_to_acknowledge(store: Any) -> None:
    rid = incidents.open_incident(
        store, IncidentsConfig(), severity="P0", title="x", now=clock(T0, T0)
    )["id"]
    record, did = incidents.acknowledge(store, rid, now=clock(minutes(3)))
    assert did and record["acknowledged_at"].startswith("2026-11-27T16:03:00")
    # A later update does not move the acknowledgement.
    incidents.update(store, rid, note="later", now=clock(minutes(9)))
    record, did = incidents.acknowledge(store, rid, now=clock(minutes(12)))
    assert not did and record["acknowledged_at"].startswith("2026-11-27T16:03:00")
    assert incidents.metrics(record, store.timeline(rid))["time_to_acknowledge_min"] == 3.0
    draft = incidents.postmortem(record, store.timeline(rid))
    assert "| time to acknowledge | 3.0 min |" in draft
    assert f"- Acknowledged: 2026-11-27 16:03:00 UTC, by {WHO}" in draft


def test_ack_without_an_incident_is_exit_2(cli: Cli) -> None:
    result = cli("incident", "ack")
    assert result.code == 2
    assert result.err.startswith("error: no active incident: give its id")


# -- notifications for ack, severity and commander ----------------------------------------------


@pytest.fixture
def channels(
    write_config: Any,
    http_server: Callable[..., HttpServer],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, HttpServer]:
    slack = http_server(lambda m, p, b: (200, {"ok": True}))
    pagerduty = http_server(lambda m, p, b: (202, {"status": "success"}))
    monkeypatch.setenv("SLACK_URL", f"{slack.url}/services/T0/B0/x")
    monkeypatch.setenv("PD_KEY", "routing-key")
    write_config(
        notify={
            "slack_webhook_url_env": "SLACK_URL",
            "pagerduty_routing_key_env": "PD_KEY",
            "pagerduty_url": f"{pagerduty.url}/v2/enqueue",
        }
    )
    return {"slack": slack, "pagerduty": pagerduty}


def sent(server: HttpServer) -> list[dict[str, Any]]:
    return [json.loads(body) for method, _path, body in server.requests if method == "POST"]


def test_ack_tells_the_channels_and_pagerduty_acknowledges(
    cli: Cli, channels: dict[str, HttpServer]
) -> None:
    rid = open_id(cli, "-s", "P0", "-t", "router down", "--commander", "kim")
    opening = sent(channels["slack"])[0]["text"]
    assert re.search(rf"Start Time: {HUMAN_TIME}\n", opening), opening
    acked = cli("-o", "json", "incident", "ack")
    assert acked.code == 0, acked.err
    assert sorted(acked.json()["notified"]) == ["pagerduty", "slack"]
    page = sent(channels["pagerduty"])[-1]
    assert (page["event_action"], page["dedup_key"]) == ("acknowledge", rid)
    message = sent(channels["slack"])[-1]["text"]
    assert message.startswith(f"[P0] {rid} investigating: router down\n")
    assert f"acknowledged by {WHO}" in message
    # A second ack is a no-op: nobody is told again.
    before = (len(channels["slack"].requests), len(channels["pagerduty"].requests))
    assert cli("incident", "ack").code == 0
    assert (len(channels["slack"].requests), len(channels["pagerduty"].requests)) == before


def test_severity_and_commander_changes_go_on_the_timeline_and_to_the_channels(
    cli: Cli, channels: dict[str, HttpServer]
) -> None:
    rid = open_id(cli, "-s", "P2", "-t", "checkout errors", "--commander", "kim")
    opened = cli("-o", "json", "incident", "show").json()
    result = cli("incident", "update", "--severity", "p0", "--commander", "lee")
    assert result.code == 0, result.err
    text = readable(result)
    lines = result.out.splitlines()
    assert lines[0] == f"updated {rid} (P0, investigating: checkout errors)"
    assert re.fullmatch(
        rf"severity raised from P2 to P0 \(respond by {HUMAN_TIME}, escalate at {HUMAN_TIME}\)",
        lines[1],
    ), text
    assert lines[2] == "commander handed over from kim to lee"
    assert "notified slack" in result.err and "notified pagerduty" in result.err
    message = sent(channels["slack"])[-1]["text"]
    assert message.startswith(f"[P0] {rid} investigating: checkout errors\n")
    assert "severity raised from P2 to P0" in message
    assert "commander handed over from kim to lee" in message
    assert sent(channels["pagerduty"])[-1]["payload"]["severity"] == "critical"
    assert kinds(cli, rid)[-2:] == ["severity", "commander"]
    now = cli("-o", "json", "incident", "show").json()
    assert (now["severity"], now["commander"]) == ("P0", "lee")
    # P0's clocks (5 min / 15 min) restarted at the change, not P2's (1 h / 4 h) from the start.
    assert now["respond_by"] < opened["respond_by"] and now["escalate_at"] < opened["escalate_at"]
    # Lowering it says so; the same value again changes and tells nothing.
    lowered = cli("-o", "json", "incident", "update", rid, "--severity", "P1")
    changes = lowered.json()["changes"]
    assert len(changes) == 1 and changes[0].startswith("severity lowered from P0 to P1 (")
    before = len(channels["slack"].requests)
    same = cli("-o", "json", "incident", "update", rid, "--severity", "P1", "--commander", "lee")
    assert same.json()["changes"] == [] and same.json()["notified"] == []
    assert len(channels["slack"].requests) == before
    assert kinds(cli, rid).count("severity") == 2 and kinds(cli, rid).count("commander") == 1


def test_severity_change_restarts_the_deadlines_by_the_new_rule(store: Any) -> None:
    rid = incidents.open_incident(
        store, IncidentsConfig(), severity="P2", title="x", now=clock(T0, T0)
    )["id"]
    result = incidents.change(store, rid, severity="P0", commander="lee", now=clock(minutes(60)))
    record = result.record
    assert record["respond_by"].startswith("2026-11-27T17:05:00")
    assert record["escalate_at"].startswith("2026-11-27T17:15:00")
    assert result.said == [
        "severity raised from P2 to P0"
        " (respond by 2026-11-27 17:05:00 UTC, escalate at 2026-11-27 17:15:00 UTC)",
        "commander set to lee",
    ]
    assert incidents.overdue(record, minutes(64)) == []


def test_bad_severity_and_empty_commander_are_exit_2_and_change_nothing(cli: Cli) -> None:
    rid = open_id(cli, "-s", "P2", "-t", "x")
    bad = cli("incident", "update", "--severity", "P9")
    assert bad.code == 2 and "severity 'P9'" in bad.err
    empty = cli("-o", "json", "incident", "update", "--commander", " ")
    assert empty.code == 2 and empty.json()["error"]["message"] == "--commander must not be empty"
    assert kinds(cli, rid) == ["opened"]


# -- notes on the active incident ---------------------------------------------------------------


def test_note_goes_to_the_active_incident_or_to_the_id_given(cli: Cli, tmp_path: Path) -> None:
    older = open_id(cli, "-s", "P2", "-t", "db slow")
    active = open_id(cli, "-s", "P1", "-t", "router slow")
    result = cli("incident", "note", "cache saturated")
    assert result.code == 0, result.err
    assert readable(result) == (
        f"noted on {active} (P1, investigating: router slow): cache saturated\n"
    )
    assert cli("incident", "note", older, "replica lag 30 s").code == 0
    doc = cli("-o", "json", "incident", "note", "JSON too").json()
    assert (doc["id"], doc["note"]) == (active, "JSON too")
    # --incident picks the default for the incident commands too.
    assert cli("--incident", older, "incident", "note", "via --incident").code == 0

    def notes(rid: str) -> list[str]:
        entries = cli("-o", "json", "incident", "timeline", rid).json()["entries"]
        return [e["text"] for e in entries if e["kind"] == "note"]

    assert notes(active) == ["cache saturated", "JSON too"]
    assert notes(older) == ["replica lag 30 s", "via --incident"]
    # An id the store holds counts as an id even without the usual shape (e.g. migrated).
    store = SqliteStore(tmp_path / "home" / "state.db")
    store.create_incident(
        {"id": "INC-OLD", "title": "old", "severity": "P3", "status": "investigating",
         "started_at": "2026-11-28T01:00:00.000000Z"}
    )  # fmt: skip
    store.close()
    assert cli("incident", "note", "INC-OLD", "still here").code == 0
    assert notes("INC-OLD") == ["still here"]


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (
            ("cache", "saturated"),
            "error: 'cache' is not an incident id: quote the note"
            ' (`hybridops incident note "cache saturated"`) or give an id first',
        ),
        (
            ("INC-20261129-061500",),
            'error: no note text after INC-20261129-061500: `hybridops incident note ID "TEXT"`',
        ),
        (
            ("INC-20261129-061500", "cache", "saturated"),
            'error: 3 words: quote the note (`hybridops incident note [ID] "TEXT"`)',
        ),
        (("INC-20261129-061599", "x"), "error: no incident 'INC-20261129-061599'"),
    ],
)
def test_note_arguments_are_never_guessed(
    cli: Cli, tmp_path: Path, words: tuple[str, ...], message: str
) -> None:
    from tests.test_contracts import differences, state_snapshot

    rid = open_id(cli, "-s", "P1", "-t", "router slow")
    before = state_snapshot(tmp_path / "home")
    result = cli("incident", "note", *words)
    assert result.code == 2
    assert result.err.splitlines()[0].startswith(message), result.err
    assert differences(before, state_snapshot(tmp_path / "home")) == {}
    assert kinds(cli, rid) == ["opened"]


def test_note_without_an_active_incident_asks_for_the_id(cli: Cli) -> None:
    result = cli("incident", "note", "hello")
    assert result.code == 2
    assert result.err.startswith("error: no active incident: give its id")


# -- one open incident per title ----------------------------------------------------------------


def test_a_second_open_incident_with_the_same_title_needs_force(cli: Cli) -> None:
    first = open_id(cli, "-s", "P1", "-t", "Router down")
    again = cli("incident", "open", "-s", "P0", "-t", "  router   DOWN ")
    assert again.code == 3
    assert again.err.splitlines() == [
        f"error: {first} is already open with this title (P1, investigating): Router down",
        f"hint: update that one (`hybridops incident note {first} TEXT`),"
        " or pass --force to open a second incident",
    ]
    as_json = cli("-o", "json", "incident", "open", "-s", "P0", "-t", "ROUTER DOWN")
    assert as_json.code == 3
    assert (
        as_json.json()["error"]["type"] == "Refused" and first in as_json.json()["error"]["message"]
    )
    planned = cli("--dry-run", "incident", "open", "-s", "P0", "-t", "router down")
    assert planned.code == 3  # the plan is refused as the real thing would be
    listed = cli("-o", "json", "incident", "list").json()["incidents"]
    assert [i["id"] for i in listed] == [first]
    forced = cli("incident", "open", "-s", "P0", "-t", "router down", "--force")
    assert forced.code == 0, forced.err
    assert f"(--force: {first} is still open with the same title)" in readable(forced)
    assert f"{first} (P1, investigating: Router down) stays open" in forced.out
    # A resolved incident does not block its title.
    for rid in [i["id"] for i in cli("-o", "json", "incident", "list").json()["incidents"]]:
        assert cli("incident", "resolve", rid).code == 0
    assert cli("incident", "open", "-s", "P2", "-t", "Router down").code == 0


# -- time to mitigate only when a change was made -----------------------------------------------


def test_no_change_made_means_no_time_to_mitigate(cli: Cli, store: Any) -> None:
    rid = open_id(cli, "-s", "P1", "-t", "flapping alarm")
    assert cli("incident", "note", "went away by itself").code == 0
    assert cli("incident", "resolve").code == 0
    draft = cli("incident", "postmortem", rid).out
    assert "| time to mitigate | no change was made |" in draft
    doc = cli("-o", "json", "incident", "postmortem", rid).json()
    assert doc["metrics"]["time_to_mitigate_s"] is None and doc["mitigation"] is None
    assert doc["metrics"]["time_to_resolve_s"] is not None
    # Library level, with a clock: resolving is not mitigating.
    lib = incidents.open_incident(store, IncidentsConfig(), severity="P1", title="y",
                                  now=clock(T0, T0))["id"]  # fmt: skip
    incidents.add_entry(store, lib, "command", "health", outcome="ok", mutating=False)
    incidents.add_entry(store, lib, "command", "scale service", outcome="exit 4", mutating=True)
    done = incidents.update(store, lib, status="resolved", now=clock(minutes(30)))
    assert incidents.metrics(done, store.timeline(lib))["time_to_mitigate_s"] is None
    assert "| time to mitigate | no change was made |" in incidents.postmortem(
        done, store.timeline(lib)
    )


def test_time_to_mitigate_is_the_first_change_made(store: Any) -> None:
    rid = incidents.open_incident(
        store, IncidentsConfig(), severity="P0", title="x", now=clock(T0, T0)
    )["id"]
    incidents.add_entry(store, rid, "command", "health", outcome="ok", mutating=False,
                        now=clock(minutes(2)))  # fmt: skip
    incidents.add_entry(store, rid, "command", "rollback", outcome="ok", mutating=True,
                        command="hybridops --yes rollback", now=clock(minutes(7)))  # fmt: skip
    done = incidents.update(store, rid, status="resolved", now=clock(minutes(20)))
    entries = store.timeline(rid)
    assert incidents.metrics(done, entries)["time_to_mitigate_min"] == 7.0
    assert incidents.mitigation(entries) == {
        "at": entries[2]["at"],
        "by": "change",
        "command": "hybridops --yes rollback",
    }
    assert "| time to mitigate | 7.0 min (first change: rollback) |" in incidents.postmortem(
        done, entries
    )


def test_a_real_change_during_the_incident_gives_the_time_to_mitigate(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    rid = open_id(cli, "-s", "P0", "-t", "outage")
    book = tmp_path / "make.yaml"
    book.write_text(
        "name: make\nsteps:\n  - name: create\n    aws: {service: ecs, operation: create_cluster,"
        " params: {clusterName: c1}}\n"
    )
    assert cli("--yes", "run", str(book)).code == 0
    assert cli("incident", "resolve").code == 0
    doc = cli("-o", "json", "incident", "postmortem", rid).json()
    assert doc["mitigation"]["by"] == "change"
    assert doc["mitigation"]["command"] == f"hybridops --yes run {book}"
    assert doc["metrics"]["time_to_mitigate_s"] is not None
    draft = cli("incident", "postmortem", rid).out
    assert re.search(rf"\| time to mitigate \| [\d.]+ s \(first change: run {book}\) \|", draft)


# -- the next open incident becomes active ------------------------------------------------------


def test_resolving_the_active_incident_hands_over_to_the_newest_open_one(cli: Cli) -> None:
    oldest = open_id(cli, "-s", "P3", "-t", "typo")
    middle = open_id(cli, "-s", "P2", "-t", "db slow")
    newest = open_id(cli, "-s", "P1", "-t", "router slow")
    planned = cli("--dry-run", "incident", "resolve")
    assert planned.out.splitlines()[1] == (
        f"{middle} (P2, investigating: db slow) would become the active incident"
    )
    assert cli("-o", "json", "incident", "show").json()["id"] == newest  # nothing changed
    result = cli("incident", "resolve", "--note", "rolled back")
    assert result.code == 0, result.err
    lines = readable(result).splitlines()
    assert re.fullmatch(
        rf"{newest} \(P1, resolved: router slow\) resolved at {HUMAN_TIME} \(.* after it started\)",
        lines[0],
    ), lines
    assert lines[1] == f"{middle} (P2, investigating: db slow) is now the active incident"
    listed = cli("-o", "json", "incident", "list").json()["incidents"]
    assert [i["id"] for i in listed if i["active"]] == [middle]
    entries = cli("-o", "json", "incident", "timeline", middle).json()["entries"]
    assert entries[-1]["kind"] == "active"
    assert entries[-1]["text"] == f"became the active incident ({newest} was resolved)"
    # Resolving one that is not active leaves the active one alone.
    assert cli("incident", "resolve", oldest).code == 0
    assert cli("-o", "json", "incident", "show").json()["id"] == middle
    # `update --status resolved` hands over the same way; JSON names who is active now.
    last = cli("-o", "json", "incident", "update", "--status", "resolved")
    assert last.json()["id"] == middle and last.json()["active_incident"] is None
    assert cli("incident", "note", "x").err.startswith("error: no active incident")


def test_resolve_says_when_no_incident_is_left_open(cli: Cli) -> None:
    rid = open_id(cli, "-s", "P1", "-t", "router slow")
    result = cli("-o", "json", "incident", "resolve")
    assert result.json()["id"] == rid and result.json()["active_incident"] is None
    other = open_id(cli, "-s", "P1", "-t", "router slow again")
    text = cli("incident", "resolve")
    assert text.out.splitlines()[1] == "no incident is open now: none is active"
    assert cli("-o", "json", "incident", "show", other).json()["status"] == "resolved"


# -- readable text ------------------------------------------------------------------------------


def test_show_and_timeline_read_as_a_person_reads_them(cli: Cli) -> None:
    rid = open_id(cli, "-s", "P0", "-t", "router down", "--commander", "kim", "--service", "api")
    assert cli("incident", "escalate", "--to", "sre-lead").code == 0
    assert cli("incident", "update", "--status", "identified", "--next-update", "30m").code == 0
    shown = cli("incident", "show")
    text = readable(shown)
    lines = text.splitlines()
    assert lines[0] == rid
    fields: dict[str, str] = {}
    for line in lines[1:]:
        key, value = line.split(": ", 1)
        fields[key.strip()] = value.strip()
    assert fields["title"] == "router down"
    assert fields["status"] == "identified (the active incident)"
    assert re.fullmatch(rf"{HUMAN_TIME} by {re.escape(WHO)}", fields["acknowledged"])
    assert re.fullmatch(rf"sre-lead at {HUMAN_TIME} by {re.escape(WHO)}", fields["escalated to"])
    assert (fields["commander"], fields["service"]) == ("kim", "api")
    assert re.fullmatch(HUMAN_TIME, fields["next update"])
    timeline = cli("incident", "timeline")
    lines = readable(timeline).splitlines()
    assert lines[0] == f"{rid} (P0, identified: router down)"
    assert re.fullmatch(rf"{HUMAN_TIME}  opened     P0 opened: router down \({re.escape(WHO)}\)",
                        lines[1]), lines  # fmt: skip
    assert lines[-1].endswith("status     status changed from investigating to identified"
                              f" ({WHO})")  # fmt: skip
    doc = cli("-o", "json", "incident", "show").json()
    assert doc["escalations"][0]["to"] == "sre-lead" and doc["active"] is True


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (45, "45 s"), (1.3, "1.3 s"), (180, "3.0 min"), (7200, "2 h 00 min"),
     (11_100, "3 h 05 min")],
)  # fmt: skip
def test_durations_read_as_a_person_reads_them(seconds: float | None, text: str) -> None:
    assert incidents.took(seconds) == text
