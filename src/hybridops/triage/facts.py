"""Gather the facts document triggers read: health's checks and a few more reads, concurrently.

Every area is read in its own thread, so the slowest read sets the time (the first command on
a page must be as quick as `health`). An area that cannot be read is left null and named under
`unknown` with the reason: a trigger that needs it is then undecided, never guessed.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hybridops.errors import aws_error_code
from hybridops.health.probe import Check, clean, probe
from hybridops.health.verdict import (
    FailureEvents,
    Target,
    alb_check,
    ecs_check,
    http_targets,
    route53_check,
    target_for,
    verdict_of,
)

FRESH_WINDOW_S = 3600
THROTTLE_WINDOW_MIN = 5
ERROR_WINDOW_MIN = 5
# Fewer requests than this in the window and an error rate says nothing (one request = 0.5%).
MIN_REQUESTS = 200
# What a cold standby's endpoint says about itself: no fault of the side, only no tasks yet.
COLD_REASONS = ("no running tasks", "no healthy targets", "desired count is 0")
SECONDARY_PROBE = "secondary health"
ROUTER = "hybrid-router"
# Facts read together by one read.
READ_AS = {"bedrock.model": "bedrock.checks", "bedrock.permission": "bedrock.checks"}
# Facts computed from other areas: unknown when one of those is.
DERIVED = {
    "primary.down": ("primary.endpoint", "primary.components"),
    "primary.router": ("primary.components",),
    "primary.failing_components": ("primary.components",),
    "lambda.at_cap": ("lambda.provisioned",),
    "bedrock.client": ("primary.components",),
    "bedrock.reason": ("primary.components",),
    "secondary.able_to_serve": ("secondary",),
    "deploys": ("primary.ecs",),
    "deploys.current_known_good": ("deploys.known_good",),
    "deploys.previous": ("deploys.known_good",),
    "lambda.scale_up_to": ("lambda.provisioned",),
}
COMPONENT_WORDS = {"pass": "healthy", "warn": "degraded", "fail": "unhealthy"}

Client = Callable[[str, str], Any]


class Unknown(Exception):
    """An area that could not be read, and why (in words)."""


class NotConfigured(Unknown):
    """An area the environment does not configure: nothing to judge there, nothing wrong."""


def _revision(arn: Any) -> str:
    return str(arn or "?").rsplit("/", 1)[-1]


def _age(now: dt.datetime, moment: Any) -> float | None:
    if moment is None:
        return None
    from hybridops.health.verdict import _aware

    return round(max(0.0, (now - _aware(moment)).total_seconds()), 1)


def _why(exc: BaseException, profile: str | None) -> str:
    """An exception as the reason an area is unknown: access problems said as such."""
    from hybridops.errors import translate
    from hybridops.health.access import access_error

    error = access_error(exc, profile)
    if error is not None:
        hint = f" ({error.hint})" if getattr(error, "hint", None) else ""
        return f"{error.message}{hint}"
    return translate(exc).message


class Gatherer:
    """Reads each area once; `document()` assembles them (derived facts included)."""

    def __init__(
        self,
        settings: Any,
        client: Client,
        store: Any,
        *,
        now: dt.datetime,
        timeout_s: float = 5.0,
    ) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.now = now
        self.timeout_s = timeout_s
        self.target: Target = target_for(settings)
        # Areas that could not be read; `unknown` adds what follows from them, per document.
        self.read_unknown: dict[str, str] = {}
        self.unknown: dict[str, str] = {}
        # Areas the environment does not configure: said, but no trigger waits on them.
        self.read_absent: dict[str, str] = {}
        self.absent: dict[str, str] = {}
        self.errors: dict[str, BaseException] = {}
        self.skipped: dict[str, str] = {}
        self.backup_probe: Check | None = None
        self.lazy: dict[str, Callable[[], Any]] = {}
        self.current_arn: str | None = None
        self.http_checks: list[Check] = []
        self.results: dict[str, Any] = {}
        self.checks: list[Check] = []

    # -- areas ---------------------------------------------------------------------------------
    def http(self) -> list[Check]:
        """/health and every component of the primary side, and the backup side's /health."""
        targets = http_targets(self.target, None)
        if self.settings.secondary_health_url:
            base = self.settings.secondary_health_url.rstrip("/")
            targets.append((SECONDARY_PROBE, f"{base}/health"))
        return probe(targets, timeout_s=self.timeout_s)

    def ecs(self) -> tuple[Check, dict[str, Any]]:
        """health's ECS check and the service it read."""
        svc: dict[str, Any] = {}
        ecs = self.client("ecs", "primary")

        class Keeping:
            def describe_services(self, **kwargs: Any) -> Any:
                response = _absent_cluster_is_no_service(ecs, kwargs)
                active = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
                if active:
                    svc.update(active[0])
                return response

        check = ecs_check(Keeping(), self.target.cluster or "", self.target.service or "", self.now)
        return check, svc

    def targets(self) -> Check:
        """health's ALB target check."""
        return alb_check(self.client("elbv2", "primary"), self.target.target_group_arn or "")

    def alarms(self, regions: tuple[str, ...] | None = None) -> tuple[Check, list[dict[str, Any]]]:
        """Alarms in ALARM under the prefix, in the primary region (or the given ones)."""
        firing: list[dict[str, Any]] = []
        prefix = self.settings.alarms.prefix
        for region in regions or (self.settings.region,):
            cw = self.client("cloudwatch", region)
            found = cw.describe_alarms(AlarmNamePrefix=prefix, StateValue="ALARM")
            for alarm in found.get("MetricAlarms", []):
                if alarm.get("StateValue") != "ALARM":
                    continue  # moto ignores StateValue
                since = alarm.get("StateUpdatedTimestamp")
                firing.append(
                    {
                        "name": alarm["AlarmName"],
                        "metric": alarm.get("MetricName")
                        or _expression_metric(alarm.get("Metrics") or []),
                        "namespace": alarm.get("Namespace"),
                        "region": region,
                        "since": since.isoformat() if isinstance(since, dt.datetime) else None,
                        "for_s": _age(self.now, since) if isinstance(since, dt.datetime) else None,
                    }
                )
        if firing:
            names = ", ".join(sorted(a["name"] for a in firing))
            check = Check("cloudwatch alarms", "alarms", "warn", f"in ALARM: {names}")
        else:
            check = Check("cloudwatch alarms", "alarms", "pass", "none in ALARM")
        return check, sorted(firing, key=lambda a: a["name"])

    def route53_checks(self) -> Check:
        """health's Route 53 check."""
        return route53_check(self.client("route53", "primary"))

    def serving(self) -> str:
        """The side the public name sends traffic to (unknown without a hosted zone)."""
        if not (self.settings.hosted_zone_id and self.settings.record_name):
            return "unknown"
        from hybridops.aws import route53

        return route53.environment_layout(self.client("route53", "primary"), self.settings).serving

    def secondary(self) -> dict[str, Any]:
        """The backup side: its service and what its /health says."""
        s = self.settings
        services = _absent_cluster_is_no_service(
            self.client("ecs", "secondary"),
            {"cluster": s.backup_cluster, "services": [s.backup_service]},
        ).get("services", [])
        active = next((x for x in services if x.get("status") == "ACTIVE"), None)
        return {
            "service_found": active is not None,
            "desired": int(active["desiredCount"]) if active else 0,
            "running": int(active["runningCount"]) if active else 0,
        }

    def throttles(self) -> dict[str, Any]:
        """Throttles of the router Lambda in the last minutes."""
        s = self.settings
        cw = self.client("cloudwatch", "primary")
        points = cw.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="Throttles",
            Dimensions=[{"Name": "FunctionName", "Value": s.lambda_function}],
            StartTime=self.now - dt.timedelta(minutes=THROTTLE_WINDOW_MIN),
            EndTime=self.now,
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return {
            "function": s.lambda_function,
            "alias": s.lambda_alias,
            "throttles": _count(sum(float(p.get("Sum", 0)) for p in points)),
            "window_minutes": THROTTLE_WINDOW_MIN,
            "max_provisioned": s.limits.max_provisioned_concurrency,
        }

    def error_rate(self) -> dict[str, Any]:
        """5xx share of the ALB's requests in the last minutes (one GetMetricData call)."""
        s = self.settings
        threshold = s.logs.slo.error_rate_pct
        if not s.load_balancer:
            raise NotConfigured("not evaluated: set load_balancer (app/NAME/ID) in the environment")

        def query(ident: str, metric: str) -> dict[str, Any]:
            return {
                "Id": ident,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ApplicationELB",
                        "MetricName": metric,
                        "Dimensions": [{"Name": "LoadBalancer", "Value": s.load_balancer}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }

        found = self.client("cloudwatch", "primary").get_metric_data(
            MetricDataQueries=[
                query("errors", "HTTPCode_Target_5XX_Count"),
                query("requests", "RequestCount"),
            ],
            StartTime=self.now - dt.timedelta(minutes=ERROR_WINDOW_MIN),
            EndTime=self.now,
        )["MetricDataResults"]
        sums = {r["Id"]: sum(float(v) for v in r.get("Values", [])) for r in found}
        errors, requests = sums.get("errors", 0.0), sums.get("requests", 0.0)
        if requests < MIN_REQUESTS:
            # On a quiet service one request moves the rate by whole percents: not judged.
            return {
                "fired": False,
                "value": None,
                "threshold": threshold,
                "minutes": ERROR_WINDOW_MIN,
                "detail": f"not judged: {_count(requests)} requests in {ERROR_WINDOW_MIN} min"
                f" (fewer than {MIN_REQUESTS})",
            }
        rate = round(100.0 * errors / requests, 2)
        return {
            "fired": rate > threshold,
            "value": rate,
            "threshold": threshold,
            "minutes": ERROR_WINDOW_MIN,
            "detail": f"{rate:g}% 5xx of {_count(requests)} requests in {ERROR_WINDOW_MIN} min"
            f" ({'over' if rate > threshold else 'not over'} the SLO's {threshold:g}%)",
        }

    def bedrock_checks(self) -> dict[str, Any]:
        """The model offered and ACTIVE, the client role allowed to invoke it (health --deep)."""
        from hybridops.health.bedrock import model_check, permission_check

        b = self.settings.bedrock
        out: dict[str, Any] = {}
        for key, run in (
            ("model", lambda: model_check(self.client("bedrock", "primary"), b.model_id)),
            (
                "permission",
                lambda: permission_check(
                    self.client("iam", "primary"), b.role_arn, b.model_id, self.settings.region
                ),
            ),
        ):
            try:
                check = run()
                out[key], out[f"{key}_detail"] = check.status, check.detail
            except Exception as exc:
                if _unreadable(exc, self.settings.profile):
                    # Credentials or the network, not Bedrock: unknown, not a failure.
                    out[key], out[f"{key}_detail"] = None, None
                    self.read_unknown[f"bedrock.{key}"] = _why(exc, self.settings.profile)
                else:  # Bedrock failing to answer (a 503) is itself the evidence
                    out[key], out[f"{key}_detail"] = "fail", _why(exc, self.settings.profile)
        return out

    def provisioned(self) -> int:
        """Provisioned concurrency requested on the alias (0 when none is configured)."""
        s = self.settings
        try:
            config = self.client("lambda", "primary").get_provisioned_concurrency_config(
                FunctionName=s.lambda_function, Qualifier=s.lambda_alias
            )
        except Exception as exc:
            if aws_error_code(exc) == "ProvisionedConcurrencyConfigNotFoundException":
                return 0
            raise
        return int(config.get("RequestedProvisionedConcurrentExecutions") or 0)

    def circuit(self) -> str:
        """The Bedrock breaker's state from its SSM parameter."""
        name = self.settings.circuits.get("bedrock")
        if not name:
            raise NotConfigured("no circuits.bedrock parameter configured")
        value = self.client("ssm", "primary").get_parameter(Name=name)["Parameter"]["Value"]
        return "open" if str(value).strip().lower() == "open" else "closed"

    def metric(self, name: str) -> dict[str, Any]:
        """One scale-up trigger (scale check's evaluation) as a fact."""
        from hybridops.health import scaling

        found = scaling.one(self.settings, self.client("cloudwatch", "primary"), name, self.now)
        return {
            "fired": found.fired,
            "value": found.value,
            "threshold": found.threshold,
            "minutes": found.minutes,
            "detail": found.detail,
        }

    # -- assembly ------------------------------------------------------------------------------
    def gather(self) -> dict[str, Any]:
        """Every area health reads, and the metrics, concurrently; then what they call for.

        The second round reads only what the first makes relevant (the backup side when the
        primary is not healthy, the breaker when Bedrock fails, the Lambda's concurrency when
        it throttles): a healthy estate is judged in health's time.
        """
        reads: dict[str, Callable[[], Any]] = {
            "primary.ecs": self.ecs,
            "alarms": self.alarms,
            "route53": self.route53_checks,
            "lambda": self.throttles,
        }
        for name in ("cpu", "memory", "queue_depth", "p95_ms"):
            reads[f"metrics.{name}"] = functools.partial(self.metric, name)
        reads["metrics.error_rate"] = self.error_rate
        if self.target.target_group_arn:
            reads["primary.targets"] = self.targets
        results: dict[str, Any] = {}
        with ThreadPoolExecutor(max_workers=len(reads)) as pool:
            futures = {area: pool.submit(read) for area, read in reads.items()}
            probes = self.http()
            http = [c for c in probes if c.name != SECONDARY_PROBE]
            self.backup_probe = next((c for c in probes if c.name == SECONDARY_PROBE), None)
            self._collect(futures, results)
            more = self._second_round(http, results)
            if more:
                self._collect({area: pool.submit(read) for area, read in more.items()}, results)
        return self.document(http, results)

    def _collect(self, futures: dict[str, Any], results: dict[str, Any]) -> None:
        for area, future in futures.items():
            try:
                results[area] = future.result()
            except NotConfigured as exc:
                self.read_absent[area] = str(exc)
            except Unknown as exc:
                self.read_unknown[area] = str(exc)
            except Exception as exc:  # one unreadable area must not hide the others
                self.read_unknown[area] = _why(exc, self.settings.profile)
                self.errors[area] = exc

    def read_skipped(self, areas: set[str]) -> dict[str, Any]:
        """Read areas the first rounds skipped (a trigger needs them after all); new facts."""
        wanted = {READ_AS.get(a, a) for a in areas}
        reads = {a: self.lazy[a] for a in wanted if a in self.lazy}
        for area in reads:
            self.lazy.pop(area, None)
            for name in [area, *(k for k, v in READ_AS.items() if v == area)]:
                self.skipped.pop(name, None)
        if reads:
            with ThreadPoolExecutor(max_workers=len(reads)) as pool:
                self._collect({a: pool.submit(r) for a, r in reads.items()}, self.results)
        return self.document(self.http_checks, self.results)

    def _skip(self, area: str, why: str, read: Callable[[], Any]) -> None:
        self.skipped[area] = why
        self.lazy[area] = read

    def _second_round(self, http: list[Check], results: dict[str, Any]) -> dict[str, Any]:
        """The reads the first round calls for; the others are named under `skipped`."""
        more: dict[str, Callable[[], Any]] = {}
        first = [c for c in http] + [
            value[0] if isinstance(value, tuple) else value
            for area, value in results.items()
            if area in ("primary.ecs", "primary.targets")
        ]
        backup = self._backup_endpoint()
        backup_fault = self.backup_probe is not None and (
            not backup["reachable"] or _names_fault(backup["reason"])
        )
        unread = "primary.ecs" in self.read_unknown
        if any(c.status != "pass" for c in first) or unread or backup_fault:
            more["secondary"] = self.secondary
            more["route53.serving"] = self.serving
            from hybridops.proactive.alarms import alarm_regions

            # Route 53's health-check alarms live in us-east-1: they only matter for a failover.
            others = tuple(r for r in alarm_regions(self.settings) if r != self.settings.region)
            if others:
                more["alarms.elsewhere"] = functools.partial(self.alarms, others)
        else:
            self._skip("secondary", "not read: the primary side is healthy", self.secondary)
            self._skip("route53.serving", "not read: the primary side is healthy", self.serving)
        component = f"component {self.settings.bedrock.component}"
        bedrock = next((c for c in http if c.name == component), None)
        if bedrock is None or bedrock.status != "pass":
            more["bedrock.circuit"] = self.circuit
            more["bedrock.checks"] = self.bedrock_checks
        else:
            why = "not read: the Bedrock client is healthy"
            self._skip("bedrock.circuit", why, self.circuit)
            self._skip("bedrock.checks", why, self.bedrock_checks)
            self.skipped["bedrock.model"] = self.skipped["bedrock.permission"] = why
        throttles = results.get("lambda") or {}
        alarms = results.get("alarms")
        throttle_alarm = alarms is not None and any(a["metric"] == "Throttles" for a in alarms[1])
        if throttles.get("throttles") or throttle_alarm:
            more["lambda.provisioned"] = self.provisioned
        else:
            why = "not read: the Lambda does not throttle"
            self._skip("lambda.provisioned", why, self.provisioned)
        return more

    def document(self, http: list[Check], results: dict[str, Any]) -> dict[str, Any]:
        """The facts, derived ones included, from what was read."""
        self.http_checks, self.results = http, results
        self.checks = []
        self.unknown = dict(self.read_unknown)
        self.absent = dict(self.read_absent)
        facts = self._assemble(http, results)
        # Health's verdict over the same checks health runs (alarms and Route 53 included).
        facts["primary"]["verdict"] = verdict_of(self.checks) if self.checks else None
        for derived, inputs in DERIVED.items():
            if derived in self.unknown or derived in self.absent:
                continue
            missing = next((i for i in inputs if i in self.unknown), None)
            if missing is not None:
                # Computed from something unread: as unknown as its input, never a default.
                self.unknown[derived] = f"from {missing}: {self.unknown[missing]}"
                continue
            gap = next((i for i in inputs if i in self.absent), None)
            if gap is not None:
                self.absent[derived] = f"from {gap}: {self.absent[gap]}"
        facts["absent"] = self.absent
        return facts

    def _assemble(self, http: list[Check], results: dict[str, Any]) -> dict[str, Any]:

        s = self.settings
        facts: dict[str, Any] = {
            "collected_at": self.now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "env": None,
            "primary": self._primary(http, results),
            "alarms": None,
            "route53": None,
            "secondary": None,
            "deploys": None,
            "lambda": self._lambda(results),
            "bedrock": None,
            "metrics": {
                m.split(".")[1]: results.get(m) for m in results if m.startswith("metrics.")
            },
            "unknown": self.unknown,
            "skipped": self.skipped,
        }
        for m in ("cpu", "memory", "queue_depth", "p95_ms", "error_rate"):
            facts["metrics"].setdefault(m, None)
        if "alarms" in results:
            check, firing = results["alarms"]
            if "alarms.elsewhere" in results:
                more_check, more = results["alarms.elsewhere"]
                firing = sorted(firing + more, key=lambda a: a["name"])
                check = more_check if more_check.status != "pass" else check
            self.checks.append(check)
            facts["alarms"] = {
                "firing": firing,
                "names": [a["name"] for a in firing],
                "metrics": sorted({str(a["metric"]) for a in firing if a["metric"]}),
            }
        if "route53" in results:
            check = results["route53"]
            self.checks.append(check)
            inverted = check.detail.split(": ", 1)[1].split(", ") if check.status == "warn" else []
            facts["route53"] = {"serving": results.get("route53.serving"), "inverted": inverted}
        facts["deploys"] = self._deploys(results, facts["primary"])
        facts["secondary"] = self._secondary(results, facts["route53"])
        router = (facts["primary"] or {}).get("components") or {}
        component = s.bedrock.component
        if "primary.components" in self.unknown or component not in router:
            if component not in router and "primary.components" not in self.unknown:
                self.absent["bedrock.client"] = f"{component} is not a configured component"
            client = {"status": None, "reason": None}
        else:
            client = router[component]
        checks = results.get("bedrock.checks") or {}
        facts["bedrock"] = {
            "client": client["status"],
            "reason": client["reason"],
            "circuit": results.get("bedrock.circuit"),
            "model": checks.get("model"),
            "model_detail": checks.get("model_detail"),
            "permission": checks.get("permission"),
            "permission_detail": checks.get("permission_detail"),
        }
        return facts

    def _primary(self, http: list[Check], results: dict[str, Any]) -> dict[str, Any]:
        s = self.settings
        self.checks.extend(http)
        primary: dict[str, Any] = {"region": s.region, "verdict": None}
        by_name = {c.name: c for c in http}
        main = by_name.get("health")
        if main is None:
            self.absent["primary.endpoint"] = "no health_url configured"
            self.absent["primary.components"] = "no health_url configured"
            primary["endpoint"] = None
            primary["components"] = None
        else:
            primary["endpoint"] = {
                "status": main.status,
                "code": main.facts.get("code"),
                "reachable": bool(main.facts.get("reachable", False)),
                "detail": main.detail,
            }
            primary["components"] = {
                c.name.removeprefix("component "): {
                    "status": COMPONENT_WORDS[c.status]
                    if c.facts.get("reachable")
                    else "unreachable",
                    "reason": c.facts.get("reason") or c.detail,
                }
                for c in http
                if c.name.startswith("component ")
            }
        components = primary["components"]
        if components is not None and ROUTER in components:
            primary["router"] = {"name": ROUTER, **components[ROUTER]}
        else:
            primary["router"] = None
            if components is not None:
                # Not guessed from another component: said as unknown.
                self.absent["primary.router"] = f"no {ROUTER} component configured"
        primary["failing_components"] = (
            sorted(n for n, c in components.items() if c["status"] in ("unhealthy", "unreachable"))
            if components is not None
            else None
        )
        primary["api"] = self._api()
        if "primary.ecs" in results:
            check, svc = results["primary.ecs"]
            self.checks.append(check)
            primary["ecs"] = self._ecs(check, svc)
        else:
            primary["ecs"] = None
        if "primary.targets" in results:
            check = results["primary.targets"]
            self.checks.append(check)
            primary["targets"] = {
                "status": check.status,
                "detail": check.detail,
                "healthy": check.facts.get("healthy"),
                "total": check.facts.get("total"),
            }
        elif "primary.targets" not in self.unknown:
            primary["targets"] = None
            self.absent["primary.targets"] = "no target_group_arn configured"
        else:
            primary["targets"] = None
        if main is None:
            primary["down"] = None
        else:
            every = components.values() if components else []
            primary["down"] = main.status == "fail" and all(
                c["status"] in ("unhealthy", "unreachable") for c in every
            )
        return primary

    def _api(self) -> str:
        """ok, or how reading the primary region's ECS failed: unreachable, denied or error."""
        error = self.errors.get("primary.ecs")
        if error is None:
            return "ok"
        from hybridops.health.access import access_error

        if access_error(error, self.settings.profile) is not None:
            return "denied"
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import ReadTimeoutError

        if isinstance(error, (BotoConnectionError, ReadTimeoutError)):
            return "unreachable"
        status = getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        return "unreachable" if isinstance(status, int) and status >= 500 else "error"

    def _ecs(self, check: Check, svc: dict[str, Any]) -> dict[str, Any]:
        deployments = svc.get("deployments", [])
        current = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
        if current is None and deployments:
            current = deployments[0]
        failures = FailureEvents.of(svc, current, self.now) if svc else None
        cap = self.settings.limits.max_desired_count
        desired = int(svc.get("desiredCount", 0)) if svc else None
        return {
            "status": check.status,
            "detail": check.detail,
            "desired": desired,
            "running": int(svc.get("runningCount", 0)) if svc else None,
            "revision": _revision(svc.get("taskDefinition")) if svc else None,
            "rollout": (current or {}).get("rolloutState"),
            "deployments": [
                {
                    "id": d.get("id"),
                    "status": d.get("status"),
                    "rollout": d.get("rolloutState"),
                    "revision": _revision(d.get("taskDefinition")),
                    "age_s": _age(self.now, d.get("createdAt")),
                }
                for d in deployments
            ],
            "failure_events": len(failures.counted) if failures else 0,
            "latest_failure": clean(failures.counted[0]) if failures and failures.counted else None,
            "max_desired": cap,
            "at_cap": desired is not None and desired >= cap,
            # The report's scale-up step, bounded by the cap: a command the gate accepts.
            "scale_up_to": min(desired + self.settings.scaling.ecs_step, cap)
            if desired is not None
            else None,
            "_current": current,
        }

    def _deploys(self, results: dict[str, Any], primary: dict[str, Any]) -> dict[str, Any] | None:
        ecs = primary.get("ecs")
        if ecs is None:
            self.unknown.setdefault("deploys", self.unknown.get("primary.ecs", "ECS unread"))
            return None
        current = ecs.pop("_current", None) or {}
        self.current_arn = str(current.get("taskDefinition") or "") or None
        revision = _revision(current.get("taskDefinition")) if current else ecs["revision"]
        age = _age(self.now, current.get("createdAt"))
        from hybridops.health.verdict import _ago, _events

        try:
            from hybridops.aws.ecs import family_and_revision

            arn = str(current.get("taskDefinition") or "")
            family = family_and_revision(arn)[0] if arn else None
            known = (
                sorted({_revision(a) for a in self.store.known_good(family)}, key=_number)
                if family
                else []
            )
        except Exception as exc:  # the store is evidence too, but not worth failing triage
            known = []
            self.unknown["deploys.known_good"] = _why(exc, None)
        others = [d["revision"] for d in ecs["deployments"] if d["id"] != current.get("id")]
        # What runs now replaced something older: a new revision. A restart (the same
        # revision) or a rollback (an older one replacing a newer) is not a deploy to undo.
        new_revision: bool | None
        if others:
            new_revision = all(_number(o) < _number(revision) for o in others)
        elif not current:
            new_revision = False
        elif known and "deploys.known_good" not in self.unknown:
            # Alone: new if it is newer than every revision seen healthy here.
            new_revision = revision not in known and _number(revision) > _number(known[-1])
        else:
            new_revision = None  # nothing recorded on this machine to compare with
        router = primary.get("router") or {}
        failure = None
        if ecs["rollout"] == "FAILED":
            failure = f"rollout of {revision} FAILED"
        elif ecs["failure_events"]:
            failure = f"{_events(ecs['failure_events'])}, latest: {ecs['latest_failure']}"
        elif ecs["rollout"] == "IN_PROGRESS" and router.get("status") in (
            "unhealthy",
            "unreachable",
        ):
            failure = f"rollout IN_PROGRESS while {router.get('name')} is {router.get('status')}"
        failing: bool | None = bool(failure) and bool(new_revision)
        if failure and new_revision is None:
            # Something fails, but whether it is a deploy to undo cannot be told here.
            failing = None
            why = (
                f"{revision} fails ({failure}), but whether it is a new revision is unknown:"
                " no known-good revision recorded on this machine (health and triage record"
                " one when green)"
            )
            self.unknown["deploys.new_revision"] = why
            self.unknown["deploys.failing"] = why
        if not failing and new_revision and ecs["rollout"] == "IN_PROGRESS" and not router:
            self.unknown["deploys.failing"] = (
                "a rollout is in progress and the router's health could not be read"
            )
        # The revision a rollback returns to: known-good and older, else the older one this
        # deployment replaces; never a newer one (that would undo a rollback).
        older = [r for r in known if _number(r) < _number(revision)]
        previous = (older[-1] if older else None) or next(
            (o for o in others if _number(o) < _number(revision)), None
        )
        return {
            "current": revision,
            "deployment": current.get("id"),
            "age_s": age,
            "age": _ago(self.now, self.now - dt.timedelta(seconds=age)).removesuffix(" ago")
            if age is not None
            else None,
            "fresh": age is not None and age <= FRESH_WINDOW_S,
            "fresh_window_s": FRESH_WINDOW_S,
            "new_revision": new_revision,
            "rolling_out": ecs["rollout"] == "IN_PROGRESS",
            "failing": failing,
            "failure": failure,
            "previous": previous,
            "known_good": known,
            "current_known_good": revision in known,
        }

    def _backup_endpoint(self) -> dict[str, Any]:
        """What the backup side's /health answered (read with the primary's probes)."""
        answer = self.backup_probe
        if answer is None:
            return {
                "reachable": False,
                "code": None,
                "status": None,
                "reason": "no secondary_health_url configured",
            }
        return {
            "reachable": bool(answer.facts.get("reachable", False)),
            "code": answer.facts.get("code"),
            "status": answer.facts.get("reported") or None,
            "reason": answer.facts.get("reason")
            or (None if answer.facts else clean(answer.detail)),
        }

    def _secondary(
        self, results: dict[str, Any], route53: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        s = self.settings
        if "secondary" not in results:
            return None
        side = dict(results["secondary"], region=s.secondary_region)
        side["endpoint"] = self._backup_endpoint()
        serving_secondary = (route53 or {}).get("serving") == "secondary"
        side["standby"] = side["desired"] == 0 and not serving_secondary
        endpoint = side["endpoint"]
        reason = str(endpoint.get("reason") or "")
        healthy = endpoint.get("code") == 200 and endpoint.get("status") in (
            "healthy",
            "degraded",
            "ok",
        )
        if not side["service_found"]:
            able, why = False, f"ECS service {s.backup_service} not found in {s.backup_cluster}"
        elif not endpoint["reachable"]:
            able, why = False, f"its health endpoint does not answer ({reason or 'no answer'})"
        elif side["running"] > 0 and healthy:
            able, why = True, f"{side['running']} tasks running, /health {endpoint['status']}"
        elif side["running"] > 0:
            able, why = (
                False,
                f"{side['running']} tasks running but /health says {reason or endpoint['code']}",
            )
        elif healthy or not _names_fault(reason):
            able, why = True, "cold standby (desired 0): failover warms it and verifies it first"
        else:
            able, why = False, f"its /health names a fault: {reason}"
        side["able_to_serve"] = able
        side["why"] = why
        return side

    def _lambda(self, results: dict[str, Any]) -> dict[str, Any] | None:
        found = results.get("lambda")
        if found is None:
            return None
        provisioned = results.get("lambda.provisioned")
        cap = found["max_provisioned"]
        step = self.settings.scaling.lambda_step
        return {
            **found,
            "provisioned": provisioned,
            "at_cap": None if provisioned is None else provisioned >= cap,
            "scale_up_to": None if provisioned is None else min(provisioned + step, cap),
        }


def _number(revision: str | None) -> int:
    """`hybrid-router:12` -> 12 (revisions sort as numbers, not text); -1 when unknown."""
    tail = str(revision or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _count(value: float) -> float | int:
    """A sum of counts: 50 rather than 50.0."""
    return int(value) if float(value).is_integer() else round(value, 1)


def _absent_cluster_is_no_service(ecs: Any, kwargs: dict[str, Any]) -> Any:
    """describe_services, where a missing cluster is an answer (no service), not unknown."""
    try:
        return ecs.describe_services(**kwargs)
    except Exception as exc:
        if aws_error_code(exc) == "ClusterNotFoundException":
            return {"services": [], "failures": [{"reason": "MISSING"}]}
        raise


def _unreadable(exc: BaseException, profile: str | None) -> bool:
    """Credentials, permissions to read, or no network: the answer is unknown, not a fault."""
    from botocore.exceptions import ConnectionError as BotoConnectionError

    from hybridops.health.access import access_error

    return access_error(exc, profile) is not None or isinstance(exc, BotoConnectionError)


def _names_fault(reason: str | None) -> bool:
    """A backup's /health reason that names a fault, not only a cold standby's lack of tasks."""
    if not reason:
        return False
    return not any(word in str(reason).lower() for word in COLD_REASONS)


def _expression_metric(metrics: list[dict[str, Any]]) -> str | None:
    """The metric of a metric-math alarm: its first returned stat's metric."""
    for item in metrics:
        stat = item.get("MetricStat")
        if stat:
            return str(stat["Metric"].get("MetricName"))
    return None
