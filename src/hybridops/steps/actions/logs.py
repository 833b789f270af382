"""Log actions: recent matching events across groups."""

from __future__ import annotations

import time
from collections import deque
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
    from hybridops.aws.logs import LogQuery, search

    client = ctx.clients.client("logs", inputs.region)
    end = int(time.time() * 1000)
    query = LogQuery(inputs.groups, end - int(inputs.minutes * 60_000), end, inputs.pattern)
    # Only the newest `limit` are kept, so a noisy window never fills memory.
    newest: deque[dict[str, Any]] = deque(maxlen=inputs.limit)
    count = 0
    for event in search(lambda _group: client, query):
        count += 1
        newest.append(
            {
                "timestamp": event.timestamp,
                "group": event.group,
                "stream": event.stream,
                "message": event.message,
            }
        )
    return {"count": count, "events": list(newest)}
