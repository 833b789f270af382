"""Weekly trends and monthly capacity planning, from CloudWatch metrics (not raw logs)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

WEEK = dt.timedelta(days=7)
DAY_S = 86400


@dataclass(frozen=True)
class Series:
    """One metric to read: where it is and how to aggregate it."""

    key: str
    label: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    stat: str  # Average, Maximum, Minimum, Sum, or pNN
    unit: str = ""
    scale: float = 1.0
    higher_is_better: bool | None = False  # None: neither (throughput)

    def metric_spec(self) -> dict[str, Any]:
        """The CloudWatch Metric structure."""
        return {
            "Namespace": self.namespace,
            "MetricName": self.metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions.items()],
        }


def _aggregates(
    cw: Any, series: list[Series], start: dt.datetime, end: dt.datetime
) -> dict[str, float | None]:
    """One value per series over [start, end): get_metric_data, one period the whole window."""
    period = int((end - start).total_seconds())
    plain = [s for s in series if not s.stat.startswith("p")]
    values: dict[str, float | None] = {s.key: None for s in series}
    for chunk in range(0, len(plain), 500):  # the API takes 500 queries a call
        queries = [
            {
                "Id": f"q{i}",
                "MetricStat": {"Metric": s.metric_spec(), "Period": period, "Stat": s.stat},
                "ReturnData": True,
            }
            for i, s in enumerate(plain[chunk : chunk + 500])
        ]
        kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        while True:
            page = cw.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                index = int(result["Id"][1:])
                found = result.get("Values") or []
                if found:
                    values[plain[chunk + index].key] = float(found[0]) * plain[chunk + index].scale
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    # Percentiles through get_metric_statistics: where a backend has none it answers with no
    # value (and the report says so) instead of failing the whole call.
    for s in series:
        if s.stat.startswith("p"):
            points = cw.get_metric_statistics(
                **s.metric_spec(),
                StartTime=start,
                EndTime=end,
                Period=period,
                ExtendedStatistics=[s.stat],
            ).get("Datapoints", [])
            found = [
                p["ExtendedStatistics"][s.stat]
                for p in points
                if s.stat in p.get("ExtendedStatistics", {})
            ]
            if found:
                values[s.key] = float(max(found)) * s.scale
    return values


def weekly_series(settings: Any) -> list[Series]:
    """The weekly trend's metrics: latency percentiles, errors, throughput, peaks, config's."""
    ecs = {"ClusterName": settings.cluster, "ServiceName": settings.service}
    series = [
        Series("cpu_peak", "CPU peak", "AWS/ECS", "CPUUtilization", ecs, "Maximum", "%"),
        Series("memory_peak", "memory peak", "AWS/ECS", "MemoryUtilization", ecs, "Maximum", "%"),
    ]
    if settings.load_balancer:
        alb = {"LoadBalancer": settings.load_balancer}
        for p in ("p50", "p95", "p99"):
            series.append(
                Series(
                    f"latency_{p}",
                    f"latency {p.upper()}",
                    "AWS/ApplicationELB",
                    "TargetResponseTime",
                    alb,
                    p,
                    "ms",
                    scale=1000.0,
                )
            )
        series += [
            Series(
                "requests",
                "requests",
                "AWS/ApplicationELB",
                "RequestCount",
                alb,
                "Sum",
                "",
                higher_is_better=None,
            ),
            Series(
                "errors_5xx",
                "5xx errors",
                "AWS/ApplicationELB",
                "HTTPCode_Target_5XX_Count",
                alb,
                "Sum",
                "",
            ),
        ]
    for extra in settings.reports.trend_metrics:
        series.append(
            Series(
                f"extra:{extra.name}",
                extra.name,
                extra.namespace,
                extra.metric,
                dict(extra.dimensions),
                extra.stat,
                "",
                higher_is_better=extra.higher_is_better,
            )
        )
    return series


@dataclass
class TrendRow:
    """One metric, this week against last."""

    key: str
    label: str
    unit: str
    last_week: float | None
    this_week: float | None
    change_pct: float | None
    direction: str  # up, down, flat, n/a
    regression: bool

    @property
    def arrow(self) -> str:
        """↑ ↓ → or ?"""
        return {"up": "↑", "down": "↓", "flat": "→"}.get(self.direction, "?")

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "last_week": self.last_week,
            "this_week": self.this_week,
            "change_pct": self.change_pct,
            "direction": self.direction,
            "regression": self.regression,
        }


@dataclass
class WeeklyReport:
    """Week over week."""

    start: dt.datetime
    end: dt.datetime
    rows: list[TrendRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[TrendRow]:
        """The rows that got worse by more than the configured percentage."""
        return [r for r in self.rows if r.regression]

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "report": "weekly",
            "this_week": {"start": _iso(self.end - WEEK), "end": _iso(self.end)},
            "last_week": {"start": _iso(self.start), "end": _iso(self.end - WEEK)},
            "rows": [r.as_dict() for r in self.rows],
            "regressions": [r.label for r in self.regressions],
            "notes": self.notes,
        }

    def markdown(self) -> str:
        """The report as Markdown."""
        out = [
            f"# Weekly trend, week ending {_iso(self.end)}",
            "",
            "| metric | last week | this week | change |",
            "|---|---|---|---|",
        ]
        for r in self.rows:
            flag = " **regression**" if r.regression else ""
            change = "n/a" if r.change_pct is None else f"{r.arrow} {r.change_pct:+.1f}%"
            out.append(
                f"| {r.label} | {_num(r.last_week, r.unit)} | {_num(r.this_week, r.unit)} |"
                f" {change}{flag} |"
            )
        out.append("")
        if self.regressions:
            out.append("Regressions: " + ", ".join(r.label for r in self.regressions) + ".")
        else:
            out.append("No regressions.")
        out += [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".rstrip() if unit != "%" else f"{text}%"


def _row(s: Series, last: float | None, this: float | None, regression_pct: float) -> TrendRow:
    if last is None or this is None:
        return TrendRow(s.key, s.label, s.unit, last, this, None, "n/a", False)
    change = None if last == 0 else (this - last) / abs(last) * 100
    if change is None:
        direction = "flat" if this == 0 else "up"
    else:
        direction = "flat" if abs(change) < 1 else ("up" if change > 0 else "down")
    worse = False
    if change is not None and s.higher_is_better is not None:
        bad = -change if s.higher_is_better else change
        worse = bad > regression_pct
    return TrendRow(
        s.key,
        s.label,
        s.unit,
        last,
        this,
        None if change is None else round(change, 1),
        direction,
        worse,
    )


def weekly(cw: Any, settings: Any, end: dt.datetime) -> WeeklyReport:
    """The last 7 days against the 7 before, for every weekly series."""
    series = weekly_series(settings)
    this = _aggregates(cw, series, end - WEEK, end)
    last = _aggregates(cw, series, end - 2 * WEEK, end - WEEK)
    report = WeeklyReport(end - 2 * WEEK, end)
    pct = settings.reports.regression_percent
    for s in series:
        report.rows.append(_row(s, last[s.key], this[s.key], pct))
    # Derived: the error rate and throughput from the ALB sums.
    if settings.load_balancer:

        def rate(values: dict[str, float | None]) -> float | None:
            errors, requests = values.get("errors_5xx"), values.get("requests")
            if requests in (None, 0) or errors is None:
                return None
            return 100.0 * errors / requests

        def throughput(values: dict[str, float | None]) -> float | None:
            requests = values.get("requests")
            return None if requests is None else requests / WEEK.total_seconds()

        report.rows.append(
            _row(
                Series("error_rate", "error rate", "", "", {}, "", "%"), rate(last), rate(this), pct
            )
        )
        report.rows.append(
            _row(
                Series("throughput", "throughput", "", "", {}, "", "req/s", higher_is_better=None),
                throughput(last),
                throughput(this),
                pct,
            )
        )
    else:
        report.notes.append("latency, error rate and throughput need load_balancer (app/NAME/ID)")
    for week, attr in (("this week", "this_week"), ("last week", "last_week")):
        missing = [r.label for r in report.rows if getattr(r, attr) is None]
        if missing:
            report.notes.append(f"no data {week} for: " + ", ".join(missing))
    return report


# -- monthly capacity planning ------------------------------------------------------------------


def _daily(
    cw: Any, series: list[Series], start: dt.datetime, end: dt.datetime
) -> dict[str, list[tuple[dt.datetime, float]]]:
    """Daily values (oldest first) per series."""
    queries = [
        {
            "Id": f"q{i}",
            "MetricStat": {"Metric": s.metric_spec(), "Period": DAY_S, "Stat": s.stat},
            "ReturnData": True,
        }
        for i, s in enumerate(series)
    ]
    out: dict[str, list[tuple[dt.datetime, float]]] = {s.key: [] for s in series}
    kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
    while True:
        page = cw.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            key = series[int(result["Id"][1:])].key
            out[key] += list(
                zip(
                    result.get("Timestamps", []), map(float, result.get("Values", [])), strict=False
                )
            )
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return {k: sorted(v) for k, v in out.items()}


def growth_per_30_days(points: list[tuple[dt.datetime, float]]) -> float | None:
    """Least-squares trend of a daily series, as a fraction per 30 days of its mean."""
    if len(points) < 7:
        return None
    import statistics

    xs = [(t - points[0][0]).total_seconds() / DAY_S for t, _ in points]
    ys = [v for _, v in points]
    mean_y = statistics.fmean(ys)
    if mean_y == 0:
        return None
    try:
        slope, _ = statistics.linear_regression(xs, ys)
    except statistics.StatisticsError:  # every point at one time: no trend
        return None
    return slope * 30 / mean_y


@dataclass
class CapacityReport:
    """Peak against capacity, headroom, growth and what next month needs."""

    start: dt.datetime
    end: dt.datetime
    data: dict[str, Any]
    notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "report": "monthly",
            "window": {"start": _iso(self.start), "end": _iso(self.end)},
            **self.data,
            "notes": self.notes,
        }

    def markdown(self) -> str:
        """The report as Markdown."""
        d = self.data
        ecs, lam = d["ecs"], d["lambda"]
        growth = d["growth_per_month_pct"]
        out = [
            f"# Monthly capacity plan, {_iso(self.start)} to {_iso(self.end)}",
            "",
            f"Request growth: {'n/a' if growth is None else f'{growth:+.1f}% per month'}"
            f" (least squares over {d['days']} days).",
            "",
            "| | peak | plan for | headroom | now | next month |",
            "|---|---|---|---|---|---|",
            f"| ECS CPU | {_num(ecs['cpu_peak'], '%')} | {_num(ecs['cpu_target'], '%')} |"
            f" {_num(ecs['cpu_headroom'], 'pts')} | {ecs['desired_now']} tasks |"
            f" {_fmt(ecs['desired_next'])} tasks |",
            f"| ECS memory | {_num(ecs['memory_peak'], '%')} | {_num(ecs['memory_target'], '%')} |"
            f" {_num(ecs['memory_headroom'], 'pts')} | | |",
            f"| Lambda concurrency | {_num(lam['concurrency_peak'], '')} |"
            f" {lam['target_utilization'] * 100:.0f}% of provisioned |"
            f" {_num(lam['headroom'], '')} |"
            f" {_fmt(lam['provisioned_now'])} | {_fmt(lam['provisioned_next'])} |",
            "",
        ]
        out += [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"


def _fmt(value: Any) -> str:
    return "n/a" if value is None else str(value)


def monthly(
    cw: Any,
    settings: Any,
    end: dt.datetime,
    *,
    desired_now: int | None,
    provisioned_now: int | None,
    days: int = 30,
) -> CapacityReport:
    """Daily peaks over `days`, the request trend, and next month's desired count and
    provisioned concurrency with the runbook's margins (CPU under its 70% trigger, memory under
    80%, Lambda at the target utilisation, rounded up to the +50 step)."""
    start = end - dt.timedelta(days=days)
    ecs_dims = {"ClusterName": settings.cluster, "ServiceName": settings.service}
    series = [
        Series("cpu", "CPU", "AWS/ECS", "CPUUtilization", ecs_dims, "Maximum"),
        Series("memory", "memory", "AWS/ECS", "MemoryUtilization", ecs_dims, "Maximum"),
        Series(
            "concurrency",
            "Lambda concurrency",
            "AWS/Lambda",
            "ConcurrentExecutions",
            {"FunctionName": settings.lambda_function},
            "Maximum",
        ),
    ]
    if settings.load_balancer:
        series.append(
            Series(
                "requests",
                "requests",
                "AWS/ApplicationELB",
                "RequestCount",
                {"LoadBalancer": settings.load_balancer},
                "Sum",
            )
        )
    daily = _daily(cw, series, start, end)
    notes: list[str] = []
    if not settings.load_balancer:
        notes.append("no request trend: set load_balancer (app/NAME/ID); growth assumed 0")
    growth = growth_per_30_days(daily.get("requests", []))
    if settings.load_balancer and growth is None:
        notes.append("fewer than 7 days of request data: growth assumed 0")
    factor = max(0.0, 1.0 + (growth or 0.0))
    reports = settings.reports
    cpu_target = reports.cpu_target_percent or settings.scaling.cpu_percent
    memory_target = reports.memory_target_percent or settings.scaling.memory_percent

    def peak(key: str) -> float | None:
        values = [v for _, v in daily.get(key, [])]
        return max(values) if values else None

    cpu_peak, memory_peak, concurrency_peak = peak("cpu"), peak("memory"), peak("concurrency")
    desired_next = None
    if desired_now:
        needs = [
            math.ceil(desired_now * p * factor / target)
            for p, target in ((cpu_peak, cpu_target), (memory_peak, memory_target))
            if p is not None
        ]
        desired_next = max([1, *needs]) if needs else None
    if desired_next is None:
        notes.append("next month's desired count needs the current count and CPU/memory data")
    step = settings.scaling.lambda_step
    provisioned_next = None
    if concurrency_peak is not None:
        needed = concurrency_peak * factor / reports.lambda_target_utilization
        provisioned_next = max(step, math.ceil(needed / step) * step)
    data = {
        "days": days,
        "growth_per_month_pct": None if growth is None else round(growth * 100, 1),
        "ecs": {
            "desired_now": desired_now,
            "cpu_peak": cpu_peak,
            "cpu_target": cpu_target,
            "cpu_headroom": None if cpu_peak is None else round(cpu_target - cpu_peak, 1),
            "memory_peak": memory_peak,
            "memory_target": memory_target,
            "memory_headroom": None
            if memory_peak is None
            else round(memory_target - memory_peak, 1),
            "desired_next": desired_next,
        },
        "lambda": {
            "provisioned_now": provisioned_now,
            "concurrency_peak": concurrency_peak,
            "target_utilization": reports.lambda_target_utilization,
            "headroom": None
            if provisioned_now is None or concurrency_peak is None
            else provisioned_now - concurrency_peak,
            "provisioned_next": provisioned_next,
            "step": step,
        },
    }
    return CapacityReport(start, end, data, notes)


def weekly_for(runtime: Any, end: dt.datetime) -> WeeklyReport:
    """The weekly trend of the environment."""
    return weekly(runtime.clients.client("cloudwatch"), runtime.env.settings, end)


def monthly_for(runtime: Any, end: dt.datetime, days: int = 30) -> CapacityReport:
    """The monthly plan of the environment, with today's desired count and concurrency."""
    from hybridops.errors import translate

    settings = runtime.env.settings
    notes: list[str] = []
    desired_now = provisioned_now = None
    try:
        services = (
            runtime.clients.client("ecs")
            .describe_services(cluster=settings.cluster, services=[settings.service])
            .get("services", [])
        )
        desired_now = int(services[0]["desiredCount"]) if services else None
    except Exception as exc:
        notes.append(f"ECS desired count unreadable: {translate(exc).message}")
    try:
        config = runtime.clients.client("lambda").get_provisioned_concurrency_config(
            FunctionName=settings.lambda_function, Qualifier=settings.lambda_alias
        )
        provisioned_now = int(config.get("RequestedProvisionedConcurrentExecutions", 0))
    except Exception as exc:
        notes.append(f"provisioned concurrency unreadable: {translate(exc).message}")
    report = monthly(
        runtime.clients.client("cloudwatch"),
        settings,
        end,
        desired_now=desired_now,
        provisioned_now=provisioned_now,
        days=days,
    )
    report.notes[:0] = notes
    return report
