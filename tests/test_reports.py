"""Weekly trends and monthly capacity planning over metric data the tests put into moto
(percentiles, which moto lacks, through a botocore Stubber with real response shapes)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from hybridops.config import EnvironmentConfig
from hybridops.logs.trends import weekly
from tests.support import Cli, MotoServer

END = dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.timezone.utc)
ALB = "app/hybrid-routing-alb/abc123"
ECS = [
    {"Name": "ClusterName", "Value": "hybrid-routing-cluster"},
    {"Name": "ServiceName", "Value": "hybrid-router-service"},
]


def _put(
    cw: Any,
    namespace: str,
    name: str,
    dims: list[dict[str, str]],
    points: list[tuple[dt.datetime, float]],
) -> None:
    data = [{"MetricName": name, "Dimensions": dims, "Timestamp": t, "Value": v} for t, v in points]
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace=namespace, MetricData=data[i : i + 500])


def _week(offset_days: float, values: list[float]) -> list[tuple[dt.datetime, float]]:
    """Values spread over the hours of one day `offset_days` before END."""
    return [(END - dt.timedelta(days=offset_days, hours=h), v) for h, v in enumerate(values, 1)]


def test_weekly_trend_week_over_week(cli: Cli, moto: MotoServer, write_config: Any) -> None:
    cw = moto.client("cloudwatch")
    alb = [{"Name": "LoadBalancer", "Value": ALB}]
    cache = [{"Name": "Cluster", "Value": "router-cache"}]
    last_cpu, this_cpu = [40.0, 52.0, 47.0], [61.0, 70.0, 66.0]
    last_requests, this_requests = [4000.0, 6000.0], [5000.0, 7000.0]
    last_errors, this_errors = [20.0, 10.0], [12.0, 12.0]
    last_hits, this_hits = [90.0, 94.0], [70.0, 74.0]
    _put(cw, "AWS/ECS", "CPUUtilization", ECS, _week(10, last_cpu) + _week(3, this_cpu))
    _put(cw, "AWS/ECS", "MemoryUtilization", ECS, _week(10, [60.0]) + _week(3, [60.0]))
    _put(
        cw,
        "AWS/ApplicationELB",
        "RequestCount",
        alb,
        _week(9, last_requests) + _week(2, this_requests),
    )
    _put(
        cw,
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        alb,
        _week(9, last_errors) + _week(2, this_errors),
    )
    _put(cw, "Router", "CacheHitRate", cache, _week(11, last_hits) + _week(1, this_hits))
    write_config(
        moto.url,
        sandbox=False,
        load_balancer=ALB,
        reports={
            "trend_metrics": [
                {
                    "name": "cache hit rate",
                    "namespace": "Router",
                    "metric": "CacheHitRate",
                    "dimensions": {"Cluster": "router-cache"},
                    "stat": "Average",
                    "higher_is_better": True,
                }
            ]
        },
    )
    result = cli("-o", "json", "logs", "report", "weekly", "--end", END.isoformat())
    assert result.code == 1, result.err  # regressions found
    rows = {r["key"]: r for r in result.json()["rows"]}
    cpu = rows["cpu_peak"]
    assert (cpu["last_week"], cpu["this_week"]) == (max(last_cpu), max(this_cpu))
    assert cpu["change_pct"] == round((70 - 52) / 52 * 100, 1)
    assert (cpu["direction"], cpu["regression"]) == ("up", True)
    assert (rows["memory_peak"]["direction"], rows["memory_peak"]["regression"]) == ("flat", False)
    requests = rows["requests"]
    assert (requests["last_week"], requests["this_week"]) == (
        sum(last_requests),
        sum(this_requests),
    )
    assert requests["regression"] is False  # more traffic is not a regression
    rate = rows["error_rate"]
    assert rate["last_week"] == pytest.approx(100 * sum(last_errors) / sum(last_requests))
    assert rate["this_week"] == pytest.approx(100 * sum(this_errors) / sum(this_requests))
    assert (rate["direction"], rate["regression"]) == ("down", False)
    throughput = rows["throughput"]
    assert throughput["this_week"] == pytest.approx(sum(this_requests) / (7 * 86400))
    hits = rows["extra:cache hit rate"]
    assert (hits["last_week"], hits["this_week"]) == (92.0, 72.0)
    assert (hits["direction"], hits["regression"]) == ("down", True)  # down is bad here
    assert result.json()["regressions"] == ["CPU peak", "cache hit rate"]
    # Percentiles: moto has none, and the report says so rather than inventing them.
    assert rows["latency_p95"]["this_week"] is None
    assert any("no data this week for: latency P50" in n for n in result.json()["notes"])
    text = cli("logs", "report", "weekly", "--end", END.isoformat(), "--format", "markdown")
    assert "| CPU peak | 52% | 70% | ↑ +34.6% **regression** |" in text.out
    assert "| error rate | 0.3% | 0.2% | ↓ -33.3% |" in text.out
    assert "Regressions: CPU peak, cache hit rate." in text.out


def test_weekly_latency_percentiles_from_cloudwatch_statistics() -> None:
    import boto3
    from botocore.stub import Stubber

    cw = boto3.client(
        "cloudwatch", region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    settings = EnvironmentConfig(load_balancer=ALB)
    stub = Stubber(cw)

    def metric_data(values: dict[str, float]) -> dict[str, Any]:
        # Ids follow the query order: CPU, memory, requests, 5xx.
        order = ["cpu", "memory", "requests", "errors"]
        return {
            "MetricDataResults": [
                {
                    "Id": f"q{i}",
                    "Label": k,
                    "Timestamps": [END],
                    "Values": [values[k]],
                    "StatusCode": "Complete",
                }
                for i, k in enumerate(order)
            ]
        }

    def percentile(stat: str, seconds: float) -> dict[str, Any]:
        return {
            "Label": "TargetResponseTime",
            "Datapoints": [{"Timestamp": END, "ExtendedStatistics": {stat: seconds}}],
        }

    weeks = {
        "this": (
            {"cpu": 50.0, "memory": 60.0, "requests": 1000.0, "errors": 1.0},
            {"p50": 0.2, "p95": 0.9, "p99": 1.5},
        ),
        "last": (
            {"cpu": 50.0, "memory": 60.0, "requests": 1000.0, "errors": 1.0},
            {"p50": 0.2, "p95": 0.6, "p99": 1.4},
        ),
    }
    for week in ("this", "last"):
        plain, pcts = weeks[week]
        stub.add_response("get_metric_data", metric_data(plain))
        for stat in ("p50", "p95", "p99"):
            stub.add_response("get_metric_statistics", percentile(stat, pcts[stat]))
    with stub:
        report = weekly(cw, settings, END)
    stub.assert_no_pending_responses()
    rows = {r.key: r for r in report.rows}
    assert (rows["latency_p95"].last_week, rows["latency_p95"].this_week) == (600.0, 900.0)
    assert rows["latency_p95"].change_pct == 50.0 and rows["latency_p95"].regression
    assert rows["latency_p50"].direction == "flat" and not rows["latency_p50"].regression
    assert [r.label for r in report.regressions] == ["latency P95"]


def test_monthly_capacity_plan(cli: Cli, moto: MotoServer, write_config: Any) -> None:
    cw = moto.client("cloudwatch")
    days = 30
    noon = [END - dt.timedelta(days=d) + dt.timedelta(hours=12) for d in range(days, 0, -1)]
    requests = [10000.0 + 200.0 * i for i in range(days)]  # +200 a day
    cpu = [40.0 + 0.5 * i for i in range(days)]
    _put(
        cw,
        "AWS/ApplicationELB",
        "RequestCount",
        [{"Name": "LoadBalancer", "Value": ALB}],
        list(zip(noon, requests, strict=True)),
    )
    _put(cw, "AWS/ECS", "CPUUtilization", ECS, list(zip(noon, cpu, strict=True)))
    _put(cw, "AWS/ECS", "MemoryUtilization", ECS, [(t, 50.0) for t in noon])
    _put(
        cw,
        "AWS/Lambda",
        "ConcurrentExecutions",
        [{"Name": "FunctionName", "Value": "hybrid-router-function"}],
        [(noon[5], 120.0), (noon[9], 80.0)],
    )
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName="hybrid-routing-cluster")
    ecs.create_service(
        cluster="hybrid-routing-cluster", serviceName="hybrid-router-service", desiredCount=4
    )
    write_config(moto.url, sandbox=False, load_balancer=ALB, aws_max_attempts=1)
    result = cli("-o", "json", "logs", "report", "monthly", "--end", END.isoformat())
    assert result.code == 0, result.err
    doc = result.json()
    # Expected, computed here: +200 requests a day over a mean of 10000 + 200 * 14.5.
    growth = 200.0 * 30 / (10000.0 + 200.0 * 14.5)
    assert doc["growth_per_month_pct"] == round(growth * 100, 1)
    ecs_plan = doc["ecs"]
    assert (ecs_plan["desired_now"], ecs_plan["cpu_peak"], ecs_plan["cpu_target"]) == (
        4,
        max(cpu),
        70.0,
    )
    assert ecs_plan["cpu_headroom"] == round(70.0 - max(cpu), 1)
    expected_tasks = max(
        math.ceil(4 * max(cpu) * (1 + growth) / 70.0), math.ceil(4 * 50.0 * (1 + growth) / 80.0)
    )
    assert ecs_plan["desired_next"] == expected_tasks == 5
    lam = doc["lambda"]
    assert lam["concurrency_peak"] == 120.0
    assert lam["provisioned_next"] == math.ceil(120.0 * (1 + growth) / 0.7 / 50) * 50 == 300
    assert lam["provisioned_now"] is None  # moto has no provisioned concurrency: said so
    assert any("provisioned concurrency unreadable" in n for n in doc["notes"])
    text = cli("logs", "report", "monthly", "--end", END.isoformat(), "--format", "markdown")
    assert "| ECS CPU | 54.5% | 70% | 15.5 pts | 4 tasks | 5 tasks |" in text.out
    assert f"Request growth: {growth * 100:+.1f}% per month" in text.out
