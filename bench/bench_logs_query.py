"""`logs query latency --engine local` over 200,000 events, against a pandas-free script.

The baseline is what an engineer would write: paginate FilterLogEvents with boto3, parse each
JSON message, sort the latencies and take nearest-rank P50/P95/P99/P99.9. Both read the same
moto server; the results are compared for equality before timing. Target (issue 9): within
1.5x of the baseline.
"""

from __future__ import annotations

import json
import subprocess
import sys

from bench.bench_logs import GROUP, seeded_window
from bench.common import BIN, Row, interleave, median
from bench.estate import REGION, estate, slow_health_server

EVENTS = 200_000
REPS = 3
TARGET = 1.5

BASELINE = """
import json, math, sys, boto3
logs = boto3.client("logs", region_name={region!r}, endpoint_url=sys.argv[1])
values = []
for page in logs.get_paginator("filter_log_events").paginate(
    logGroupName={group!r}, startTime=int(sys.argv[2]), endTime=int(sys.argv[3])
):
    for event in page["events"]:
        values.append(json.loads(event["message"])["latency_ms"])
values.sort()
def pct(q):
    return values[max(1, math.ceil(q / 100 * len(values))) - 1]
print(json.dumps({{"count": len(values), "p50": pct(50), "p95": pct(95), "p99": pct(99),
                  "p999": pct(99.9)}}))
"""


def run() -> list[Row]:
    """Check both agree, then time them interleaved."""
    with slow_health_server(0) as base, estate(base, ["hybrid-router"]) as bench:
        window = seeded_window(bench.moto_url, EVENTS)
        since, until = window.since, window.until
        start_ms, end_ms = window.start_ms, window.end_ms
        ours_cmd = [
            str(BIN / "hybridops"),
            "logs",
            "query",
            "latency",
            "--engine",
            "local",
            "--output",
            "json",
            "--group",
            GROUP,
            "--since",
            since,
            "--until",
            until,
        ]
        script = BASELINE.format(region=REGION, group=GROUP)
        peer_cmd = [sys.executable, "-c", script, bench.moto_url, str(start_ms), str(end_ms + 1000)]
        ours_out = subprocess.run(ours_cmd, env=bench.env, capture_output=True, text=True)
        peer_out = subprocess.run(peer_cmd, env=bench.env, capture_output=True, text=True)
        summary = json.loads(ours_out.stdout or "{}").get("summary")
        if summary != json.loads(peer_out.stdout or "{}"):
            raise SystemExit(f"logs query bench: results differ: {summary} vs {peer_out.stdout}")
        ours, peer = interleave(ours_cmd, peer_cmd, REPS, env=bench.env)
    ratio = median(ours) / median(peer)
    return [
        Row(
            f"`logs query latency --engine local`, {EVENTS:,} events",
            ours,
            "boto3 + json + sort script",
            peer,
            f"<= {TARGET}x",
            ratio <= TARGET,
            ratio,
            note="same percentiles checked equal before timing; per-minute rows are extra work",
        )
    ]
