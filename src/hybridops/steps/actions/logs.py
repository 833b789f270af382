"""Log actions: recent matching events across groups."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from hybridops.steps.registry import action, shell_equivalent

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


@shell_equivalent("logs.recent")
def recent_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """`aws logs filter-log-events` over each group since N minutes ago; the newest kept."""
    from hybridops.shell.words import Ref, scalar_text, word

    w = ctx.writer
    groups = inputs.get("groups") or []
    names = (
        f"${{{groups.var}}}"  # unquoted on purpose: the groups are words
        if isinstance(groups, Ref)
        else " ".join(word(scalar_text(g)) for g in groups)
    )
    start, found, group = w.temp("START"), w.temp("EVENTS"), w.temp("GROUP")
    minutes = word(inputs.get("minutes", 10))
    w.line(
        f"{start}=$(( ($(date +%s) - $(awk -v m={minutes} 'BEGIN {{ printf \"%d\", m * 60 }}'))"
        " * 1000 ))"
    )
    w.line(f"{found}=$(mktemp)")
    with w.block(f"for {group} in {names}; do", "done"):
        w.command(
            [
                "aws",
                "logs",
                "filter-log-events",
                "--region",
                word(ctx.region(inputs.get("region", "primary"))),
                "--log-group-name",
                f'"${group}"',
                "--start-time",
                f'"${start}"',
                "--filter-pattern",
                word(inputs.get("pattern", "")),
                "--query",
                "'events[].[timestamp, logStreamName, message]'",
                "--output",
                "text",
                f'>>"${found}"',
            ]
        )
    limit = word(inputs.get("limit", 20))
    w.line(f'sort -n "${found}" | tail -n {limit} >&2')
    return {
        "count": f'"$(wc -l <"${found}" | tr -d " ")"',
        "events": f'"$(tail -n {limit} "${found}")"',
    }
