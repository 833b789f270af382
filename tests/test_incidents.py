"""Incidents: deadlines, lifecycle, the automatic timeline, concurrency, post-mortem metrics."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest

from hybridops.config import IncidentsConfig
from hybridops.incidents import lifecycle as incidents
from hybridops.state.sqlite import SqliteStore
from tests.support import Cli, HttpServer, MotoServer, present

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("severity", "respond", "escalate"),
    [
        ("P0", T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=15)),
        ("P1", T0 + dt.timedelta(minutes=15), T0 + dt.timedelta(hours=1)),
        ("P2", T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=4)),
        ("P3", dt.datetime(2026, 11, 30, 9, 0, tzinfo=UTC), None),  # Monday 09:00 UTC
    ],
)
def test_deadlines_follow_the_severity_matrix(
    severity: str, respond: dt.datetime, escalate: dt.datetime | None
) -> None:
    assert incidents.deadlines(severity, T0, IncidentsConfig()) == (respond, escalate)


def test_unknown_severity_is_bad_input(cli: Cli) -> None:
    result = cli("incident", "open", "-s", "P9", "-t", "x")
    assert result.code == 2 and "severity 'P9'" in result.err


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = SqliteStore(tmp_path / "state.db")
    yield store
    store.close()


def clock(*moments: dt.datetime) -> Any:
    it = iter(moments)
    return lambda: next(it)


def test_lifecycle_and_metrics_match_recorded_times(store: Any) -> None:
    config = IncidentsConfig(escalation={"P0": ["sre-lead", "eng-manager"]})
    record = incidents.open_incident(
        store, config, severity="P0", title="router down", now=clock(T0, T0)
    )
    assert record["id"] == "INC-20261127-160000" and store.active_incident() == record["id"]
    again = incidents.open_incident(store, config, severity="P2", title="x", now=clock(T0, T0))
    assert again["id"] == "INC-20261127-160000-2"
    rid = record["id"]
    t = T0 + dt.timedelta(minutes=3)
    incidents.update(store, rid, note="looking", now=clock(t, t))
    assert incidents.escalate(store, config, rid, now=clock(t, t))["escalations"][0]["to"] == (
        "sre-lead"
    )
    assert incidents.escalate(store, config, rid, now=clock(t, t))["escalations"][1]["to"] == (
        "eng-manager"
    )
    t10, t25 = T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=25)
    incidents.update(store, rid, status="monitoring", now=clock(t10, t10))
    store.set_active_incident(rid)
    done = incidents.update(store, rid, status="resolved", now=clock(t25, t25, t25))
    assert done["resolved_at"].startswith("2026-11-27T16:25:00")
    # The other open incident takes over as the active one.
    assert store.active_incident() == again["id"]
    metrics = incidents.metrics(done, store.timeline(rid))
    assert metrics == {
        "time_to_acknowledge_min": 3.0,
        "time_to_mitigate_min": 10.0,
        "time_to_resolve_min": 25.0,
        "time_to_acknowledge_s": 180.0,
        "time_to_mitigate_s": 600.0,
        "time_to_resolve_s": 1500.0,
    }
    draft = incidents.postmortem(done, store.timeline(rid))
    assert "| time to resolve | 25.0 min |" in draft
    assert "[escalated] escalated to sre-lead" in draft


def test_overdue_acknowledgement_and_escalation(store: Any) -> None:
    record = incidents.open_incident(
        store, IncidentsConfig(), severity="P0", title="x", now=clock(T0, T0)
    )
    assert incidents.overdue(record, T0 + dt.timedelta(minutes=4)) == []
    assert incidents.overdue(record, T0 + dt.timedelta(minutes=6)) == ["acknowledgement"]
    assert incidents.overdue(record, T0 + dt.timedelta(minutes=16)) == [
        "acknowledgement",
        "escalation",
    ]


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SqliteStore(path)
    rid = incidents.open_incident(first, IncidentsConfig(), severity="P1", title="x")["id"]
    first.close()
    barrier = threading.Barrier(6)

    def writer(n: int) -> None:
        store = SqliteStore(path)
        barrier.wait()
        for i in range(10):
            incidents.add_entry(store, rid, "note", f"{n}-{i}")
        incidents.escalate(store, IncidentsConfig(), rid, to=f"person-{n}")
        store.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = SqliteStore(path)
    notes = [e for e in check.timeline(rid) if e["kind"] == "note"]
    assert len(notes) == 60
    escalated = {e["to"] for e in present(check.get_incident(rid))["escalations"]}
    assert escalated == {f"person-{n}" for n in range(6)}
    check.close()


def test_cli_lifecycle_json(cli: Cli) -> None:
    opened = cli("-o", "json", "incident", "open", "-s", "p1", "-t", "5xx spike", "--impact", "10%")
    assert opened.code == 0, opened.err
    doc = opened.json()
    assert set(doc) == {
        "id",
        "severity",
        "status",
        "started_at",
        "respond_by",
        "escalate_at",
        "notified",
        "failed",
    }
    assert (doc["severity"], doc["status"]) == ("P1", "investigating")
    rid = doc["id"]
    assert (
        cli("incident", "update", rid, "--status", "identified", "--next-update", "30m").code == 0
    )
    assert cli("incident", "note", rid, "cache cluster saturated").code == 0
    no_chain = cli("incident", "escalate", rid)
    assert no_chain.code == 2 and "--to NAME" in no_chain.err
    assert cli("incident", "escalate", rid, "--to", "db-oncall").code == 0
    assert cli("incident", "update", rid, "--status", "fixed").code == 2
    listed = cli("-o", "json", "incident", "list", "--open").json()["incidents"]
    assert [i["id"] for i in listed] == [rid] and listed[0]["active"] is True
    assert cli("incident", "resolve", rid, "--note", "scaled the cache").code == 0
    assert cli("-o", "json", "incident", "list", "--open").json()["incidents"] == []
    kinds = [e["kind"] for e in cli("-o", "json", "incident", "timeline", rid).json()["entries"]]
    assert kinds == ["opened", "status", "note", "escalated", "status", "note"]
    assert cli("incident", "show", "INC-nope").code == 2


def test_commands_during_an_incident_write_the_timeline(
    cli: Cli, moto: MotoServer, write_config: Any, healthy_endpoint: HttpServer, tmp_path: Path
) -> None:
    write_config(moto.url, healthy_endpoint.url, cluster="c1", service="s1")
    rid = cli("-o", "json", "incident", "open", "-s", "P0", "-t", "outage").json()["id"]
    cli("health")
    book = tmp_path / "make.yaml"
    book.write_text(
        "name: make\nsteps:\n  - name: create\n    aws: {service: ecs, operation: create_cluster,"
        " params: {clusterName: c1}}\n"
    )
    assert cli("--yes", "run", str(book)).code == 0
    assert cli("--dry-run", "run", str(book)).code == 0
    entries = cli("-o", "json", "incident", "timeline", rid).json()["entries"]
    commands = [e for e in entries if e["kind"] == "command"]
    # The dry run writes nothing, its timeline entry included.
    assert [c["text"] for c in commands] == ["health", "run " + str(book)]
    assert commands[0]["outcome"] in ("ok", "exit 1")
    assert (commands[1]["outcome"], commands[1]["mutating"]) == ("ok", True)
    assert commands[1]["command"] == f"hybridops --yes run {book}"
    draft = cli("incident", "postmortem", rid).out
    assert "time to mitigate" in draft and "`hybridops --yes run" in draft


# -- notifications -----------------------------------------------------------------------------

SLACK_SECRET = "s3cr3tSlackT0ken"
PD_SECRET = "R0UT1NGk3ySecret"


def test_notifications_go_out_failures_are_kept_and_resent_and_secrets_never_leak(
    cli: Cli,
    moto: MotoServer,
    write_config: Any,
    http_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import json as jsonlib

    slack = http_server(lambda m, p, b: (200, {"ok": True}))
    pagerduty = http_server(lambda m, p, b: (202, {"status": "success"}))
    flaky_state = {"fail": 2}

    def flaky(method: str, path: str, body: bytes) -> tuple[int, Any]:
        if flaky_state["fail"] > 0:
            flaky_state["fail"] -= 1
            return 503, {"error": "down"}
        return 200, {}

    webhook = http_server(flaky)
    sns = moto.client("sns")
    sqs = moto.client("sqs")
    topic = sns.create_topic(Name="incidents")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("SLACK_URL", f"{slack.url}/services/T0/B0/{SLACK_SECRET}")
    monkeypatch.setenv("HOOK_URL", f"{webhook.url}/hook")
    monkeypatch.setenv("PD_KEY", PD_SECRET)
    write_config(
        moto.url,
        notify={
            "slack_webhook_url_env": "SLACK_URL",
            "webhook_url_env": "HOOK_URL",
            "sns_topic_arn": topic,
            "pagerduty_routing_key_env": "PD_KEY",
            "pagerduty_url": f"{pagerduty.url}/v2/enqueue",
        },
    )
    outputs = []
    opened = cli(
        "-o", "json", "incident", "open", "-s", "P0", "-t", "router down", "--commander", "kim"
    )
    outputs.append(opened)
    assert opened.code == 0, opened.err
    doc = opened.json()
    assert sorted(doc["notified"]) == ["pagerduty", "slack", "sns"]
    assert [f["channel"] for f in doc["failed"]] == ["webhook"]
    text = jsonlib.loads(slack.requests[0][2])["text"]
    assert text.startswith(
        f"[P0] Hybrid Routing Incident - router down\n\nIncident ID: {doc['id']}"
    )
    assert "Incident Commander: kim" in text
    page = jsonlib.loads(pagerduty.requests[0][2])
    assert (page["event_action"], page["dedup_key"], page["payload"]["severity"]) == (
        "trigger",
        doc["id"],
        "critical",
    )
    messages = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert doc["id"] in messages[0]["Body"]
    # The webhook recovers; `incident notify` resends only what did not arrive.
    before = len(slack.requests)
    resent = cli("-o", "json", "incident", "notify", doc["id"])
    outputs.append(resent)
    assert resent.code == 0 and resent.json()["notified"] == ["webhook"]
    assert len(slack.requests) == before
    assert jsonlib.loads(webhook.requests[-1][2])["incident"]["id"] == doc["id"]
    # Dry run: printed, not sent.
    dry = cli("--dry-run", "incident", "open", "-s", "P3", "-t", "typo on status page")
    outputs.append(dry)
    assert "Hybrid Routing Incident - typo on status page" in dry.err
    assert len(slack.requests) == before
    resolved = cli("-o", "json", "incident", "resolve", doc["id"], "--note", "rolled back")
    outputs.append(resolved)
    assert "pagerduty" in resolved.json()["notified"]
    closing = jsonlib.loads(pagerduty.requests[-1][2])
    assert (closing["event_action"], closing["dedup_key"]) == ("resolve", doc["id"])
    outputs.append(cli("-o", "json", "incident", "show", doc["id"]))
    outputs.append(cli("audit"))
    leaked = [r for r in outputs if SLACK_SECRET in r.out + r.err or PD_SECRET in r.out + r.err]
    assert leaked == []
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SLACK_SECRET.encode() not in data and PD_SECRET.encode() not in data, path


def test_missing_secret_variable_is_a_config_error(
    cli: Cli, moto: MotoServer, write_config: Any
) -> None:
    write_config(moto.url, notify={"slack_webhook_url_env": "NOPE_NOT_SET"})
    result = cli("incident", "open", "-s", "P1", "-t", "x")
    assert result.code == 2 and "$NOPE_NOT_SET" in result.err


def test_action_items(cli: Cli) -> None:
    rid = cli("-o", "json", "incident", "open", "-s", "P2", "-t", "slow cache").json()["id"]
    added = cli(
        "-o",
        "json",
        "incident",
        "action",
        "add",
        rid,
        "add a cache alarm",
        "--owner",
        "kim",
        "--due",
        "2020-01-31",
    )
    assert added.code == 0, added.err
    number = added.json()["n"]
    cli("incident", "action", "add", rid, "load test", "--owner", "lee", "--due", "2999-01-01")
    assert cli("incident", "action", "add", rid, "x", "--owner", "a", "--due", "soon").code == 2
    overdue = cli("-o", "json", "incident", "action", "list", "--overdue").json()["actions"]
    assert [a["n"] for a in overdue] == [number]
    assert cli("incident", "action", "done", str(number)).code == 0
    assert cli("-o", "json", "incident", "action", "list", "--overdue").json()["actions"] == []
    assert cli("incident", "action", "done", "999").code == 2
    draft = cli("incident", "postmortem", rid).out
    assert "- [x] #1 add a cache alarm — kim, due 2020-01-31 (done)" in draft
    assert "- [ ] #2 load test — lee, due 2999-01-01" in draft
