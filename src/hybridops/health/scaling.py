"""The report's scale-up triggers, evaluated from CloudWatch, and the recommendation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hybridops.aws.cloudwatch import Trigger, sustained

# The report's scale-up triggers, in its order; `triage` knows P95 as p95_ms.
NAMES = ("cpu", "memory", "queue_depth", "p95_response_time")
ALIASES = {"p95_ms": "p95_response_time"}


@dataclass(frozen=True)
class ScaleTrigger:
    """A scale-up trigger as config sets it: `scale check` evaluates it, `alarms sync` alarms it."""

    name: str  # cpu, memory, queue_depth, p95_response_time
    alarm: str  # the alarm's key: cpu-high, memory-high, queue-depth, p95-latency
    words: str  # what the alarm says, e.g. "ECS CPU above 80% for 5 min"
    namespace: str
    metric: str
    dimensions: dict[str, str]
    statistic: str  # Average, or a percentile (p95)
    threshold: float  # in the unit config uses (P95 in ms)
    minutes: int
    scale: float = 1.0  # config's unit per the metric's (the ALB reports seconds: 1000)
    missing: str | None = None  # why it cannot be evaluated (a setting is not set)


def triggers(settings: Any) -> list[ScaleTrigger]:
    """The four scale-up triggers of an environment, in the report's order: the one table."""
    s = settings.scaling
    ecs = {"ClusterName": settings.cluster, "ServiceName": settings.service}
    alb = {"LoadBalancer": settings.load_balancer} if settings.load_balancer else {}
    return [
        ScaleTrigger("cpu", "cpu-high",
                     f"ECS CPU above {s.cpu_percent:g}% for {s.cpu_minutes} min",
                     "AWS/ECS", "CPUUtilization", ecs, "Average", s.cpu_percent, s.cpu_minutes),
        ScaleTrigger("memory", "memory-high",
                     f"ECS memory above {s.memory_percent:g}% for {s.memory_minutes} min",
                     "AWS/ECS", "MemoryUtilization", ecs, "Average", s.memory_percent,
                     s.memory_minutes),
        ScaleTrigger("queue_depth", "queue-depth",
                     f"queue depth above {s.queue_depth:g} for {s.queue_minutes} min",
                     s.queue_namespace, s.queue_metric, {"Service": settings.service}, "Average",
                     s.queue_depth, s.queue_minutes),
        ScaleTrigger("p95_response_time", "p95-latency",
                     f"P95 response time above {s.p95_ms:g} ms for {s.p95_minutes} min",
                     "AWS/ApplicationELB", "TargetResponseTime", alb, "p95", s.p95_ms,
                     s.p95_minutes, scale=1000.0,
                     missing=None if alb else "set load_balancer (app/NAME/ID)"),
    ]  # fmt: skip


def one(settings: Any, cw: Any, name: str, at: dt.datetime) -> Trigger:
    """One trigger (cpu, memory, queue_depth, p95_response_time) against its threshold."""
    name = ALIASES.get(name, name)
    found = next((t for t in triggers(settings) if t.name == name), None)
    if found is None:
        raise ValueError(f"unknown scale-up trigger {name!r}")
    if found.missing:
        return Trigger(
            found.name, False, None, found.threshold, found.minutes,
            f"not evaluated: {found.missing} in the environment",
        )  # fmt: skip
    percentile = found.statistic if found.statistic.startswith("p") else None
    return sustained(
        cw,
        name=found.name,
        namespace=found.namespace,
        metric=found.metric,
        dimensions=[{"Name": k, "Value": v} for k, v in found.dimensions.items()],
        threshold=found.threshold,
        minutes=found.minutes,
        now=at,
        statistic="Average" if percentile else found.statistic,
        percentile=percentile,
        scale=found.scale,
    )


def evaluate(settings: Any, cw: Any, now: Callable[[], dt.datetime] | None = None) -> list[Trigger]:
    """CPU, memory, P95 response time and queue depth against the configured thresholds."""
    at = (now or (lambda: dt.datetime.now(dt.timezone.utc)))()
    return [one(settings, cw, name, at) for name in NAMES]
