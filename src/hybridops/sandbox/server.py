"""The sandbox process: moto behind the overlay, the controller, two health endpoints."""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from hybridops.sandbox.controller import Controller, service_key
from hybridops.sandbox.health import HealthServer
from hybridops.sandbox.overlay import Overlay, request_label
from hybridops.sandbox.topology import (
    ACCOUNT,
    ALARMS,
    BACKUP_CLUSTER,
    CLUSTER,
    FUNCTION,
    LOG_GROUPS,
    PRIMARY,
    RECORD,
    SECONDARY,
    SERVICE,
    Estate,
    log_event,
    seed,
)

__all__ = ["COMPONENTS", "Sandbox", "request_label"]

# ECS requests that change what the controller converges.
ECS_CHANGES = ("UpdateService", "CreateService", "DeleteService")
# Reads of what the controller converges (services, their deployments, targets).
CONVERGED_READS = ("DescribeServices", "ListServices", "DescribeTargetHealth")
COMPONENTS = ["hybrid-router", "bedrock-client", "cache", "database"]
CIRCUIT_PARAMETER = "/hybrid-routing/circuit-breaker/bedrock"
_RANK = {"healthy": 0, "degraded": 1, "unhealthy": 2}


def _moto_server(host: str, port: int, make_app: Callable[[Any], Overlay]) -> Any:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    class OverlayMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = make_app(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True)
            self._server_ready_event.set()
            self._server.serve_forever()

    return OverlayMotoServer(ip_address=host, port=port, verbose=False)


class Sandbox:
    """The whole simulated estate in this process."""

    def __init__(self, *, rollout_s: float = 3.0, log_hours: int = 24) -> None:
        self.rollout_s = rollout_s
        self.log_hours = log_hours
        self.scenario: str | None = None
        self.faults: set[str] = set()
        self.estate: Estate | None = None
        self.controller = Controller(self, rollout_s=rollout_s)
        self.overlay: Overlay | None = None
        self._moto: Any = None
        self.primary_health: HealthServer | None = None
        self.public_health: HealthServer | None = None
        self.secondary_health: HealthServer | None = None
        self.record_path: Path | None = None
        # A reset and a break, one at a time: a break during a reset met a half-seeded estate,
        # and a reset during a break left the scenario said without its fault.
        self._estate_lock = threading.Lock()
        # What hybridops asked of the estate since the last reset: (epoch seconds, request).
        self.first_operator_request: tuple[float, str] | None = None
        self.latest_operator_request: tuple[float, str] | None = None
        self.operator_request_count = 0
        self._requests_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        """The AWS endpoint of the sandbox."""
        host, port = self._moto.get_host_and_port()
        return f"http://{host}:{port}"

    def _make_overlay(self, app: Any) -> Overlay:
        self.overlay = Overlay(app, self)
        return self.overlay

    def start(self) -> Sandbox:
        """Start moto, seed the estate, start the controller and health endpoints."""
        from hybridops.sandbox import require_moto

        require_moto()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, "testing")
        # The estate runs no instances: without this, every EC2 backend (two per reset) loads
        # moto's ~1,300 public AMIs with a volume and a snapshot each, half of a reset's CPU.
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        self._moto = _moto_server("127.0.0.1", 0, self._make_overlay)
        self._moto.start()
        self.estate = seed(self.endpoint_url, log_hours=self.log_hours)
        self.controller.start()
        assert self.overlay is not None
        # Real ECS shows the new deployment as soon as UpdateService returns.
        self.overlay.after_request = self._after_request
        # A background tick between moto's update and _after_request would start the rollout
        # itself, then _after_request a second one of the same revision (neither stuck nor
        # replacing the old one): the controller waits for the whole request instead.
        self.overlay.held_for = self._held_for
        self.primary_health = HealthServer(
            lambda c: self.health_status(PRIMARY, c),
            on_request=lambda path, agent: self.note_request(f"GET {path} ({PRIMARY})", agent),
        )
        self.secondary_health = HealthServer(
            lambda c: self.health_status(SECONDARY, c),
            on_request=lambda path, agent: self.note_request(f"GET {path} ({SECONDARY})", agent),
        )
        # The public name: answered by whichever region Route 53 sends traffic to.
        self.public_health = HealthServer(
            lambda c: self.health_status(self.public_region(), c),
            on_request=lambda path, agent: self.note_request(f"GET {path} (public name)", agent),
        )
        self.primary_health.start()
        self.secondary_health.start()
        self.public_health.start()
        return self

    def _held_for(self, label: str) -> AbstractContextManager[Any]:
        # Reads too: a tick changes a service's fields one after another (a rollback sets the
        # task definition before its deployments), and a describe must not see half of it.
        return (
            self.controller.lock
            if label in ECS_CHANGES or label in CONVERGED_READS
            else nullcontext()
        )

    def _after_request(self, label: str, region: str, body: bytes, status: int) -> None:
        if label not in ECS_CHANGES or not 200 <= status < 300:
            return  # a refused request changed nothing: no deployment starts
        if label == "UpdateService":
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                request = {}
            # ECS starts a new deployment for any task definition update, even to the same one.
            if request.get("taskDefinition") and not request.get("forceNewDeployment"):
                cluster = str(request.get("cluster", "default")).rsplit("/", 1)[-1]
                service = str(request.get("service", "")).rsplit("/", 1)[-1]
                self.controller.redeploy(service_key(region, cluster, service))
        self.controller.tick()

    def note_request(self, request: str, user_agent: str) -> None:
        """Remember a request hybridops made (any command: a drill's time to detect)."""
        if "hybridops/" not in user_agent:
            return  # the sandbox's own clients, curl, the aws CLI: not the engineer's hybridops
        now = time.time()
        with self._requests_lock:
            self.latest_operator_request = (now, request)
            self.operator_request_count += 1
            if self.first_operator_request is None:
                self.first_operator_request = (now, request)

    def stop(self) -> None:
        """Stop everything."""
        for server in (self.primary_health, self.secondary_health, self.public_health):
            if server is not None:
                server.stop()
        self.controller.stop()
        if self._moto is not None:
            self._moto.stop()

    def internal_client(self, service: str, region: str = PRIMARY) -> Any:
        """A boto3 client for the sandbox's own use (not counted as operator traffic)."""
        import boto3

        client = boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

        def mark(request: Any, **_: Any) -> None:
            request.headers["X-Hybridops-Internal"] = "1"

        client.meta.events.register("before-sign", mark)
        return client

    # -- scenarios ------------------------------------------------------------------------
    def break_(self, name: str) -> None:
        """Inject a scenario by name (KeyError naming the known ones if unknown)."""
        from hybridops.sandbox.scenarios import SCENARIOS

        scenario = SCENARIOS.get(name)
        if scenario is None:
            raise KeyError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")
        with self._estate_lock:
            scenario.inject(self)
            # Its symptoms show at once, as in production: the next command sees them.
            self.controller.tick()
            self.controller.emit_logs()
            # Said last: whoever waits for the scenario (drills, tests) finds its symptoms there.
            self.scenario = name
            self._rewrite_record()

    def reset(self) -> None:
        """Back to the seeded estate: no scenario, fresh moto state."""
        with self._estate_lock:
            from moto.moto_api._internal.models import moto_api_backend

            # Seeding goes through the server, whose request threads tick the controller:
            # pause it rather than hold its lock, or the two would wait on each other.
            self.controller.pause()
            try:
                with self.controller.lock:
                    moto_api_backend.reset()
                    self.controller.forget()
                    self.faults.clear()
                    self.scenario = None
                    with self._requests_lock:
                        self.latest_operator_request = None
                        self.first_operator_request = None
                        self.operator_request_count = 0
                    if self.overlay is not None:
                        with self.overlay.lock:  # the lock its writers hold
                            self.overlay.provisioned.clear()
                self.estate = seed(self.endpoint_url, log_hours=1)
            finally:
                self.controller.resume()
            self.controller.tick()
        self._rewrite_record()

    def circuit_open(self) -> bool:
        """Whether the Bedrock circuit breaker (SSM parameter) is open."""
        from moto.ssm.models import ssm_backends

        try:
            parameter = ssm_backends[ACCOUNT][PRIMARY].get_parameter(CIRCUIT_PARAMETER)
        except Exception:
            return False
        return parameter is not None and str(parameter.value).lower() == "open"

    def public_region(self) -> str:
        """The region behind the public name; `dns-stale` keeps resolvers on the primary."""
        if "dns-stale" in self.faults:
            return PRIMARY
        return self.serving_region()

    def serving_region(self) -> str:
        """Where Route 53 sends the public name: a simple record's value, else the failover pair."""
        if self.estate is not None:
            try:
                records = self.internal_client("route53").list_resource_record_sets(
                    HostedZoneId=self.estate.hosted_zone_id, StartRecordName=RECORD
                )["ResourceRecordSets"]
            except Exception:
                records = []
            for record in records:
                if record["Name"].rstrip(".") == RECORD and "Failover" not in record:
                    values = [v["Value"] for v in record.get("ResourceRecords", [])]
                    if self.estate.alb_dns[SECONDARY] in values:
                        return SECONDARY
                    return PRIMARY
        return SECONDARY if self.primary_check_inverted() else PRIMARY

    def primary_check_inverted(self) -> bool:
        """Whether the PRIMARY record's health check is inverted (traffic on the backup)."""
        from moto.route53.models import route53_backends

        if self.estate is None:
            return False
        check_id = self.estate.health_checks.get("primary")
        if check_id is None:
            return False
        try:
            check = route53_backends[ACCOUNT]["aws"].get_health_check(check_id)
        except Exception:
            return False
        return bool(getattr(check, "inverted", False))

    def lambda_ready(self) -> int:
        """READY provisioned concurrency on the live alias."""
        return self.overlay.provisioned_ready(PRIMARY, FUNCTION, "live") if self.overlay else 0

    # -- what the estate reports ----------------------------------------------------------------
    def component_status(self, region: str, component: str) -> tuple[str, str | None]:
        """(healthy|degraded|unhealthy, reason) of one component of a region."""
        with self.controller.lock:
            problem = self.controller.region_problem(region)
            service = self.controller.service(region)
        if problem and (
            component == "hybrid-router" or problem in ("region unavailable", "service not found")
        ):
            return "unhealthy", problem
        if problem and problem == "no running tasks":
            return "unhealthy", problem
        if region != PRIMARY:
            return "healthy", None
        if component == "bedrock-client" and "bedrock-down" in self.faults:
            if self.circuit_open():
                return "degraded", "circuit open: requests served by local models"
            return "unhealthy", "Bedrock calls fail (ServiceUnavailable)"
        if component == "hybrid-router":
            if "latency-spike" in self.faults and (service is None or service.desired_count < 4):
                return "degraded", "P95 response time 2600 ms (SLO 2000 ms)"
            if "lambda-throttle" in self.faults and self.lambda_ready() < 50:
                return "degraded", "Lambda throttled: Rate exceeded"
        return "healthy", None

    def health_status(self, region: str, component: str | None) -> tuple[int, dict[str, Any]]:
        """What the health endpoint of a region answers."""
        if component is not None:
            if component not in COMPONENTS:
                return 404, {"status": "unknown", "error": f"no component {component}"}
            status, reason = self.component_status(region, component)
            body: dict[str, Any] = {"status": status, "region": region, "component": component}
            if reason:
                body["reason"] = reason
            return (503 if status == "unhealthy" else 200), body
        components = {name: self.component_status(region, name) for name in COMPONENTS}
        worst = max((s for s, _ in components.values()), key=_RANK.__getitem__)
        body = {
            "status": worst,
            "region": region,
            "components": {n: s for n, (s, _) in components.items()},
        }
        reasons = sorted({r for _, r in components.values() if r})
        if reasons:
            body["reason"] = "; ".join(reasons)
        return (503 if worst == "unhealthy" else 200), body

    def alarm_states(self) -> dict[str, str]:
        """The state each seeded alarm should be in."""
        router, _ = self.component_status(PRIMARY, "hybrid-router")
        latency = "latency-spike" in self.faults and router != "healthy"
        errors = router == "unhealthy"
        return {
            "hybrid-router-cpu-high": "ALARM" if latency else "OK",
            "hybrid-router-memory-high": "OK",
            "hybrid-router-p95-latency": "ALARM" if latency else "OK",
            "hybrid-router-5xx": "ALARM" if errors else "OK",
            "hybrid-router-lambda-throttles": "ALARM"
            if "lambda-throttle" in self.faults and self.lambda_ready() < 50
            else "OK",
        }

    def log_shape(self) -> Callable[[random.Random, int, str], dict[str, Any]]:
        """How the next log events look, given the scenario."""
        router, _ = self.component_status(PRIMARY, "hybrid-router")
        bedrock, _ = self.component_status(PRIMARY, "bedrock-client")
        faults = set(self.faults)

        def shape(rng: random.Random, when_ms: int, group: str) -> dict[str, Any]:
            if group == LOG_GROUPS[1] and "lambda-throttle" in faults and router != "healthy":
                return log_event(
                    rng,
                    when_ms,
                    status=429,
                    level="ERROR",
                    message="Rate exceeded: Lambda throttled",
                )
            if router == "unhealthy":
                return log_event(
                    rng,
                    when_ms,
                    status=500,
                    level="ERROR",
                    message="upstream error: health check failed",
                )
            if bedrock == "unhealthy" and rng.random() < 0.7:
                return log_event(
                    rng,
                    when_ms,
                    status=502,
                    level="ERROR",
                    message="bedrock invocation failed: ServiceUnavailableException",
                )
            if "latency-spike" in faults and router == "degraded":
                return log_event(
                    rng,
                    when_ms,
                    latency=round(rng.uniform(2100, 4200), 1),
                    level="WARN",
                    message="slow request",
                )
            return log_event(rng, when_ms)

        return shape

    def metric_data(self, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
        """One round of metrics per namespace, given the scenario."""
        import datetime as dt

        router, _ = self.component_status(PRIMARY, "hybrid-router")
        hot = "latency-spike" in self.faults and router == "degraded"
        # The backend is called directly: give it the datetime its own parser produces for the
        # seeded data (naive UTC). Mixing naive and aware datetimes makes moto's GetMetricData
        # fail with a 500, since it compares every stored datum with the window.
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        dims = [
            {"Name": "ClusterName", "Value": CLUSTER},
            {"Name": "ServiceName", "Value": SERVICE},
        ]
        alb = self.estate.albs[PRIMARY].split(":loadbalancer/")[-1] if self.estate else "alb"
        throttled = "lambda-throttle" in self.faults and self.lambda_ready() < 50
        return {
            "AWS/ECS": [
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": dims,
                    "Timestamp": now,
                    "Value": rng.uniform(78, 92) if hot else rng.uniform(25, 45),
                    "Unit": "Percent",
                },
                {
                    "MetricName": "MemoryUtilization",
                    "Dimensions": dims,
                    "Timestamp": now,
                    "Value": rng.uniform(40, 60),
                    "Unit": "Percent",
                },
            ],
            "AWS/ApplicationELB": [
                {
                    "MetricName": "TargetResponseTime",
                    "Dimensions": [{"Name": "LoadBalancer", "Value": alb}],
                    "Timestamp": now,
                    "Value": rng.uniform(2.2, 3.5) if hot else rng.uniform(0.12, 0.35),
                    "Unit": "Seconds",
                },
            ],
            "HybridRouting": [
                {
                    "MetricName": "QueueDepth",
                    "Dimensions": [{"Name": "Service", "Value": SERVICE}],
                    "Timestamp": now,
                    "Value": rng.uniform(120, 180) if hot else rng.uniform(5, 30),
                    "Unit": "Count",
                },
            ],
            "AWS/Lambda": [
                {
                    "MetricName": "Throttles",
                    "Dimensions": [{"Name": "FunctionName", "Value": FUNCTION}],
                    "Timestamp": now,
                    "Value": rng.uniform(40, 90) if throttled else 0.0,
                    "Unit": "Count",
                },
            ],
        }

    def state(self) -> dict[str, Any]:
        """A summary for `sandbox status` and the control API."""
        services = {}
        with self.controller.lock:
            for region in (PRIMARY, SECONDARY):
                service = self.controller.service(region)
                if service is not None:
                    services[region] = {
                        "task_definition": service.task_definition.rsplit("/", 1)[-1],
                        "desired": service.desired_count,
                        "running": service.running_count,
                        "rollout": (service.deployments or [{}])[0].get("rolloutState"),
                    }
        serving = self.serving_region()
        return {
            "scenario": self.scenario,
            "serving_region": serving,
            "faults": sorted(self.faults),
            "services": services,
            "health": {
                region: self.health_status(region, None)[1]["status"]
                for region in (PRIMARY, SECONDARY)
            },
            # Cold by design (desired 0, not serving): its health endpoint's 503 is no outage.
            "standby": sorted(
                region
                for region, info in services.items()
                if info["desired"] == 0 and region != serving
            ),
            "circuit_open": self.circuit_open(),
            "operator": self.operator_summary(),
        }

    def operator_summary(self) -> dict[str, Any]:
        """hybridops requests since the last reset: how many, the first and the latest."""
        import datetime as dt

        def moment(entry: tuple[float, str] | None) -> dict[str, Any] | None:
            if entry is None:
                return None
            at = dt.datetime.fromtimestamp(entry[0], dt.timezone.utc)
            return {"at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "request": entry[1]}

        with self._requests_lock:
            first = self.first_operator_request
            latest = self.latest_operator_request
            count = self.operator_request_count
        return {"requests": count, "first": moment(first), "latest": moment(latest)}

    # -- the record ---------------------------------------------------------------------------
    def environment(self) -> dict[str, Any]:
        """The `sandbox` environment settings (EnvironmentConfig fields)."""
        assert self.estate is not None
        assert self.primary_health is not None and self.secondary_health is not None
        return {
            "region": PRIMARY,
            "secondary_region": SECONDARY,
            "endpoint_url": self.endpoint_url,
            "cluster": CLUSTER,
            "service": SERVICE,
            "backup_cluster": BACKUP_CLUSTER,
            "backup_service": SERVICE,
            "target_group_arn": self.estate.target_groups[PRIMARY],
            # The ALB's CloudWatch dimension: the ARN's tail, app/NAME/ID.
            "load_balancer": self.estate.albs[PRIMARY].split(":loadbalancer/", 1)[-1],
            "secondary_target_group_arn": self.estate.target_groups[SECONDARY],
            "lambda_function": FUNCTION,
            "lambda_alias": "live",
            "log_groups": LOG_GROUPS,
            "health_url": self.primary_health.url,
            "public_url": self.public_health.url if self.public_health else None,
            "secondary_health_url": self.secondary_health.url,
            "hosted_zone_id": self.estate.hosted_zone_id,
            "record_name": RECORD,
            "primary_target": self.estate.alb_dns[PRIMARY],
            "secondary_target": self.estate.alb_dns[SECONDARY],
            "sandbox": True,
            # moto accepts Insights queries but ignores filter/stats: compute KPIs locally.
            "logs": {"insights": False},
            "bedrock": {"role_arn": self.estate.bedrock_role_arn},
            "circuits": {"bedrock": CIRCUIT_PARAMETER},
            "vars": {
                "circuit_parameter": CIRCUIT_PARAMETER,
                "sns_topic_arn": self.estate.topic_arn,
                "bedrock_role_arn": self.estate.bedrock_role_arn,
                "alarm_names": list(ALARMS),
            },
        }

    def record(self, pid: int) -> dict[str, Any]:
        """The JSON record a running sandbox leaves for `--env sandbox`."""
        env = self.environment()
        return {
            "pid": pid,
            "endpoint_url": env["endpoint_url"],
            "health_url": env["health_url"],
            "secondary_health_url": env["secondary_health_url"],
            "scenario": self.scenario,
            "environment": env,
        }

    def write_record(self, path: Path, pid: int) -> None:
        """Atomically write the record (and keep it current on break/reset)."""
        self.record_path = path
        self._record_pid = pid
        path.parent.mkdir(parents=True, exist_ok=True)
        # One temporary file per writer: two threads (a drill's break, a reset) sharing one
        # would move each other's half-written file into place.
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(self.record(pid), indent=2))
        os.replace(tmp, path)

    def _rewrite_record(self) -> None:
        if self.record_path is not None and self.record_path.exists():
            self.write_record(self.record_path, self._record_pid)
