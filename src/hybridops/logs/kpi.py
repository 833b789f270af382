"""The runbook's log KPIs: Insights query text, parsing of its rows, and the same KPIs computed
locally (exact percentiles) from raw events."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hybridops.aws.log_lines import parse_json
from hybridops.aws.logs import LogEvent
from hybridops.config import LogFields

NAMED = ("latency", "errors", "throughput", "top-errors", "slow-requests")
PERCENTILES = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0), ("p999", 99.9))


@dataclass
class KpiResult:
    """What `logs query` prints: a summary over the window and rows (per minute or per item)."""

    name: str
    engine: str
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    statistics: dict[str, float] = field(default_factory=dict)
    capped: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON shape: {"query", "engine", "summary", "rows", "statistics", "capped"}."""
        return {
            "query": self.name,
            "engine": self.engine,
            "summary": self.summary,
            "rows": self.rows,
            "statistics": self.statistics,
            "capped": self.capped,
        }


def field_ref(name: str) -> str:
    """An Insights field reference (backquoted unless a plain identifier)."""
    return name if name.replace("_", "").replace(".", "").isalnum() else f"`{name}`"


def insights_queries(
    name: str, fields: LogFields, *, threshold_ms: float, top: int = 20
) -> tuple[str, str | None]:
    """(rows query, summary query or None) for a named KPI."""
    lat, status = field_ref(fields.latency), field_ref(fields.status)
    level, message = field_ref(fields.level), field_ref(fields.message)
    request_id = field_ref(fields.request_id)
    pcts = ", ".join(f"pct({lat}, {q:g}) as {label}" for label, q in PERCENTILES)
    if name == "latency":
        base = f"filter ispresent({lat}) | stats count(*) as count, {pcts}"
        return f"{base} by bin(1m) as minute | sort minute asc", base
    if name == "errors":
        base = (
            f"filter ispresent({status}) | fields {status} >= 400 as is_error"
            " | stats count(*) as count, sum(is_error) as errors"
        )
        return f"{base} by bin(1m) as minute | sort minute asc", base
    if name == "throughput":
        return "stats count(*) as requests by bin(1m) as minute | sort minute asc", None
    if name == "top-errors":
        return (
            f'filter {level} = "ERROR" or {status} >= 500'
            f" | stats count(*) as count by {message} | sort count desc | limit {top}",
            None,
        )
    if name == "slow-requests":
        return (
            f"filter {lat} > {threshold_ms:g}"
            f" | fields @timestamp, {request_id}, {lat}, {status}, {message}"
            f" | sort {lat} desc | limit {top}",
            None,
        )
    raise ValueError(name)


def number(value: Any) -> float | None:
    """A finite float, or None for missing or non-numeric values."""
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        return None
    return parsed if math.isfinite(parsed) else None


def _minute_iso(value: str) -> str:
    """Insights' `2026-11-29 09:00:00.000` (UTC) as ISO 8601."""
    try:
        moment = dt.datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_rate(errors: float, count: float) -> float:
    """errors / count as a fraction (0 when there were no requests)."""
    return round(errors / count, 6) if count else 0.0


def from_insights(
    name: str,
    rows: list[dict[str, str]],
    summary_rows: list[dict[str, str]] | None,
    *,
    threshold_ms: float,
    fields: LogFields,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, rows) from Insights rows, typed and in the same shape as the local engine's."""
    head = (summary_rows or [{}])[0] if summary_rows is not None else {}
    if name == "latency":
        out = [
            {"minute": _minute_iso(r.get("minute", ""))}
            | {"count": int(number(r.get("count")) or 0)}
            | {label: number(r.get(label)) for label, _ in PERCENTILES}
            for r in rows
        ]
        summary = {"count": int(number(head.get("count")) or 0)} | {
            label: number(head.get(label)) for label, _ in PERCENTILES
        }
        return summary, out
    if name == "errors":
        out = []
        for r in rows:
            count, errors = number(r.get("count")) or 0, number(r.get("errors")) or 0
            out.append(
                {
                    "minute": _minute_iso(r.get("minute", "")),
                    "count": int(count),
                    "errors": int(errors),
                    "error_rate": error_rate(errors, count),
                }
            )
        count, errors = number(head.get("count")) or 0, number(head.get("errors")) or 0
        return {
            "count": int(count),
            "errors": int(errors),
            "error_rate": error_rate(errors, count),
        }, out
    if name == "throughput":
        out = [
            {
                "minute": _minute_iso(r.get("minute", "")),
                "requests": int(number(r.get("requests")) or 0),
            }
            for r in rows
        ]
        return _throughput_summary(out), out
    if name == "top-errors":
        out = [
            {"message": r.get(fields.message, ""), "count": int(number(r.get("count")) or 0)}
            for r in rows
        ]
        return {"distinct": len(out), "count": sum(r["count"] for r in out)}, out
    if name == "slow-requests":
        out = [
            {
                "timestamp": r.get("@timestamp", ""),
                "request_id": r.get(fields.request_id),
                "latency_ms": number(r.get(fields.latency)),
                "status": number(r.get(fields.status)),
                "message": r.get(fields.message),
            }
            for r in rows
        ]
        return {"count": len(out), "threshold_ms": threshold_ms}, out
    return {"count": len(rows)}, [dict(r) for r in rows]


def _throughput_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts = [r["requests"] for r in rows]
    return {
        "count": sum(counts),
        "per_minute_avg": round(sum(counts) / len(counts), 2) if counts else 0.0,
        "per_minute_max": max(counts, default=0),
    }


def percentile(ordered: list[float], q: float) -> float | None:
    """Exact nearest-rank percentile of an ascending list (None when empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _minute_of(timestamp_ms: int) -> str:
    minute = dt.datetime.fromtimestamp(timestamp_ms // 60000 * 60, dt.timezone.utc)
    return minute.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pct_row(values: list[float]) -> dict[str, Any]:
    values.sort()
    return {"count": len(values)} | {label: percentile(values, q) for label, q in PERCENTILES}


def local(
    name: str,
    events: Iterable[LogEvent],
    fields: LogFields,
    *,
    threshold_ms: float,
    top: int = 20,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The same KPIs from raw events: exact, for small windows or where Insights is missing."""
    if name == "latency":
        per_minute: dict[str, list[float]] = defaultdict(list)
        every: list[float] = []
        for event in events:
            doc = parse_json(event.message)
            value = number(doc.get(fields.latency)) if doc else None
            if value is not None:
                per_minute[_minute_of(event.timestamp)].append(value)
                every.append(value)
        rows = [{"minute": m} | _pct_row(v) for m, v in sorted(per_minute.items())]
        return _pct_row(every), rows
    if name == "errors":
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for event in events:
            doc = parse_json(event.message)
            status = number(doc.get(fields.status)) if doc else None
            if status is None:
                continue
            cell = counts[_minute_of(event.timestamp)]
            cell[0] += 1
            cell[1] += status >= 400
        rows = [
            {"minute": m, "count": c, "errors": e, "error_rate": error_rate(e, c)}
            for m, (c, e) in sorted(counts.items())
        ]
        total, errors = sum(r["count"] for r in rows), sum(r["errors"] for r in rows)
        return {"count": total, "errors": errors, "error_rate": error_rate(errors, total)}, rows
    if name == "throughput":
        minutes = Counter(_minute_of(e.timestamp) for e in events)
        rows = [{"minute": m, "requests": n} for m, n in sorted(minutes.items())]
        return _throughput_summary(rows), rows
    if name == "top-errors":
        messages: Counter[str] = Counter()
        for event in events:
            doc = parse_json(event.message)
            if doc is None:
                continue
            status = number(doc.get(fields.status))
            if str(doc.get(fields.level, "")).upper() == "ERROR" or (status or 0) >= 500:
                messages[str(doc.get(fields.message, ""))] += 1
        rows = [{"message": m, "count": n} for m, n in messages.most_common(top)]
        return {"distinct": len(messages), "count": sum(messages.values())}, rows
    if name == "slow-requests":
        slow: list[dict[str, Any]] = []
        for event in events:
            doc = parse_json(event.message)
            latency = number(doc.get(fields.latency)) if doc else None
            if doc is None or latency is None or latency <= threshold_ms:
                continue
            slow.append(
                {
                    "timestamp": dt.datetime.fromtimestamp(event.timestamp / 1000, dt.timezone.utc)
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                    "request_id": doc.get(fields.request_id),
                    "latency_ms": latency,
                    "status": number(doc.get(fields.status)),
                    "message": doc.get(fields.message),
                }
            )
        slow.sort(key=lambda r: -r["latency_ms"])
        return {"count": len(slow), "threshold_ms": threshold_ms}, slow[:top]
    raise ValueError(name)
