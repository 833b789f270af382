"""CloudWatch: has a metric stayed over a threshold for N minutes?"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass
class Trigger:
    """One scale-up trigger's evaluation."""

    name: str
    fired: bool
    value: float | None
    threshold: float
    minutes: int
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "name": self.name,
            "fired": self.fired,
            "value": self.value,
            "threshold": self.threshold,
            "minutes": self.minutes,
            "detail": self.detail,
        }


def sustained(
    cw: Any,
    *,
    name: str,
    namespace: str,
    metric: str,
    dimensions: list[dict[str, str]],
    threshold: float,
    minutes: int,
    now: dt.datetime,
    statistic: str = "Average",
    percentile: str | None = None,
    scale: float = 1.0,
) -> Trigger:
    """Fired when every 1-minute period of the last `minutes` is above the threshold."""
    kwargs: dict[str, Any] = {
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": dimensions,
        "StartTime": now - dt.timedelta(minutes=minutes),
        "EndTime": now,
        "Period": 60,
    }
    if percentile:
        kwargs["ExtendedStatistics"] = [percentile]
    else:
        kwargs["Statistics"] = [statistic]
    points = cw.get_metric_statistics(**kwargs)["Datapoints"]
    note = ""
    values: list[float] = []
    for point in points:
        if percentile and percentile in point.get("ExtendedStatistics", {}):
            values.append(float(point["ExtendedStatistics"][percentile]) * scale)
        elif not percentile:
            values.append(float(point[statistic]) * scale)
    if percentile and not values and points:
        note = f" ({percentile} not available)"
    if percentile and not values:
        # No percentile data: ask for the maximum, which bounds the percentile from above.
        kwargs.pop("ExtendedStatistics")
        kwargs["Statistics"] = ["Maximum"]
        points = cw.get_metric_statistics(**kwargs)["Datapoints"]
        values = [float(p["Maximum"]) * scale for p in points]
        note = f" ({percentile} unavailable: judged on Maximum)"
    if len(values) < minutes:
        return Trigger(
            name,
            False,
            max(values) if values else None,
            threshold,
            minutes,
            f"{len(values)} of {minutes} minutes of data{note}",
        )
    low = min(values)
    fired = low > threshold
    return Trigger(
        name,
        fired,
        round(low, 2),
        threshold,
        minutes,
        f"lowest of the last {minutes} min: {low:.1f}"
        f" ({'over' if fired else 'not over'} {threshold:g}){note}",
    )
