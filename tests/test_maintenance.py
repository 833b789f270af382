"""Maintenance windows on the sandbox (ECS really running, real health endpoints): alarm actions muted and
restored exactly, the checklist ticked in order, pre/post compared, one window at a time, and
a forgotten window found and ended from another machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hybridops.proactive.maintenance import compare
from tests.support import Cli, present


@pytest.fixture
def estate(sandbox_env: Any, cli: Cli) -> Any:
    """The sandbox (ECS really running, health endpoints, circuits), its alarms synced."""
    assert cli("--yes", "alarms", "sync").code == 0
    return sandbox_env


def _actions(estate: Any, region: str = "eu-central-1") -> dict[str, bool]:
    alarms = estate.internal_client("cloudwatch", region).describe_alarms()["MetricAlarms"]
    return {a["AlarmName"]: a["ActionsEnabled"] for a in alarms}


def test_a_window_restores_exactly_the_alarm_actions_it_muted(cli: Cli, estate: Any) -> None:
    cw = estate.internal_client("cloudwatch")
    cw.disable_alarm_actions(AlarmNames=["hybrid-router-queue-depth"])  # muted before
    before = _actions(estate)
    assert before["hybrid-router-queue-depth"] is False and before["hybrid-router-cpu-high"]
    started = cli("--yes", "-o", "json", "maintenance", "start", "--reason", "db upgrade")
    assert started.code == 0, started.err
    doc = started.json()
    assert doc["status"] == "open"
    assert sorted(doc["muted"]["eu-central-1"]) == sorted(
        name for name, enabled in before.items() if enabled
    )
    assert doc["muted"]["us-east-1"] == ["hybrid-router-health-check"]
    assert doc["already_muted"] == {"eu-central-1": ["hybrid-router-queue-depth"]}
    assert doc["pre"]["health"]["status"] == "healthy", doc["pre"]["health"]
    assert doc["pre"]["circuits"] == {"bedrock": "closed"}
    assert set(_actions(estate).values()) == {False}  # every alarm quiet during the window
    assert _actions(estate, "us-east-1") == {"hybrid-router-health-check": False}
    listed = cli("-o", "json", "alarms", "list").json()
    assert listed["maintenance"]["id"] == doc["id"]
    assert cli("-o", "json", "maintenance", "status").json()["open"] is True
    ended = cli("-o", "json", "maintenance", "end")
    assert ended.code == 0, ended.err
    assert ended.json()["regressions"] == []
    assert _actions(estate) == before  # the one muted before stays muted
    assert _actions(estate, "us-east-1") == {"hybrid-router-health-check": True}
    assert cli("-o", "json", "maintenance", "status").json()["open"] is False
    # Both ends are in the audit trail, under the window's id.
    records = cli("-o", "json", "audit").json()["records"]
    ours = [
        (r["operation"], r["region"], r["outcome"]) for r in records if r["run_id"] == doc["id"]
    ]
    assert ours == [
        (verb, region, outcome)
        for verb in ("disable_alarm_actions", "enable_alarm_actions")
        for region in ("eu-central-1", "us-east-1")
        for outcome in ("started", "succeeded")
    ]


def test_end_flags_regressions_and_exits_1(cli: Cli, estate: Any) -> None:
    assert cli("--yes", "maintenance", "start", "--reason", "cache resize").code == 0
    estate.break_("bedrock-down")  # the maintenance broke something
    estate.internal_client("ssm").put_parameter(
        Name="/hybrid-routing/circuit-breaker/bedrock", Value="open", Type="String", Overwrite=True
    )
    ended = cli("-o", "json", "maintenance", "end")
    assert ended.code == 1
    regressions = {r["what"]: (r["before"], r["after"]) for r in ended.json()["regressions"]}
    assert regressions["health"][0] == "healthy"
    assert regressions["health"][1] in ("degraded", "unhealthy")
    assert regressions["circuit bedrock"] == ("closed", "open")
    assert all(_actions(estate).values())  # restored even though the service regressed
    text = cli("maintenance", "status")
    assert "no window open" in text.out


def test_one_window_at_a_time_and_another_machine_can_end_it(
    cli: Cli, estate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    first = cli("--yes", "-o", "json", "maintenance", "start", "--reason", "kernel patch")
    assert first.code == 0, first.err
    second = cli("--yes", "maintenance", "start", "--reason", "other")
    assert second.code == 3, second.err
    assert f"a maintenance window is already open in sandbox: {first.json()['id']}" in second.err
    monkeypatch.setenv("USER", "bob")
    monkeypatch.setenv("LOGNAME", "bob")
    refused = cli("maintenance", "end")
    assert refused.code == 3 and "was opened by alice@" in refused.err, refused.err
    assert not any(_actions(estate).values()), _actions(estate)  # still muted
    forced = cli("-o", "json", "maintenance", "end", "--force")
    assert forced.code == 0, forced.err
    assert forced.json()["forced"] is True
    assert all(_actions(estate).values()), _actions(estate)


def test_alarms_are_not_changed_during_a_window(cli: Cli, estate: Any) -> None:
    assert cli("--yes", "maintenance", "start", "--reason", "x").code == 0
    cw = estate.internal_client("cloudwatch")
    cw.delete_alarms(AlarmNames=["hybrid-router-queue-depth"])  # sync would re-create it
    planned = cli("-o", "json", "alarms", "sync", "--dry-run")
    assert planned.code == 0  # the diff is still shown
    refused = cli("--yes", "alarms", "sync")
    assert refused.code == 3, refused.err
    assert "alarms are not changed during it" in refused.err
    assert "hybrid-router-queue-depth" not in _actions(estate)
    assert cli("--yes", "maintenance", "end").code == 0
    assert cli("--yes", "alarms", "sync").code == 0
    assert _actions(estate)["hybrid-router-queue-depth"] is True


def test_the_checklist_is_ticked_in_order_and_an_unticked_item_refuses(
    cli: Cli, estate: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    checklist = tmp_path / "checklist.yaml"
    checklist.write_text("- Backups verified\n- Status page updated\n")
    # The sandbox environment, with a checklist: a config file naming both.
    record = __import__("json").loads(Path(os.environ["HYBRIDOPS_SANDBOX_FILE"]).read_text())
    settings = record["environment"] | {"maintenance": {"checklist": str(checklist)}}
    config = tmp_path / "hybridops.yaml"
    config.write_text(yaml.safe_dump({"environments": {"sandbox": settings}}))
    tty = Cli(tty=True, answers=["y", "n"])
    refused = tty("maintenance", "start", "--reason", "x")
    assert refused.code == 3
    assert tty.prompts == [
        "[1/2] Backups verified — done? [y/N] ",
        "[2/2] Status page updated — done? [y/N] ",
    ]
    assert all(_actions(estate).values())  # nothing muted, no window
    assert cli("-o", "json", "maintenance", "status").json()["open"] is False
    ticked = Cli(tty=True, answers=["y", "y"])
    opened = ticked("-o", "json", "maintenance", "start", "--reason", "x")
    assert opened.code == 0, opened.err
    assert [i["item"] for i in opened.json()["checklist"] if i["ticked"]] == [
        "Backups verified",
        "Status page updated",
    ]
    assert cli("--yes", "maintenance", "end").code == 0
    # An emergency skips the checklist (and says so) but still takes the snapshot.
    emergency = cli("-o", "json", "maintenance", "start", "--reason", "fire", "--emergency")
    assert emergency.code == 0, emergency.err
    assert {i["note"] for i in emergency.json()["checklist"]} == {"skipped: emergency"}
    assert emergency.json()["pre"]["health"]["status"] == "healthy"


def test_a_forgotten_window_is_reported_by_doctor(cli: Cli, estate: Any) -> None:
    assert cli("--yes", "maintenance", "start", "--reason", "x", "--duration", "1m").code == 0
    findings = {f["name"]: f for f in cli("-o", "json", "doctor").json()["checks"]}
    assert findings["maintenance window"]["status"] == "warn"
    # Its end passes (the store is shared: rewrite the window as if started an hour ago).
    from hybridops.state.sqlite import SqliteStore

    store = SqliteStore(Path.cwd() / "home" / "state.db")
    window = present(store.open_window("sandbox"))
    store._conn.execute(
        "UPDATE maintenance SET record = ? WHERE id = ?",
        (
            __import__("json").dumps(window | {"ends_at": "2026-01-01T00:00:00.000000Z"}),
            window["id"],
        ),
    )
    store.close()
    findings = {f["name"]: f for f in cli("-o", "json", "doctor").json()["checks"]}
    assert findings["maintenance window"]["status"] == "fail"
    assert "maintenance end" in findings["maintenance window"]["fix"]
    assert cli("-o", "json", "alarms", "list").json()["maintenance"]["overdue"] is True


def test_compare_judges_only_what_got_worse() -> None:
    pre: dict[str, Any] = {
        "health": {"status": "healthy"},
        "kpis": {
            "p95_ms": 400.0,
            "p99_ms": 900.0,
            "error_rate": 0.2,
            "requests": 5000,
            "latency_samples": 5000,
        },
        "ecs": {"desired": 4, "running": 4, "task_definition": "td:7"},
        "provisioned_concurrency": {"requested": 100},
        "dns": {"serving": "primary", "values": ["a"]},
        "circuits": {"bedrock": "closed"},
    }
    same = compare(pre, pre, 10.0)
    assert same == []
    post: dict[str, Any] = {
        "health": {"status": "degraded"},
        "kpis": {
            "p95_ms": 520.0,
            "p99_ms": 2000.0,
            "error_rate": 0.3,
            "requests": 5000,
            "latency_samples": 5000,
        },
        "ecs": {"desired": 4, "running": 3, "task_definition": "td:8"},
        "provisioned_concurrency": {"requested": 100},
        "dns": {"serving": "primary", "values": ["a"]},
        "circuits": {"bedrock": "closed"},
    }
    rows = {r["what"]: r["regression"] for r in compare(pre, post, 10.0)}
    assert rows == {
        "health": True,
        "P95 latency (ms)": True,  # +30% and +120 ms
        "P99 latency (ms)": False,  # shown, not judged
        "error rate (%)": False,  # +0.1 point
        "ECS running tasks": True,
        "ECS task definition": False,
    }
    small = compare(pre, {**pre, "kpis": {**pre["kpis"], "p95_ms": 440.0}}, 10.0)
    assert [(r["what"], r["regression"]) for r in small] == [("P95 latency (ms)", False)]  # +40 ms
    # The same +30% on a quiet service (a few dozen requests) is shown, not judged.
    quiet = {"requests": 40, "latency_samples": 40}
    judged = compare(
        {**pre, "kpis": {**pre["kpis"], **quiet}}, {**post, "kpis": {**post["kpis"], **quiet}}, 10.0
    )
    p95 = next(r for r in judged if r["what"] == "P95 latency (ms)")
    assert p95["regression"] is False and "too few requests to judge" in p95["note"]
