"""The runbook's daily performance review: overnight KPIs against the SLO targets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hybridops.aws.logs import LogEvent
from hybridops.config import LogFields, SloTargets
from hybridops.logs.kpi import error_rate, field_ref, number, parse_json, percentile


def insights_query(fields: LogFields) -> str:
    """One Insights query for every number the review needs."""
    lat, status = field_ref(fields.latency), field_ref(fields.status)
    return (
        f"filter ispresent({lat})"
        f" | fields {status} >= 400 as is_error, {status} >= 500 as is_server_error"
        f" | stats count(*) as requests, avg({lat}) as avg_ms, max({lat}) as max_ms,"
        f" pct({lat}, 50) as p50, pct({lat}, 95) as p95, pct({lat}, 99) as p99,"
        " sum(is_error) as errors, sum(is_server_error) as server_errors"
    )


@dataclass
class Numbers:
    """The review's measurements over the window."""

    requests: int = 0
    avg_ms: float | None = None
    max_ms: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    errors: int = 0
    server_errors: int = 0


def numbers_from_insights(row: dict[str, str]) -> Numbers:
    """Numbers from the single stats row of `insights_query`."""
    return Numbers(
        requests=int(number(row.get("requests")) or 0),
        avg_ms=number(row.get("avg_ms")),
        max_ms=number(row.get("max_ms")),
        p50=number(row.get("p50")),
        p95=number(row.get("p95")),
        p99=number(row.get("p99")),
        errors=int(number(row.get("errors")) or 0),
        server_errors=int(number(row.get("server_errors")) or 0),
    )


def numbers_from_events(events: Iterable[LogEvent], fields: LogFields) -> Numbers:
    """Numbers computed exactly from raw events."""
    latencies: list[float] = []
    errors = server_errors = 0
    for event in events:
        doc = parse_json(event.message)
        latency = number(doc.get(fields.latency)) if doc else None
        if doc is None or latency is None:
            continue
        latencies.append(latency)
        status = number(doc.get(fields.status)) or 0
        errors += status >= 400
        server_errors += status >= 500
    latencies.sort()
    return Numbers(
        requests=len(latencies),
        avg_ms=round(sum(latencies) / len(latencies), 1) if latencies else None,
        max_ms=latencies[-1] if latencies else None,
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        errors=errors,
        server_errors=server_errors,
    )


@dataclass
class Objective:
    """One SLO: target, actual, met."""

    name: str
    target: str
    actual: str
    met: bool | None  # None: no traffic to judge by


@dataclass
class DailyReport:
    """The review, ready to print as text, Markdown or JSON."""

    start: dt.datetime
    end: dt.datetime
    engine: str
    numbers: Numbers
    objectives: list[Objective] = field(default_factory=list)

    @property
    def status(self) -> str:
        """met / missed / no-data."""
        if self.numbers.requests == 0:
            return "no-data"
        return "met" if all(o.met for o in self.objectives) else "missed"

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        n = self.numbers
        return {
            "status": self.status,
            "engine": self.engine,
            "window": {"start": _iso(self.start), "end": _iso(self.end)},
            "requests": n.requests,
            "avg_ms": n.avg_ms,
            "max_ms": n.max_ms,
            "p50_ms": n.p50,
            "p95_ms": n.p95,
            "p99_ms": n.p99,
            "errors": n.errors,
            "error_rate": error_rate(n.errors, n.requests),
            "availability": round(1 - n.server_errors / n.requests, 6) if n.requests else None,
            "slo": [
                {"name": o.name, "target": o.target, "actual": o.actual, "met": o.met}
                for o in self.objectives
            ],
        }

    def markdown(self) -> str:
        """For posting in the channel."""
        n = self.numbers
        doc = self.as_dict()
        lines = [
            f"### Daily performance review — {self.status.upper()}",
            "",
            f"Window {doc['window']['start']} → {doc['window']['end']} ({self.engine})",
            "",
            "| measure | value |",
            "|---|---|",
            f"| requests | {n.requests} |",
            f"| avg response | {_ms(n.avg_ms)} |",
            f"| max response | {_ms(n.max_ms)} |",
            f"| P50 / P95 / P99 | {_ms(n.p50)} / {_ms(n.p95)} / {_ms(n.p99)} |",
            f"| errors (status >= 400) | {n.errors} ({_pct(doc['error_rate'])}) |",
            "",
            "| SLO | target | actual | |",
            "|---|---|---|---|",
        ]
        for o in self.objectives:
            mark = {True: "met", False: "**missed**", None: "no data"}[o.met]
            lines.append(f"| {o.name} | {o.target} | {o.actual} | {mark} |")
        return "\n".join(lines) + "\n"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _pct(fraction: float | None) -> str:
    # Four significant digits: 99.87% must not print as 99.9% next to a 99.9% target.
    return "-" if fraction is None else f"{fraction * 100:.4g}%"


def judge(
    start: dt.datetime, end: dt.datetime, engine: str, numbers: Numbers, slo: SloTargets
) -> DailyReport:
    """Compare the numbers with the SLO targets."""
    n = numbers
    has_traffic = n.requests > 0
    rate = error_rate(n.errors, n.requests) if has_traffic else None
    availability = (1 - n.server_errors / n.requests) if has_traffic else None
    objectives = [
        Objective(
            "P95 response time",
            f"< {slo.p95_ms:g} ms",
            _ms(n.p95),
            None if n.p95 is None else n.p95 < slo.p95_ms,
        ),
        Objective(
            "error rate",
            f"< {slo.error_rate_pct:g}%",
            _pct(rate),
            None if rate is None else rate * 100 < slo.error_rate_pct,
        ),
        Objective(
            "availability",
            f">= {slo.availability_pct:g}%",
            _pct(availability),
            None if availability is None else availability * 100 >= slo.availability_pct,
        ),
    ]
    return DailyReport(start, end, engine, numbers, objectives)
