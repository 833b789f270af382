"""`hybridops scale check`: each trigger firing and not firing, from real CloudWatch data (moto)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import Cli, MotoServer

ECS_DIMS = [
    {"Name": "ClusterName", "Value": "hybrid-routing-cluster"},
    {"Name": "ServiceName", "Value": "hybrid-router-service"},
]
ALB = "app/hybrid-routing-alb/abc123"


def put_minutes(moto: MotoServer, namespace: str, metric: str, dims, values: list[float]) -> None:
    """One datapoint per minute, newest last, ending now."""
    now = dt.datetime.now(dt.timezone.utc)
    data = [
        {
            "MetricName": metric,
            "Dimensions": dims,
            "Timestamp": now - dt.timedelta(minutes=len(values) - i - 0.5),
            "Value": v,
        }
        for i, v in enumerate(values)
    ]
    moto.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=data)


@pytest.fixture
def configured(moto: MotoServer, write_config):
    write_config(moto.url, load_balancer=ALB)
    return moto


def normal(moto: MotoServer, *, skip: str = "") -> None:
    """Calm values for every metric but `skip`."""
    queue = [{"Name": "Service", "Value": "hybrid-router-service"}]
    alb = [{"Name": "LoadBalancer", "Value": ALB}]
    calm = [
        ("AWS/ECS", "CPUUtilization", ECS_DIMS, [30.0] * 6),
        ("AWS/ECS", "MemoryUtilization", ECS_DIMS, [50.0] * 6),
        ("HybridRouting", "QueueDepth", queue, [10.0] * 6),
        ("AWS/ApplicationELB", "TargetResponseTime", alb, [0.2] * 11),
    ]
    for namespace, metric, dims, values in calm:
        if metric != skip:
            put_minutes(moto, namespace, metric, dims, values)


def test_nothing_fires_on_a_calm_service(cli: Cli, configured: MotoServer) -> None:
    normal(configured)
    result = cli("-o", "json", "scale", "check")
    assert result.code == 0, result.out
    doc = result.json()
    assert doc["status"] == "ok"
    assert {t["name"]: t["fired"] for t in doc["triggers"]} == {
        "cpu": False,
        "memory": False,
        "queue_depth": False,
        "p95_response_time": False,
    }
    assert doc["recommendation"] is None


@pytest.mark.parametrize(
    ("trigger", "namespace", "metric", "dims", "values"),
    [
        ("cpu", "AWS/ECS", "CPUUtilization", ECS_DIMS, [85.0] * 6),
        ("memory", "AWS/ECS", "MemoryUtilization", ECS_DIMS, [90.0] * 6),
        (
            "queue_depth",
            "HybridRouting",
            "QueueDepth",
            [{"Name": "Service", "Value": "hybrid-router-service"}],
            [150.0] * 6,
        ),
        (
            "p95_response_time",
            "AWS/ApplicationELB",
            "TargetResponseTime",
            [{"Name": "LoadBalancer", "Value": ALB}],
            [2.6] * 11,
        ),
    ],
)
def test_each_trigger_fires(
    cli: Cli, configured: MotoServer, trigger, namespace, metric, dims, values
) -> None:
    normal(configured, skip=metric)
    put_minutes(configured, namespace, metric, dims, values)
    result = cli("-o", "json", "scale", "check")
    assert result.code == 1
    doc = result.json()
    fired = [t["name"] for t in doc["triggers"] if t["fired"]]
    assert fired == [trigger]
    assert doc["recommendation"] == {"service_by": 2, "lambda_by": 50}
    assert doc["status"] == "scale-up-recommended"


def test_a_short_spike_does_not_fire(cli: Cli, configured: MotoServer) -> None:
    put_minutes(
        configured, "AWS/ECS", "CPUUtilization", ECS_DIMS, [30.0, 30.0, 30.0, 95.0, 95.0, 95.0]
    )
    doc = cli("-o", "json", "scale", "check").json()
    cpu = next(t for t in doc["triggers"] if t["name"] == "cpu")
    assert cpu["fired"] is False
