"""Log actions: recent matching events across groups."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from hybridops.steps.registry import action

if TYPE_CHECKING:
    from hybridops.steps.base import StepContext


class RecentInputs(BaseModel):
    """Inputs of `logs.recent`."""

    groups: list[str]
    minutes: float = Field(10, gt=0, le=24 * 60)
    pattern: str = ""
    limit: int = Field(20, ge=1, le=10000)
    region: str = "primary"


@action("logs.recent", inputs=RecentInputs)
def recent(inputs: RecentInputs, ctx: StepContext) -> dict[str, Any]:
    """The newest events matching a filter pattern in the last N minutes, across groups."""
    client = ctx.clients.client("logs", inputs.region)
    start = int((time.time() - inputs.minutes * 60) * 1000)
    events: list[dict[str, Any]] = []
    for group in inputs.groups:
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start}
        if inputs.pattern:
            kwargs["filterPattern"] = inputs.pattern
        for page in client.get_paginator("filter_log_events").paginate(**kwargs):
            events.extend(
                {
                    "timestamp": e["timestamp"],
                    "group": group,
                    "stream": e["logStreamName"],
                    "message": e["message"],
                }
                for e in page.get("events", [])
            )
    events.sort(key=lambda e: e["timestamp"])
    return {"count": len(events), "events": events[-inputs.limit :]}
