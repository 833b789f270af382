"""`hybridops logs`: search, follow, KPIs and the daily review against a real moto server."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sys
import threading
import time
from typing import Any

import pytest

from hybridops.aws import logs as aws_logs
from hybridops.aws.log_lines import LineFormatter, json_line
from hybridops.aws.logs import LogEvent, LogQuery
from hybridops.errors import BadInput
from hybridops.timeparse import parse_moment, parse_window
from tests.support import Cli, MotoServer

ECS = "/aws/ecs/hybrid-routing"
LAMBDA = "/aws/lambda/hybrid-router"
NOW_MS = int(time.time() * 1000)


@pytest.fixture(autouse=True)
def _now_is_when_the_test_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """NOW_MS read as each test starts: `--since 10m` windows hold however long the run is."""
    monkeypatch.setattr(sys.modules[__name__], "NOW_MS", int(time.time() * 1000))


def request(latency: float, status: int = 200, rid: str = "r", level: str = "INFO") -> str:
    return json.dumps(
        {
            "level": level,
            "message": "upstream error" if status >= 500 else "ok",
            "status": status,
            "latency_ms": latency,
            "request_id": rid,
        }
    )


def seed(moto: MotoServer, streams: dict[tuple[str, str], list[tuple[int, str]]]) -> Any:
    client = moto.client("logs")
    for group in {g for g, _ in streams}:
        client.create_log_group(logGroupName=group)
    for (group, stream), events in streams.items():
        client.create_log_stream(logGroupName=group, logStreamName=stream)
        if events:
            client.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events)],
            )
    return client


@pytest.fixture
def estate(moto: MotoServer, write_config) -> Any:
    base = NOW_MS - 5 * 60_000
    client = seed(
        moto,
        {
            (ECS, "ecs/hybrid-router/task-a1"): [
                (base + 0, request(100, rid="a")),
                (base + 2000, request(300, 500, rid="shared", level="ERROR")),
                (base + 4000, "plain text WARN cache miss"),
            ],
            (ECS, "ecs/hybrid-router/task-b2"): [(base + 1000, request(200, rid="b"))],
            (LAMBDA, "2026/11/29/[$LATEST]x"): [
                (base + 1500, request(50, rid="shared")),
                (base + 3000, request(400, 404, rid="c")),
            ],
        },
    )
    write_config(moto.url, log_groups=[ECS, LAMBDA])
    return client


# -- time grammar ------------------------------------------------------------------------------


def test_moments_and_windows() -> None:
    now = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.timezone.utc)
    utc = dt.timezone.utc
    assert parse_moment("2h30m", now=now) == dt.datetime(2026, 11, 29, 7, 30, tzinfo=utc)
    assert parse_moment("yesterday 18:00 UTC", now=now) == dt.datetime(2026, 11, 28, 18, tzinfo=utc)
    assert parse_moment("today 09:00 utc", now=now) == dt.datetime(2026, 11, 29, 9, tzinfo=utc)
    assert parse_moment("2026-11-28T18:00Z", now=now) == dt.datetime(2026, 11, 28, 18, tzinfo=utc)
    assert parse_moment("now", now=now) == now
    with pytest.raises(BadInput, match="--since 'last tuesday'"):
        parse_moment("last tuesday", now=now)
    with pytest.raises(BadInput, match="no such time"):
        parse_moment("today 25:00 UTC", now=now)
    with pytest.raises(BadInput, match="is not after"):
        parse_window("10m", "1h", now=now)


# -- search ------------------------------------------------------------------------------------


def test_search_merges_groups_and_streams_in_time_order(cli: Cli, estate: Any) -> None:
    result = cli("-o", "json", "logs", "search", "--since", "10m")
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [json.loads(x["message"]).get("request_id") for x in lines[:5]] == [
        "a",
        "b",
        "shared",
        "shared",
        "c",
    ]
    assert [x["group"] for x in lines[:4]] == [ECS, ECS, LAMBDA, ECS]
    assert set(lines[0]) == {"timestamp", "group", "stream", "message"}
    assert lines[0]["timestamp"].endswith("Z")
    assert len(lines) == 6


def test_search_options_filter_on_both_sides(cli: Cli, estate: Any) -> None:
    def ids(*args: str) -> list[str]:
        result = cli("-o", "json", "logs", "search", "--since", "10m", *args)
        assert result.code == 0, result.err
        return [line["message"] for line in map(json.loads, result.out.splitlines())]

    assert len(ids("--limit", "2")) == 2
    assert len(ids("--grep", "latency")) == 5
    assert ids("--grep-v", "latency") == ["plain text WARN cache miss"]
    shared = ids("--request-id", "shared")
    assert len(shared) == 2 and all('"shared"' in m for m in shared)
    assert len(ids("--group", LAMBDA)) == 2
    assert len(ids("--stream-prefix", "ecs/hybrid-router/task-b", "--group", ECS)) == 1
    assert ids("--filter", "cache") == ["plain text WARN cache miss"]  # a plain term


def test_search_text_lines_are_exact(cli: Cli, estate: Any) -> None:
    result = cli(
        "logs", "search", "--since", "10m", "--group", LAMBDA, "--fields", "status,request_id"
    )
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    assert first.endswith(" hybrid-router/[$LATEST]x status=200 request_id=shared")


def test_line_formatter() -> None:
    event = LogEvent(
        1764393123456, ECS, "ecs/hybrid-router/task-a1", '{"level": "error", "a": 1}', "e"
    )
    plain = LineFormatter(colour=False)
    assert (
        plain.line(event)
        == '2025-11-29T05:12:03.456Z hybrid-routing/task-a1 {"level":"error","a":1}'
    )
    coloured = LineFormatter(colour=True).line(event)
    assert "\x1b[31m" in coloured  # ERROR in red
    assert json.loads(json_line(event))["stream"] == "ecs/hybrid-router/task-a1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "10m", "--until", "1h"), "is not after"),
        (("--since", "soon"), "--since 'soon'"),
        (("--since", "10m", "--grep", "("), "invalid regular expression"),
        (("--follow", "--until", "now"), "cannot be combined"),
        (("--since", "10m", "--group", "/no/such/group"), "does not exist"),
    ],
)
def test_search_bad_input_is_exit_2_and_prints_no_events(
    cli: Cli, estate: Any, args: tuple[str, ...], message: str
) -> None:
    result = cli("-o", "json", "logs", "search", *args)
    assert result.code == 2, result.err
    assert message in result.err
    # No partial events: stdout holds only the one JSON error document.
    assert result.json()["error"]["exit_code"] == 2


def test_pages_paginate_and_slices_meet_exactly(moto: MotoServer) -> None:
    start = NOW_MS - 3 * 3600_000
    # Events every 7 minutes for 3 hours, one exactly on each slice boundary.
    times = list(range(start, NOW_MS, 7 * 60_000))
    client = seed(moto, {(ECS, "s1"): [(t, f"e{i}") for i, t in enumerate(times)]})
    pages = list(aws_logs.pages(client, ECS, start, NOW_MS, page_size=4))
    assert len(pages) == -(-len(times) // 4)
    windows = aws_logs.slices(start, NOW_MS, 4)
    assert len(windows) > 4 and windows[0][0] == start and windows[-1][1] == NOW_MS
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(windows))
    query = LogQuery([ECS], start, NOW_MS)
    found = list(aws_logs.search(lambda _g: client, query, parallel=3, page_size=3))
    assert [e.message for e in found] == [f"e{i}" for i in range(len(times))]


def _throttle_first(client: Any, times: int) -> list[int]:
    from botocore.awsrequest import AWSResponse

    calls = [0]

    def maybe_throttle(**_: Any) -> Any:
        calls[0] += 1
        if calls[0] <= times:
            return AWSResponse("", 400, {}, None), {
                "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        return None

    client.meta.events.register("before-call.logs.FilterLogEvents", maybe_throttle)
    return calls


def _no_retry_client(moto: MotoServer) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "logs",
        region_name="eu-central-1",
        endpoint_url=moto.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def test_follow_picks_up_new_streams_never_repeats_and_rides_out_throttling(
    moto: MotoServer,
) -> None:
    seed(moto, {(ECS, "old"): [(NOW_MS - 1000, "before")]})
    writer = moto.client("logs")
    client = _no_retry_client(moto)
    calls = _throttle_first(client, 2)
    stop = threading.Event()
    backoffs: list[float] = []
    polls = [0]

    def sleep(seconds: float) -> None:
        polls[0] += 1
        if polls[0] == 3:  # after the throttled retries and the first clean poll
            writer.create_log_stream(logGroupName=ECS, logStreamName="new-task")
            writer.put_log_events(
                logGroupName=ECS,
                logStreamName="new-task",
                logEvents=[{"timestamp": NOW_MS + 10, "message": "from a new task"}],
            )
        if polls[0] == 4:  # a late event, older than the newest one already shown
            writer.put_log_events(
                logGroupName=ECS,
                logStreamName="old",
                logEvents=[{"timestamp": NOW_MS + 5, "message": "late"}],
            )
        if polls[0] >= 5:
            stop.set()

    clock = iter(range(NOW_MS + 100, NOW_MS + 10_000, 100))
    seen = list(
        aws_logs.follow(
            lambda _g: client,
            LogQuery([ECS], NOW_MS - 60_000, 0),
            now_ms=lambda: next(clock),
            interval_s=0.01,
            stop=stop,
            sleep=sleep,
            on_throttle=backoffs.append,
        )
    )
    assert [e.message for e in seen] == ["before", "from a new task", "late"]
    assert backoffs == [0.5, 1.0]
    assert calls[0] > 4


def test_search_rides_out_throttling(moto: MotoServer) -> None:
    seed(moto, {(ECS, "s"): [(NOW_MS - 1000, "x")]})
    client = _no_retry_client(moto)
    _throttle_first(client, 3)
    slept: list[float] = []
    query = LogQuery([ECS], NOW_MS - 60_000, NOW_MS)
    found = list(aws_logs.search(lambda _g: client, query, sleep=slept.append))
    assert [e.message for e in found] == ["x"]
    assert slept == [0.5, 1.0, 2.0]


# -- KPIs and the daily review (local engine against moto) -------------------------------------


def test_latency_and_errors_locally_exact(cli: Cli, estate: Any) -> None:
    result = cli("-o", "json", "logs", "query", "latency", "--engine", "local", "--since", "10m")
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["engine"] == "local" and doc["query"] == "latency"
    # latencies 50, 100, 200, 300, 400 -> nearest rank
    assert doc["summary"] == {"count": 5, "p50": 200.0, "p95": 400.0, "p99": 400.0, "p999": 400.0}
    errors = cli("-o", "json", "logs", "query", "errors", "--engine", "local", "--since", "10m")
    assert errors.json()["summary"] == {"count": 5, "errors": 2, "error_rate": 0.4}
    top = cli("-o", "json", "logs", "query", "top-errors", "--engine", "local", "--since", "10m")
    assert top.json()["rows"] == [{"message": "upstream error", "count": 1}]
    slow = cli(
        "-o",
        "json",
        "logs",
        "query",
        "slow-requests",
        "--engine",
        "local",
        "--since",
        "10m",
        "--threshold-ms",
        "250",
    ).json()
    assert [r["latency_ms"] for r in slow["rows"]] == [400.0, 300.0]


def test_daily_report_judges_slos(cli: Cli, estate: Any) -> None:
    result = cli(
        "-o",
        "json",
        "logs",
        "report",
        "daily",
        "--engine",
        "local",
        "--since",
        "10m",
        "--until",
        "now",
    )
    assert result.code == 1  # 2 of 5 failed requests: error rate and availability missed
    doc = result.json()
    assert doc["status"] == "missed"
    assert (doc["requests"], doc["errors"], doc["p95_ms"]) == (5, 2, 400.0)
    assert [s["met"] for s in doc["slo"]] == [True, False, False]
    markdown = cli(
        "logs",
        "report",
        "daily",
        "--engine",
        "local",
        "--since",
        "10m",
        "--until",
        "now",
        "--format",
        "markdown",
    ).out
    assert "| availability | >= 99.9% | 80% | **missed** |" in markdown


def test_daily_report_met_and_no_data(cli: Cli, moto: MotoServer, write_config) -> None:
    seed(moto, {(ECS, "s"): [(NOW_MS - 60_000 + i, request(100 + i)) for i in range(50)]})
    write_config(moto.url, log_groups=[ECS])
    met = cli(
        "-o",
        "json",
        "logs",
        "report",
        "daily",
        "--engine",
        "local",
        "--since",
        "10m",
        "--until",
        "now",
    )
    assert met.code == 0 and met.json()["status"] == "met"
    empty = cli(
        "-o",
        "json",
        "logs",
        "report",
        "daily",
        "--engine",
        "local",
        "--since",
        "1h",
        "--until",
        "30m",
    )
    assert empty.code == 0 and empty.json()["status"] == "no-data"


def test_query_bad_input(cli: Cli, estate: Any) -> None:
    assert cli("logs", "query", "median").code == 2
    assert cli("logs", "query").code == 2
    bad = cli("logs", "query", "--query", "fields @message | frobnicate x")
    assert bad.code == 2 and "'frobnicate' is not an Insights command" in bad.err
    assert cli("logs", "query", "--query", "fields @message", "--engine", "local").code == 2


def test_insights_engine_starts_and_polls_a_query(cli: Cli, estate: Any, moto: MotoServer) -> None:
    moto.forget_requests()
    result = cli(
        "-o", "json", "logs", "query", "throughput", "--engine", "insights", "--since", "10m"
    )
    assert result.code == 0, result.err
    assert result.json()["engine"] == "insights"
    labels = [label.rsplit(".", 1)[-1] for label in moto.requests]
    assert labels[0] == "StartQuery" and "GetQueryResults" in labels


def test_search_streams_the_first_event_before_the_last_page(moto: MotoServer) -> None:
    client = seed(moto, {(ECS, "s"): [(NOW_MS - 60_000 + i, f"e{i}") for i in range(40)]})
    calls: list[int] = []
    client.meta.events.register("before-call.logs.FilterLogEvents", lambda **_: calls.append(1))
    found = aws_logs.search(
        lambda _g: client, LogQuery([ECS], NOW_MS - 120_000, NOW_MS), parallel=1, page_size=2
    )
    assert next(found).message == "e0"
    assert len(calls) <= 3  # the page being read, one queued, one in flight: not all 20
    assert [e.message for e in found] == [f"e{i}" for i in range(1, 40)]
    assert len(calls) == 20
