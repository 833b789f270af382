"""Alerting as code against moto: the alarms the runbooks assume, created with the right
thresholds and tags, idempotent, diffed, pruned only when asked; listed worst first."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import ZONE_RECORD, Cli, MotoServer, failover_zone


@pytest.fixture
def estate(moto: MotoServer, write_config: Any) -> dict[str, Any]:
    zone_id, check = failover_zone(moto, "alb-1.eu-central-1.example", "alb-1.us-west-2.example")
    topic = moto.client("sns").create_topic(Name="pager")["TopicArn"]
    settings = {
        "sandbox": False,
        "load_balancer": "app/hybrid-routing-alb/abc123",
        "hosted_zone_id": zone_id,
        "record_name": ZONE_RECORD,
        "notify": {"sns_topic_arn": topic},
    }
    write_config(moto.url, **settings)
    moto.forget_requests()
    return {"settings": settings, "check": check, "topic": topic}


def _alarms(moto: MotoServer, region: str = "eu-central-1") -> dict[str, dict[str, Any]]:
    cw = moto.client("cloudwatch", region)
    return {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}


def _tags(moto: MotoServer, alarm: dict[str, Any], region: str = "eu-central-1") -> dict[str, str]:
    tags = moto.client("cloudwatch", region).list_tags_for_resource(ResourceARN=alarm["AlarmArn"])
    return {t["Key"]: t["Value"] for t in tags["Tags"]}


def test_sync_creates_the_alarms_the_runbooks_assume(
    cli: Cli, moto: MotoServer, estate: dict[str, Any]
) -> None:
    result = cli("--yes", "-o", "json", "alarms", "sync")
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["status"] == "applied"
    assert {(c["name"], c["action"]) for c in doc["changes"]} == {
        (f"hybrid-router-{k}", "create")
        for k in (
            "cpu-high",
            "memory-high",
            "queue-depth",
            "p95-latency",
            "error-rate",
            "availability",
            "health-check",
        )
    }
    alarms = _alarms(moto)
    cpu = alarms["hybrid-router-cpu-high"]
    assert (cpu["Namespace"], cpu["MetricName"], cpu["Statistic"]) == (
        "AWS/ECS",
        "CPUUtilization",
        "Average",
    )
    assert (cpu["Threshold"], cpu["Period"], cpu["EvaluationPeriods"]) == (70.0, 60, 5)
    assert cpu["ComparisonOperator"] == "GreaterThanThreshold"
    assert {d["Name"]: d["Value"] for d in cpu["Dimensions"]} == {
        "ClusterName": "hybrid-routing-cluster",
        "ServiceName": "hybrid-router-service",
    }
    assert cpu["AlarmActions"] == [estate["topic"]]
    assert alarms["hybrid-router-memory-high"]["Threshold"] == 80.0
    p95 = alarms["hybrid-router-p95-latency"]
    assert (p95["ExtendedStatistic"], p95["Threshold"], p95["EvaluationPeriods"]) == (
        "p95",
        2.0,
        10,
    )
    queue = alarms["hybrid-router-queue-depth"]
    assert (queue["Threshold"], queue["EvaluationPeriods"]) == (100.0, 5)
    error_rate = alarms["hybrid-router-error-rate"]
    assert error_rate["Threshold"] == 1.0
    assert [m.get("Expression") for m in error_rate["Metrics"] if "Expression" in m] == [
        "100 * errors / requests"
    ]
    availability = alarms["hybrid-router-availability"]
    assert (availability["Threshold"], availability["ComparisonOperator"]) == (
        99.9,
        "LessThanThreshold",
    )
    # Each alarm names the runbook whose trigger tests it, and the command that runs it.
    assert _tags(moto, cpu) == {
        "hybridops:managed": "true",
        "hybridops:severity": "P2",
        # Scale to what the cap allows at the time: triage works the number out.
        "hybridops:command": "hybridops triage",
        "hybridops:runbook": "scale-service",
    }
    assert "Runbook: scale-service. Run: hybridops triage" in (cpu["AlarmDescription"])
    assert "Runbook: scale-service." in alarms["hybrid-router-p95-latency"]["AlarmDescription"]
    assert _tags(moto, availability)["hybridops:severity"] == "P0"
    assert "[P0]" in availability["AlarmDescription"]
    # A 5xx rate has several causes: triage weighs them, so the alarm says so.
    assert _tags(moto, availability)["hybridops:runbook"] == "triage"
    assert availability["AlarmDescription"].endswith(
        "Runbook: chosen by triage. Run: hybridops triage"
    )
    # Route 53 health-check metrics only exist in us-east-1: the alarm is made there.
    health = _alarms(moto, "us-east-1")["hybrid-router-health-check"]
    assert health["Dimensions"] == [{"Name": "HealthCheckId", "Value": estate["check"]}]
    assert _tags(moto, health, "us-east-1")["hybridops:command"] == (
        "hybridops run regional-failover -p to=secondary"
    )
    assert _tags(moto, health, "us-east-1")["hybridops:runbook"] == "regional-failover"


def test_a_second_sync_changes_nothing(cli: Cli, moto: MotoServer, estate: dict[str, Any]) -> None:
    assert cli("--yes", "alarms", "sync").code == 0
    moto.forget_requests()
    again = cli("--yes", "-o", "json", "alarms", "sync")
    assert again.code == 0
    assert again.json()["status"] == "unchanged"
    assert {c["action"] for c in again.json()["changes"]} == {"unchanged"}
    assert not {"PutMetricAlarm", "TagResource", "DeleteAlarms"} & set(moto.requests)


def test_a_changed_threshold_is_diffed_planned_then_applied(
    cli: Cli, moto: MotoServer, estate: dict[str, Any], write_config: Any
) -> None:
    assert cli("--yes", "alarms", "sync").code == 0
    write_config(moto.url, **estate["settings"], scaling={"cpu_percent": 85})
    moto.forget_requests()
    planned = cli("alarms", "sync", "--dry-run")  # the global option, after the command
    assert planned.code == 0, planned.err
    assert (
        "  ~ update       hybrid-router-cpu-high [eu-central-1] P2 (AlarmDescription, Threshold)"
        in planned.err
    )
    assert "  = unchanged    hybrid-router-memory-high [eu-central-1] P2" in planned.err
    assert planned.out.strip() == "planned: 1 update, 6 unchanged"
    assert "PutMetricAlarm" not in moto.requests
    assert _alarms(moto)["hybrid-router-cpu-high"]["Threshold"] == 70.0
    applied = cli("--yes", "alarms", "sync")
    assert applied.out.strip() == "applied: 1 update, 6 unchanged"
    assert _alarms(moto)["hybrid-router-cpu-high"]["Threshold"] == 85.0


def test_sync_asks_first_and_a_refusal_changes_nothing(
    cli: Cli, moto: MotoServer, estate: dict[str, Any]
) -> None:
    refused = cli("alarms", "sync")  # no terminal, no --yes
    assert refused.code == 3
    assert "PutMetricAlarm" not in moto.requests
    assert cli("--read-only", "alarms", "sync").code == 3
    assert _alarms(moto) == {}


def test_prune_deletes_only_what_hybridops_made(
    cli: Cli, moto: MotoServer, estate: dict[str, Any]
) -> None:
    cw = moto.client("cloudwatch")
    common = {
        "Namespace": "AWS/ECS",
        "MetricName": "CPUUtilization",
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    cw.put_metric_alarm(
        AlarmName="hybrid-router-retired",
        **common,
        Tags=[{"Key": "hybridops:managed", "Value": "true"}],
    )
    cw.put_metric_alarm(AlarmName="hybrid-router-hand-made", **common)
    kept = cli("--yes", "-o", "json", "alarms", "sync")
    actions = {c["name"]: c["action"] for c in kept.json()["changes"]}
    assert actions["hybrid-router-retired"] == "would delete"
    assert "hybrid-router-hand-made" not in actions
    assert "hybrid-router-retired" in _alarms(moto)
    pruned = cli("--yes", "-o", "json", "alarms", "sync", "--prune")
    assert {c["name"]: c["action"] for c in pruned.json()["changes"]}["hybrid-router-retired"] == (
        "delete"
    )
    remaining = _alarms(moto)
    assert "hybrid-router-retired" not in remaining
    assert "hybrid-router-hand-made" in remaining


def test_list_shows_state_severity_duration_and_the_command(
    cli: Cli, moto: MotoServer, estate: dict[str, Any]
) -> None:
    assert cli("--yes", "alarms", "sync").code == 0
    cw = moto.client("cloudwatch")
    # moto evaluates no alarms: the states are driven explicitly.
    cw.set_alarm_state(
        AlarmName="hybrid-router-cpu-high", StateValue="ALARM", StateReason="CPU 93%"
    )
    cw.set_alarm_state(
        AlarmName="hybrid-router-availability", StateValue="ALARM", StateReason="99.1%"
    )
    everything = cli("-o", "json", "alarms", "list").json()
    names = [a["name"] for a in everything["alarms"]]
    assert names[:2] == ["hybrid-router-availability", "hybrid-router-cpu-high"]  # P0 first
    assert everything["firing"] == 2
    firing = cli("-o", "json", "alarms", "list", "--firing").json()["alarms"]
    assert [(a["name"], a["severity"], a["state"], a["command"]) for a in firing] == [
        ("hybrid-router-availability", "P0", "ALARM", "hybridops triage"),
        ("hybrid-router-cpu-high", "P2", "ALARM", "hybridops triage"),
    ]
    assert all(a["for_s"] is not None and a["for_s"] >= 0 for a in firing)
    assert firing[1]["reason"] == "CPU 93%"
    text = cli("alarms", "list", "--firing")
    assert text.code == 0
    assert "ALARM  P0   hybrid-router-availability" in text.out
    assert "hybridops --env test triage" in text.out  # the run column, with its environment
    # ...and ends with what triage, weighing every alarm and check, would run first.
    last = text.out.strip().splitlines()[-1]
    # This estate has no ECS service: scaling applies but has nothing to scale, said so.
    assert last.startswith("next: scale-service would apply, but "), last
    assert "there is no ECS service to scale" in last


def test_an_update_keeps_alarm_actions_someone_muted(
    cli: Cli, moto: MotoServer, estate: dict[str, Any], write_config: Any
) -> None:
    assert cli("--yes", "alarms", "sync").code == 0
    moto.client("cloudwatch").disable_alarm_actions(AlarmNames=["hybrid-router-cpu-high"])
    write_config(moto.url, **estate["settings"], scaling={"cpu_percent": 90})
    assert cli("--yes", "alarms", "sync").out.strip() == "applied: 1 update, 6 unchanged"
    cpu = _alarms(moto)["hybrid-router-cpu-high"]
    assert (cpu["Threshold"], cpu["ActionsEnabled"]) == (90.0, False)
    assert _alarms(moto)["hybrid-router-memory-high"]["ActionsEnabled"] is True
