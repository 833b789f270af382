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


# How `logs search` prints an event: `time group/stream message`. A JSON message is printed as
# it came, not re-encoded: hybridops prints it compacted, and jq would turn 90.0 into 90.
LOG_LINE = (
    '"\\(.timestamp / 1000 | floor | todate | rtrimstr("Z")).\\(.timestamp % 1000 | tostring'
    ' | "00\\(.)"[-3:])Z \\(.group | rtrimstr("/") | split("/") | last)/\\(.stream | split("/")'
    ' | last) \\(.message | rtrimstr("\\n"))"'
)


@shell_equivalent("logs.recent")
def recent_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """`aws logs filter-log-events` per group, merged in time order; the newest `limit` kept."""
    from hybridops.shell.words import Ref, quote, scalar_text, word

    w = ctx.writer
    groups = inputs.get("groups") or []
    names = (
        f"${{{groups.var}}}"  # unquoted on purpose: the groups are words
        if isinstance(groups, Ref)
        else " ".join(word(scalar_text(g)) for g in groups)
    )
    end, start, group, found = (w.temp(n) for n in ("END", "START", "GROUP", "EVENTS"))
    minutes = word(inputs.get("minutes", 10))
    w.line(f"{end}=$(date +%s%3N)  # now, in milliseconds")
    w.line(f"{start}=$(( {end} - $(awk -v m={minutes} 'BEGIN {{ printf \"%d\", m * 60000 }}') ))")
    with w.block(
        f"{found}=$(for {group} in {names}; do", "done | jq -sc 'add // [] | sort_by(.timestamp)')"
    ):
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
                "--end-time",
                f'"${end}"',
                "--filter-pattern",
                word(inputs.get("pattern", "")),
                "--query",
                quote("events[].{timestamp: timestamp, stream: logStreamName, message: message}"),
                "--output",
                "json",
                "|",
                "jq",
                "-c",
                "--arg",
                "group",
                f'"${group}"',
                quote("map({timestamp, group: $group, stream, message})"),
            ]
        )
    limit = word(inputs.get("limit", 20))
    newest = f"jq -c --argjson n {limit} '.[-$n:]' <<<\"${found}\""
    w.line(f"{newest} | jq -r {quote('.[] | ' + LOG_LINE)} >&2")
    return {"count": f'"$(jq length <<<"${found}")"', "events": f'"$({newest})"'}
