"""Assemble every check into one verdict: healthy, degraded or unhealthy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from hybridops.health.probe import Check, probe

RANK = {"pass": 0, "warn": 1, "fail": 2}
VERDICT = {0: "healthy", 1: "degraded", 2: "unhealthy"}
FAILURE_WORDS = ("failed", "unhealthy", "unable", "error", "rolling back")


@dataclass
class Target:
    """What one region's health covers."""

    region: str
    health_url: str | None
    components: list[str]
    cluster: str | None
    service: str | None
    target_group_arn: str | None
    alarm_prefix: str = "hybrid-router"
    route53: bool = True
    # The AWS profile in use: named in the fix when its credentials do not work.
    profile: str | None = None


@dataclass
class Verdict:
    """The answer."""

    status: str
    checks: list[Check] = field(default_factory=list)
    region: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON shape: {"status", "checks": [...]}."""
        return {
            "status": self.status,
            "region": self.region,
            "checks": [c.as_dict() for c in self.checks],
        }

    def junit(self) -> str:
        """JUnit XML for CI dashboards: one testcase per check, failures for fail."""
        # Imported here: xml.sax pulls in urllib.request (~9 ms) that only --junit needs.
        from xml.sax.saxutils import escape

        failures = sum(1 for c in self.checks if c.status == "fail")
        cases = []
        for c in self.checks:
            seconds = (c.latency_ms or 0) / 1000
            body = (
                f'<failure message="{escape(c.detail, {chr(34): "&quot;"})}"/>'
                if c.status == "fail"
                else ""
            )
            if c.status == "warn":
                body = f"<system-out>{escape('WARN: ' + c.detail)}</system-out>"
            cases.append(
                f'  <testcase classname="hybridops.health.{c.kind}" name="{escape(c.name)}"'
                f' time="{seconds:.3f}">{body}</testcase>'
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuite name="hybridops health" tests="{len(self.checks)}"'
            f' failures="{failures}">\n' + "\n".join(cases) + "\n</testsuite>\n"
        )


def verdict_of(checks: list[Check]) -> str:
    """healthy / degraded / unhealthy from the worst check."""
    worst = max((RANK[c.status] for c in checks), default=0)
    return VERDICT[worst]


def http_targets(target: Target, only: list[str] | None) -> list[tuple[str, str]]:
    """(name, url) for /health and each /health/component/NAME."""
    if not target.health_url:
        return []
    base = target.health_url.rstrip("/")
    names = only or target.components
    pairs = [(f"component {n}", f"{base}/health/component/{n}") for n in names]
    return pairs if only else [("health", f"{base}/health"), *pairs]


def ecs_check(ecs: Any, cluster: str, service: str, now: dt.datetime) -> Check:
    """running == desired, one COMPLETED deployment, no failure events of the current deployment."""
    response = ecs.describe_services(cluster=cluster, services=[service])
    services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        return Check("ecs service", "ecs", "fail", f"{service} not found in {cluster}")
    svc = services[0]
    running, desired = svc.get("runningCount", 0), svc.get("desiredCount", 0)
    deployments = svc.get("deployments", [])
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is None and deployments:
        primary = deployments[0]
    problems: list[str] = []
    status = "pass"
    if desired == 0:
        status, problems = "fail", ["desired count is 0"]
    elif running < desired:
        status = "fail" if running == 0 else "warn"
        problems.append(f"running {running}/{desired}")
    if len(deployments) > 1 or (
        deployments and deployments[0].get("rolloutState") not in (None, "COMPLETED")
    ):
        states = ", ".join(
            f"{d.get('status')} {d.get('rolloutState')}"
            f" ({str(d.get('taskDefinition', '?')).rsplit('/', 1)[-1]})"
            for d in deployments
        )
        problems.append(f"deployments: {states}")
        if any(d.get("rolloutState") == "FAILED" for d in deployments):
            status = "fail"
        elif status == "pass":
            status = "warn"
    failures = FailureEvents.of(svc, primary, now)
    if failures.counted:
        problems.append(
            f"{_events(len(failures.counted))} {failures.since}, latest: {failures.counted[0]}"
        )
        status = "fail"
    deployment = _deployment_name(primary)
    detail = "; ".join(problems) or f"running {running}/{desired}, {deployment} COMPLETED"
    if failures.earlier and not failures.counted:
        # Said, not hidden: they belong to the deployment this one replaced.
        detail += f"; not counted: {_events(len(failures.earlier))} before {failures.boundary}"
    return Check(
        "ecs service", "ecs", status, detail, facts={"task_definition": svc["taskDefinition"]}
    )


STEADY = "has reached a steady state"


@dataclass
class FailureEvents:
    """Recent ECS failure events, split at the start of what runs now."""

    counted: list[str]
    earlier: list[str]
    since: str
    boundary: str

    @classmethod
    def of(
        cls, svc: dict[str, Any], primary: dict[str, Any] | None, now: dt.datetime
    ) -> FailureEvents:
        """Failure events of the last 10 min, since PRIMARY started or the last steady state."""
        # A replaced (or rolled back) deployment's failures say nothing about the one that runs
        # now: counting them kept `health` red for 10 minutes after a verified rollback.
        events = [
            (_aware(e["createdAt"]), str(e.get("message", "")))
            for e in svc.get("events", [])[:50]
            if e.get("createdAt") is not None
        ]
        recent = [(at, m) for at, m in events if (now - at).total_seconds() < 600]
        cutoff: dt.datetime | None = None
        since = "in 10 min"
        boundary = ""
        name = _deployment_name(primary)
        if primary is not None and primary.get("createdAt") is not None:
            cutoff = _aware(primary["createdAt"])
            since = f"since {name} started {_ago(now, cutoff)}"
            boundary = f"{name} started"
        steady = max((at for at, m in events if STEADY in m), default=None)
        if steady is not None and (cutoff is None or steady > cutoff):
            # After the PRIMARY started: its own steady state (ECS says so after it recovered).
            cutoff = steady
            since = f"since {name} reached a steady state {_ago(now, steady)}"
            boundary = f"{name} reached a steady state"
        failed = [(at, m) for at, m in recent if _is_failure(m)]
        counted = [m for at, m in failed if cutoff is None or at >= cutoff]
        earlier = [m for at, m in failed if cutoff is not None and at < cutoff]
        return cls(counted, earlier, since, boundary)


def _events(count: int) -> str:
    return f"{count} failure event{'' if count == 1 else 's'}"


def _is_failure(message: str) -> bool:
    lowered = message.lower()
    return STEADY not in lowered and any(word in lowered for word in FAILURE_WORDS)


def _deployment_name(deployment: dict[str, Any] | None) -> str:
    """`deployment ecs-svc/123 (hybrid-router:3)` — which deployment a detail is about."""
    if not deployment:
        return "deployment"
    revision = str(deployment.get("taskDefinition", "?")).rsplit("/", 1)[-1]
    return f"deployment {deployment.get('id', '?')} ({revision})"


def _ago(now: dt.datetime, then: dt.datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _aware(moment: Any) -> dt.datetime:
    if isinstance(moment, dt.datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.fromtimestamp(float(moment), dt.timezone.utc)


def alb_check(elbv2: Any, target_group_arn: str) -> Check:
    """Every registered target healthy; reasons for the others."""
    described = elbv2.describe_target_health(TargetGroupArn=target_group_arn)[
        "TargetHealthDescriptions"
    ]
    if not described:
        return Check(
            "alb targets", "alb", "fail", "no registered targets", None, {"healthy": 0, "total": 0}
        )
    bad = [d for d in described if d["TargetHealth"]["State"] != "healthy"]
    healthy = len(described) - len(bad)
    counts = {"healthy": healthy, "total": len(described)}
    if not bad:
        return Check(
            "alb targets", "alb", "pass", f"{healthy}/{len(described)} healthy", None, counts
        )
    reasons = sorted(
        {f"{d['TargetHealth']['State']} ({d['TargetHealth'].get('Reason', '?')})" for d in bad}
    )
    status = (
        "fail"
        if healthy == 0 or any(d["TargetHealth"]["State"] == "unhealthy" for d in bad)
        else "warn"
    )
    return Check(
        "alb targets",
        "alb",
        status,
        f"{healthy}/{len(described)} healthy; " + ", ".join(reasons),
        None,
        counts,
    )


def alarm_check(cloudwatch: Any, prefix: str) -> Check:
    """CloudWatch alarms (of the service's prefix) in ALARM."""
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=prefix, StateValue="ALARM")["MetricAlarms"]
    # Filter again: not every implementation combines both filters (moto ignores StateValue).
    alarms = [a for a in alarms if a.get("StateValue") == "ALARM"]
    if not alarms:
        return Check("cloudwatch alarms", "alarms", "pass", "none in ALARM")
    names = ", ".join(sorted(a["AlarmName"] for a in alarms))
    return Check("cloudwatch alarms", "alarms", "warn", f"in ALARM: {names}")


def route53_check(route53: Any) -> Check:
    """Route 53 health checks: an inverted check means traffic was moved deliberately."""
    checks = route53.list_health_checks()["HealthChecks"]
    if not checks:
        return Check("route53 health checks", "route53", "pass", "none configured")
    inverted = [c["Id"] for c in checks if c["HealthCheckConfig"].get("Inverted")]
    if inverted:
        return Check(
            "route53 health checks",
            "route53",
            "warn",
            f"inverted (failover in force): {', '.join(inverted)}",
        )
    return Check(
        "route53 health checks", "route53", "pass", f"{len(checks)} configured, none inverted"
    )


def collect(
    target: Target,
    client: Callable[[str], Any],
    *,
    only: list[str] | None = None,
    timeout_s: float = 5.0,
    concurrency: int = 100,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
) -> Verdict:
    """Run every check (HTTP probes and AWS checks concurrently) and return the verdict."""
    aws_checks: list[tuple[str, Callable[[], Check]]] = []
    if target.cluster and target.service:
        aws_checks.append(
            (
                "ecs service",
                lambda: ecs_check(client("ecs"), target.cluster or "", target.service or "", now()),
            )
        )
    if target.target_group_arn:
        aws_checks.append(
            ("alb targets", lambda: alb_check(client("elbv2"), target.target_group_arn or ""))
        )
    aws_checks.append(
        ("cloudwatch alarms", lambda: alarm_check(client("cloudwatch"), target.alarm_prefix))
    )
    if target.route53:
        aws_checks.append(("route53 health checks", lambda: route53_check(client("route53"))))

    def guarded(name: str, fn: Callable[[], Check]) -> Check:
        from hybridops.errors import translate
        from hybridops.health.access import raise_access_error

        started = dt.datetime.now()
        try:
            check = fn()
        except Exception as exc:  # one failing API must not hide the other checks...
            # ...but credentials, a profile or the endpoint are not an outage of anything.
            raise_access_error(exc, target.profile)
            check = Check(name, name.split()[0], "fail", translate(exc).message)
        check.latency_ms = round((dt.datetime.now() - started).total_seconds() * 1000, 1)
        return check

    with ThreadPoolExecutor(max_workers=max(1, len(aws_checks))) as pool:
        futures = [pool.submit(guarded, name, fn) for name, fn in aws_checks]
        http = probe(http_targets(target, only), timeout_s=timeout_s, concurrency=concurrency)
        checks = http + [f.result() for f in futures]
    return Verdict(verdict_of(checks), checks, target.region)


def target_for(settings: Any, *, secondary: bool = False) -> Target:
    """The primary (or backup) side of an environment."""
    from hybridops.config import side_settings

    side = side_settings(settings.model_dump(), "secondary" if secondary else "primary")
    return Target(
        side["region"],
        side["health_url"],
        list(settings.components),
        side["cluster"],
        side["service"],
        side["target_group_arn"],
        profile=settings.profile,
    )


def watch(
    run_once: Callable[[], Verdict],
    on_result: Callable[[Verdict], None],
    *,
    interval_s: float,
    stop: Any,
) -> Verdict:
    """Re-check every interval until `stop` (a threading.Event) is set; return the last verdict."""
    while True:
        verdict = run_once()
        on_result(verdict)
        if stop.wait(interval_s):
            return verdict


def remember_known_good(store: Any, verdict: Verdict, *, dry_run: bool = False) -> str | None:
    """A healthy verdict marks the deployed revision known-good (rollback prefers it).

    The revision is returned either way; a dry run does not store it.
    """
    if verdict.status != "healthy":
        return None
    for check in verdict.checks:
        arn = check.facts.get("task_definition")
        if check.kind == "ecs" and arn:
            record_known_good(store, arn, dry_run=dry_run)
            return arn
    return None


def record_known_good(store: Any, arn: str, *, dry_run: bool = False) -> None:
    """Mark a task definition known-good under its family (not in a dry run)."""
    if dry_run:
        return
    from hybridops.aws.ecs import family_and_revision

    store.record_known_good(family_and_revision(arn)[0], arn)
