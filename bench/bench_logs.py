"""`hybridops logs search --output json` against `aws logs filter-log-events` and `awslogs get`.

All three read the same 50,000 events from one group on one moto server, over the same
window, writing to /dev/null. Targets (issue 5): at least 1.5x the throughput of the aws CLI
and 5x that of awslogs; and hybridops' peak memory for 500,000 events within 1.2x of its peak
for 50,000 (it streams; the others hold everything).
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from bench.common import BIN, Row, median, peer_venv, run_timed
from bench.estate import REGION, estate, slow_health_server

GROUP = "/aws/ecs/hybrid-routing"
SMALL, LARGE = 50_000, 500_000
REPS = 3
SPAN_MS = 2 * 3600 * 1000


def _seed(client: Any, count: int, end_ms: int) -> None:
    """`count` request lines over SPAN_MS in four streams, sent 10,000 at a time.

    Generated chunk by chunk so this process stays small: its children's peak RSS (what
    the memory row measures) starts from this process's size when they are forked.
    """
    rng = random.Random(7)
    streams = [f"ecs/hybrid-router/task-{i}" for i in range(4)]
    for stream in streams:
        client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    step = SPAN_MS / count
    chunk = 10_000
    for number, lo in enumerate(range(0, count, chunk)):
        events = [
            {
                "timestamp": int(end_ms - SPAN_MS + i * step),
                "message": json.dumps(
                    {
                        "level": "INFO",
                        "message": "request completed",
                        "status": 200,
                        "latency_ms": round(rng.lognormvariate(4.9, 0.45), 1),
                        "request_id": f"{rng.getrandbits(64):016x}",
                    }
                ),
            }
            for i in range(lo, min(count, lo + chunk))
        ]
        # Consecutive chunks go to the streams in turn: time still rises within each stream.
        client.put_log_events(
            logGroupName=GROUP, logStreamName=streams[number % len(streams)], logEvents=events
        )


@dataclass
class Window:
    """The seeded group's time window, in ms and as --since/--until text."""

    start_ms: int
    end_ms: int
    since: str
    until: str


def seeded_window(moto_url: str, count: int) -> Window:
    """Create GROUP on the server, seed `count` events, return the window that holds them."""
    import boto3

    client = boto3.client("logs", region_name=REGION, endpoint_url=moto_url)
    client.create_log_group(logGroupName=GROUP)
    end_ms = int(time.time() * 1000) - 60_000
    _seed(client, count, end_ms)
    start_ms = end_ms - SPAN_MS - 1000
    return Window(
        start_ms,
        end_ms,
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_ms / 1000)),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end_ms / 1000 + 1)),
    )


def run() -> list[Row]:
    """Throughput against both peers at 50k events, then our memory at 50k and 500k."""
    aws = str(peer_venv("awscli", ["awscli"]) / "aws")
    awslogs = str(peer_venv("awslogs", ["awslogs"]) / "awslogs")
    rows: list[Row] = []
    rss: dict[int, list[float]] = {}
    for count in (SMALL, LARGE):
        with slow_health_server(0) as base, estate(base, ["hybrid-router"]) as bench:
            window = seeded_window(bench.moto_url, count)
            since, until = window.since, window.until
            start_ms, end_ms = window.start_ms, window.end_ms
            ours_cmd = [
                str(BIN / "hybridops"),
                "logs",
                "search",
                "--output",
                "json",
                "--group",
                GROUP,
                "--since",
                since,
                "--until",
                until,
            ]
            # Counted from a file, not captured: a big capture would grow this process, and the
            # peak RSS of every child forked later starts from this process's size.
            with tempfile.TemporaryFile("w+") as sink:
                code = subprocess.run(ours_cmd, env=bench.env, stdout=sink).returncode
                sink.seek(0)
                lines = sum(1 for _ in sink)
            if code != 0 or lines != count:
                raise SystemExit(f"logs bench: exit {code}, {lines} of {count} events")
            if count == LARGE:
                rss[count] = [
                    run_timed(ours_cmd, env=bench.env).max_rss_kb / 1024 for _ in range(2)
                ]
                continue
            aws_cmd = [
                aws,
                "--endpoint-url",
                bench.moto_url,
                "--region",
                REGION,
                "--output",
                "json",
                "logs",
                "filter-log-events",
                "--log-group-name",
                GROUP,
                "--start-time",
                str(start_ms),
                "--end-time",
                str(end_ms + 1000),
            ]
            awslogs_cmd = [
                awslogs,
                "get",
                GROUP,
                "--aws-endpoint-url",
                bench.moto_url,
                "--aws-region",
                REGION,
                "-s",
                since,
                "-e",
                until,
                "--no-color",
            ]
            ours, by_aws, by_awslogs, mem = [], [], [], []
            for _ in range(REPS):
                sample = run_timed(ours_cmd, env=bench.env)
                ours.append(sample.seconds)
                mem.append(sample.max_rss_kb / 1024)
                by_aws.append(run_timed(aws_cmd, env=bench.env).seconds)
                by_awslogs.append(run_timed(awslogs_cmd, env=bench.env).seconds)
            rss[count] = mem
    mine = median(ours)
    rows.append(
        Row(
            f"`logs search -o json`, {SMALL:,} events",
            ours,
            "`aws logs filter-log-events`",
            by_aws,
            "<= 0.67x (1.5x throughput)",
            mine / median(by_aws) <= 1 / 1.5,
            mine / median(by_aws),
        )
    )
    rows.append(
        Row(
            f"`logs search -o json`, {SMALL:,} events",
            ours,
            "`awslogs get`",
            by_awslogs,
            "<= 0.2x (5x throughput)",
            mine / median(by_awslogs) <= 0.2,
            mine / median(by_awslogs),
        )
    )
    growth = median(rss[LARGE]) / median(rss[SMALL])
    rows.append(
        Row(
            "`logs search` peak RSS, 500k vs 50k events",
            rss[LARGE],
            "itself at 50k",
            rss[SMALL],
            "<= 1.2x",
            growth <= 1.2,
            growth,
            unit="MB",
        )
    )
    return rows
