"""Logs Insights: the query builder and result parsing, against real-shaped responses (Stubber).

moto accepts start_query but ignores `filter` and `stats`, so nothing here relies on it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

import hybridops.logs.kpi as kpi
import hybridops.logs.report as report
from hybridops.aws.insights import ROW_CAP, check_query, run_query
from hybridops.config import LogFields, SloTargets
from hybridops.errors import BadInput, RemoteError, TimedOut

GROUPS = ["/aws/ecs/hybrid-routing"]


@pytest.fixture
def logs() -> Any:
    client = boto3.client("logs", region_name="eu-central-1")
    with Stubber(client) as stubber:
        yield client, stubber


def cells(**values: str) -> list[dict[str, str]]:
    return [{"field": k, "value": v} for k, v in values.items()] + [
        {"field": "@ptr", "value": "CmAKJwoj..."}
    ]


STATS = {"recordsMatched": 1200.0, "recordsScanned": 5000.0, "bytesScanned": 2_500_000.0}


def expect_start(stubber: Stubber, query_id: str = "q-1") -> None:
    stubber.add_response(
        "start_query",
        {"queryId": query_id},
        {
            "logGroupNames": GROUPS,
            "startTime": 1000,
            "endTime": 2000,
            "queryString": ANY,
            "limit": ROW_CAP,
        },
    )


def test_polls_with_backoff_until_complete(logs: Any) -> None:
    client, stubber = logs
    expect_start(stubber)
    for status in ("Scheduled", "Running"):
        stubber.add_response(
            "get_query_results",
            {"status": status, "results": [], "statistics": STATS},
            {"queryId": "q-1"},
        )
    stubber.add_response(
        "get_query_results",
        {
            "status": "Complete",
            "statistics": STATS,
            "results": [cells(count="1200", p95="812.5")],
        },
        {"queryId": "q-1"},
    )
    slept: list[float] = []
    seen: list[str] = []
    result = run_query(
        client,
        GROUPS,
        1000,
        2000,
        "stats count(*)",
        sleep=slept.append,
        clock=lambda: 0.0,
        on_status=lambda status, _e, _s: seen.append(status),
    )
    assert result.rows == [{"count": "1200", "p95": "812.5"}]
    assert result.statistics["bytesScanned"] == 2_500_000.0
    assert slept == [0.5, 1.0]
    assert seen == ["Scheduled", "Running", "Complete"]
    assert not result.capped
    stubber.assert_no_pending_responses()


def test_failed_query_is_a_remote_error(logs: Any) -> None:
    client, stubber = logs
    expect_start(stubber)
    stubber.add_response(
        "get_query_results", {"status": "Failed", "results": []}, {"queryId": "q-1"}
    )
    with pytest.raises(RemoteError, match="ended Failed"):
        run_query(client, GROUPS, 1000, 2000, "stats count(*)", sleep=lambda _s: None)


def test_timeout_stops_the_query(logs: Any) -> None:
    client, stubber = logs
    expect_start(stubber)
    stubber.add_response(
        "get_query_results", {"status": "Running", "results": []}, {"queryId": "q-1"}
    )
    stubber.add_response("stop_query", {"success": True}, {"queryId": "q-1"})
    times = iter([0.0, 9.9])
    with pytest.raises(TimedOut, match="still Running after 10s"):
        run_query(
            client,
            GROUPS,
            1000,
            2000,
            "stats count(*)",
            timeout_s=10,
            sleep=lambda _s: None,
            clock=lambda: next(times),
        )
    stubber.assert_no_pending_responses()


def test_malformed_query_rejected_by_aws_is_exit_4(logs: Any) -> None:
    client, stubber = logs
    stubber.add_client_error(
        "start_query", "MalformedQueryException", "unexpected symbol found ! at line 1"
    )
    with pytest.raises(RemoteError, match="Insights rejected the query") as caught:
        run_query(client, GROUPS, 1000, 2000, "fields !", sleep=lambda _s: None)
    assert caught.value.exit_code == 4


def test_row_cap_is_reported(logs: Any) -> None:
    client, stubber = logs
    expect_start(stubber)
    stubber.add_response(
        "get_query_results",
        {"status": "Complete", "results": [cells(n=str(i)) for i in range(ROW_CAP)]},
        {"queryId": "q-1"},
    )
    assert run_query(client, GROUPS, 1000, 2000, "fields n", sleep=lambda _s: None).capped


def test_local_query_check() -> None:
    check_query("fields @timestamp | filter status >= 500 | stats count(*) by bin(1m)")
    check_query('filter message like "a | b" | limit 5')  # a pipe inside quotes
    for bad, why in [
        ("", "empty"),
        ('filter message = "x', "unbalanced"),
        ("stats count(*", "parentheses"),
        ("fields a | | limit 1", "empty segment"),
        ("select * from logs", "'select' is not an Insights command"),
    ]:
        with pytest.raises(BadInput, match=why):
            check_query(bad)


def test_named_queries_use_configured_fields() -> None:
    fields = LogFields(latency="duration", status="http.status")
    rows_q, summary_q = kpi.insights_queries("latency", fields, threshold_ms=2000)
    assert rows_q == (
        "filter ispresent(duration) | stats count(*) as count, pct(duration, 50) as p50,"
        " pct(duration, 95) as p95, pct(duration, 99) as p99, pct(duration, 99.9) as p999"
        " by bin(1m) as minute | sort minute asc"
    )
    assert summary_q is not None and "by bin" not in summary_q
    errors, _ = kpi.insights_queries("errors", fields, threshold_ms=2000)
    assert "fields http.status >= 400 as is_error" in errors
    for name in kpi.NAMED:
        check_query(kpi.insights_queries(name, fields, threshold_ms=2000)[0])
    check_query(report.insights_query(fields))


def test_insights_rows_parse_into_typed_kpis() -> None:
    fields = LogFields()
    rows = [
        {
            "minute": "2026-11-29 09:00:00.000",
            "count": "60",
            "p50": "120.5",
            "p95": "800",
            "p99": "1900",
            "p999": "2500",
        },
    ]
    summary, out = kpi.from_insights(
        "latency",
        rows,
        [{"count": "60", "p50": "120.5", "p95": "800", "p99": "1900", "p999": "2500"}],
        threshold_ms=2000,
        fields=fields,
    )
    assert summary == {"count": 60, "p50": 120.5, "p95": 800.0, "p99": 1900.0, "p999": 2500.0}
    assert out[0]["minute"] == "2026-11-29T09:00:00Z"
    summary, out = kpi.from_insights(
        "errors",
        [{"minute": "2026-11-29 09:01:00.000", "count": "200", "errors": "3"}],
        [{"count": "200", "errors": "3"}],
        threshold_ms=2000,
        fields=fields,
    )
    assert summary == {"count": 200, "errors": 3, "error_rate": 0.015}
    assert out[0]["error_rate"] == 0.015
    numbers = report.numbers_from_insights(
        {
            "requests": "10000",
            "avg_ms": "150.2",
            "max_ms": "4100",
            "p50": "120",
            "p95": "1800",
            "p99": "3000",
            "errors": "50",
            "server_errors": "5",
        }
    )
    now = dt.datetime(2026, 11, 29, 9, tzinfo=dt.timezone.utc)
    judged = report.judge(now - dt.timedelta(hours=15), now, "insights", numbers, SloTargets())
    assert [o.met for o in judged.objectives] == [True, True, True]
    assert judged.as_dict()["availability"] == 0.9995
