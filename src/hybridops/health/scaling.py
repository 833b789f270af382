"""The report's scale-up triggers, evaluated from CloudWatch, and the recommendation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hybridops.aws.cloudwatch import Trigger, sustained

# The report's scale-up triggers, in its order; `triage` knows P95 as p95_ms.
NAMES = ("cpu", "memory", "queue_depth", "p95_response_time")
ALIASES = {"p95_ms": "p95_response_time"}


def one(settings: Any, cw: Any, name: str, at: dt.datetime) -> Trigger:
    """One trigger (cpu, memory, queue_depth, p95_response_time) against its threshold."""
    name = ALIASES.get(name, name)
    s = settings.scaling
    ecs = [
        {"Name": "ClusterName", "Value": settings.cluster},
        {"Name": "ServiceName", "Value": settings.service},
    ]
    if name == "cpu":
        return sustained(
            cw,
            name="cpu",
            namespace="AWS/ECS",
            metric="CPUUtilization",
            dimensions=ecs,
            threshold=s.cpu_percent,
            minutes=s.cpu_minutes,
            now=at,
        )
    if name == "memory":
        return sustained(
            cw,
            name="memory",
            namespace="AWS/ECS",
            metric="MemoryUtilization",
            dimensions=ecs,
            threshold=s.memory_percent,
            minutes=s.memory_minutes,
            now=at,
        )
    if name == "queue_depth":
        return sustained(
            cw,
            name="queue_depth",
            namespace=s.queue_namespace,
            metric=s.queue_metric,
            dimensions=[{"Name": "Service", "Value": settings.service}],
            threshold=s.queue_depth,
            minutes=s.queue_minutes,
            now=at,
        )
    if name != "p95_response_time":
        raise ValueError(f"unknown scale-up trigger {name!r}")
    if not settings.load_balancer:
        return Trigger(
            "p95_response_time",
            False,
            None,
            s.p95_ms,
            s.p95_minutes,
            "not evaluated: set load_balancer (app/NAME/ID) in the environment",
        )
    return sustained(
        cw,
        name="p95_response_time",
        namespace="AWS/ApplicationELB",
        metric="TargetResponseTime",
        dimensions=[{"Name": "LoadBalancer", "Value": settings.load_balancer}],
        threshold=s.p95_ms,
        minutes=s.p95_minutes,
        now=at,
        percentile="p95",
        scale=1000.0,
    )


def evaluate(settings: Any, cw: Any, now: Callable[[], dt.datetime] | None = None) -> list[Trigger]:
    """CPU, memory, P95 response time and queue depth against the configured thresholds."""
    at = (now or (lambda: dt.datetime.now(dt.timezone.utc)))()
    return [one(settings, cw, name, at) for name in NAMES]
