"""Makes the moto estate behave like the real one.

ECS rollouts progress (IN_PROGRESS -> COMPLETED, or FAILED and rolled back by the deployment
circuit breaker), counts converge, service events appear, target health follows the deployed
revision and the scenario, logs and metrics keep flowing, alarms follow the metrics.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hybridops.sandbox.topology import (
    ACCOUNT,
    BACKUP_CLUSTER,
    CLUSTER,
    LOG_GROUPS,
    PRIMARY,
    SECONDARY,
    SERVICE,
)

if TYPE_CHECKING:
    from hybridops.sandbox.server import Sandbox

log = logging.getLogger("hybridops.sandbox")


def service_key(region: str, cluster: str, service: str) -> str:
    """How the controller names one ECS service: `region:cluster:service`."""
    return f"{region}:{cluster}:{service}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class RolloutTracker:
    """What the controller last saw of one service."""

    task_definition: str
    deployment_id: str
    completed_task_definition: str
    started: float = field(default_factory=time.monotonic)
    last_failure_event: float = 0.0
    # A stuck rollout of a bad revision never trips the circuit breaker (scenario bad-deploy).
    stuck: bool = False


class Controller:
    """A background thread converging the simulated estate every `tick_s` seconds."""

    def __init__(
        self, sandbox: Sandbox | None = None, *, rollout_s: float = 3.0, tick_s: float = 0.2
    ) -> None:
        self.sandbox = sandbox
        self.rollout_s = rollout_s
        self.tick_s = tick_s
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-controller", daemon=True)
        self._seen: dict[str, RolloutTracker] = {}
        # Task definition ARNs that fail health checks.
        self.bad_task_definitions: set[str] = set()
        # The service (key) whose next rollout will be stuck (set by the bad-deploy scenario).
        self.stick_next_rollout: str | None = None
        self.rng = random.Random(11)
        self.log_every_s = 1.0
        self.metrics_every_s = 5.0
        self._last_logs = 0.0
        self._last_metrics = 0.0
        self._alarm_states: dict[str, str] = {}
        self.paused = False
        self._redeploy: set[str] = set()

    def redeploy(self, key: str) -> None:
        """A task definition update arrived for `region:cluster:service`: start a deployment."""
        with self.lock:
            self._redeploy.add(key)

    def pause(self) -> None:
        """Stand still: once this returns, no tick or emission is under way or will start."""
        # Taken under the lock: a tick (or emission) that began before waits to finish first,
        # and none that checked `paused` earlier can still run into the next moto state.
        with self.lock:
            self.paused = True

    def resume(self) -> None:
        """Converge again."""
        with self.lock:
            self.paused = False

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Run in the background."""
        self.tick()
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
        self._thread.join(timeout=5)

    def forget(self) -> None:
        """Drop what was learnt about the estate (after a reset)."""
        with self.lock:
            self._seen.clear()
            self.bad_task_definitions.clear()
            self.stick_next_rollout = None
            self._alarm_states.clear()
            self._redeploy.clear()  # asked of the estate that is gone

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
                now = time.monotonic()
                if now - self._last_logs >= self.log_every_s:
                    self._last_logs = now
                    self.emit_logs()
                if now - self._last_metrics >= self.metrics_every_s:
                    self._last_metrics = now
                    self.emit_metrics()
            except Exception:  # the sandbox must keep running whatever a tick meets
                log.exception("controller tick failed")

    # -- moto backends --------------------------------------------------------------------
    @staticmethod
    def ecs_backend(region: str) -> Any:
        """moto's ECS backend for a region."""
        from moto.ecs.models import ecs_backends

        return ecs_backends[ACCOUNT][region]

    def services(self) -> list[tuple[str, Any]]:
        """(region, service) for every ECS service of the estate."""
        out = []
        for region in (PRIMARY, SECONDARY):
            for service in list(self.ecs_backend(region).services.values()):
                out.append((region, service))
        return out

    def service(self, region: str) -> Any | None:
        """The hybrid router service of a region."""
        cluster = CLUSTER if region == PRIMARY else BACKUP_CLUSTER
        return self.ecs_backend(region).services.get(f"{cluster}:{SERVICE}")

    # -- the tick -------------------------------------------------------------------------
    def tick(self) -> None:
        """One convergence step for every service, then target health and alarms."""
        with self.lock:
            if self.paused:
                return
            for region, service in self.services():
                self._converge(region, service)
            self._sync_targets()
            self._sync_alarms()

    def _event(self, service: Any, message: str) -> None:
        events = getattr(service, "events", None)
        if not isinstance(events, list):
            events = []
        events.insert(0, {"id": str(uuid.uuid4()), "createdAt": _now(), "message": message})
        service.events = events[:100]

    def _settle(self, service: Any, deployment: dict[str, Any]) -> None:
        desired = service.desired_count
        deployment.update(
            status="PRIMARY",
            rolloutState="COMPLETED",
            runningCount=desired,
            pendingCount=0,
            desiredCount=desired,
            failedTasks=deployment.get("failedTasks", 0),
            rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
            updatedAt=_now(),
        )
        service.deployments = [deployment]
        service.running_count = desired
        service.pending_count = 0

    def _converge(self, region: str, service: Any) -> None:
        key = service_key(region, service.cluster_name, service.name)
        if not service.deployments:
            return
        primary = service.deployments[0]
        tracker = self._seen.get(key)
        if tracker is None:
            # First sight: the seeded service is settled.
            self._settle(service, primary)
            self._seen[key] = RolloutTracker(
                service.task_definition, primary["id"], service.task_definition
            )
            self._event(service, f"(service {service.name}) has reached a steady state.")
            return
        if key in self._redeploy:
            self._redeploy.discard(key)
            if (
                service.task_definition == tracker.task_definition
                and primary["id"] == tracker.deployment_id
            ):
                # The same revision again is still a new deployment.
                self._start_rollout(key, service, tracker, fresh=True)
                return
        if (
            service.task_definition != tracker.task_definition
            or primary["id"] != tracker.deployment_id
        ):
            self._start_rollout(key, service, tracker)
            return
        desired = service.desired_count
        primary["desiredCount"] = desired
        if primary.get("rolloutState") == "IN_PROGRESS":
            self._progress(service, tracker, primary)
            return
        if service.running_count != desired:
            step = 1 if service.running_count < desired else -1
            service.running_count += step
            service.pending_count = max(0, desired - service.running_count)
            primary.update(runningCount=service.running_count, pendingCount=service.pending_count)
            if service.running_count == desired:
                self._event(service, f"(service {service.name}) has reached a steady state.")

    def _progress(self, service: Any, tracker: RolloutTracker, primary: dict[str, Any]) -> None:
        desired = service.desired_count
        elapsed = time.monotonic() - tracker.started
        bad = primary["taskDefinition"] in self.bad_task_definitions
        if bad:
            primary.update(runningCount=0, pendingCount=desired)
            now = time.monotonic()
            if now - tracker.last_failure_event >= 1.0:
                tracker.last_failure_event = now
                primary["failedTasks"] = primary.get("failedTasks", 0) + 1
                self._event(
                    service,
                    f"(service {service.name}) (task {uuid.uuid4().hex[:12]}) failed container"
                    " health checks.",
                )
            if elapsed < self.rollout_s or tracker.stuck:
                return
            self._trip_circuit_breaker(service, tracker, primary)
            return
        if elapsed >= self.rollout_s:
            self._settle(service, primary)
            tracker.completed_task_definition = service.task_definition
            self._event(service, f"(service {service.name}) has reached a steady state.")
            return
        # Tasks of the new revision start over the rollout window.
        started = min(desired, int(desired * elapsed / self.rollout_s) + (1 if desired else 0))
        primary.update(runningCount=started, pendingCount=max(0, desired - started))

    def _trip_circuit_breaker(
        self, service: Any, tracker: RolloutTracker, failed: dict[str, Any]
    ) -> None:
        failed.update(
            status="ACTIVE",
            rolloutState="FAILED",
            rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.",
            updatedAt=_now(),
        )
        self._event(
            service,
            f"(service {service.name}) (deployment {failed['id']}) deployment failed:"
            " tasks failed to start.",
        )
        rollback_id = f"ecs-svc/{uuid.uuid4().int % 10**19}"
        target = tracker.completed_task_definition
        rollback = dict(failed)
        rollback.update(
            id=rollback_id,
            status="PRIMARY",
            taskDefinition=target,
            runningCount=0,
            pendingCount=service.desired_count,
            failedTasks=0,
            rolloutState="IN_PROGRESS",
            rolloutStateReason=f"ECS deployment {rollback_id} in progress.",
            createdAt=_now(),
            updatedAt=_now(),
        )
        service.task_definition = target
        service.deployments = [rollback, failed]
        tracker.task_definition = target
        tracker.deployment_id = rollback_id
        tracker.started = time.monotonic()
        tracker.stuck = False
        self._event(
            service,
            f"(service {service.name}) rolling back to deployment {rollback_id}"
            f" ({target.rsplit('/', 1)[-1]}).",
        )

    def _start_rollout(
        self, key: str, service: Any, tracker: RolloutTracker, *, fresh: bool = False
    ) -> None:
        old = dict(service.deployments[0])
        # A forced deployment already got a fresh id from moto; keep it, as ECS would.
        forced = not fresh and old["id"] != tracker.deployment_id
        new_id = old["id"] if forced else f"ecs-svc/{uuid.uuid4().int % 10**19}"
        if forced:
            old["id"] = tracker.deployment_id
        old.update(status="ACTIVE", updatedAt=_now())
        new = dict(old)
        new.update(
            id=new_id,
            status="PRIMARY",
            taskDefinition=service.task_definition,
            desiredCount=service.desired_count,
            runningCount=0,
            pendingCount=service.desired_count,
            failedTasks=0,
            rolloutState="IN_PROGRESS",
            rolloutStateReason=f"ECS deployment {new_id} in progress.",
            createdAt=_now(),
            updatedAt=_now(),
        )
        # Deployments that were still rolling out are superseded.
        service.deployments = [new, old]
        tracker.task_definition = service.task_definition
        tracker.deployment_id = new_id
        tracker.started = time.monotonic()
        tracker.last_failure_event = 0.0
        tracker.stuck = self.stick_next_rollout == key
        if tracker.stuck:
            self.stick_next_rollout = None
        self._event(service, f"(service {service.name}) has started tasks: (deployment {new_id}).")

    # -- health of the estate -------------------------------------------------------------------
    def region_problem(self, region: str) -> str | None:
        """Why the hybrid router of a region is unhealthy, or None."""
        faults = self.sandbox.faults if self.sandbox else set()
        if region == PRIMARY and "region-outage" in faults:
            return "region unavailable"
        if region != PRIMARY and "backup-broken" in faults:
            return "cache cluster unreachable from the backup region"
        service = self.service(region)
        if service is None:
            return "service not found"
        if service.running_count == 0 and service.desired_count == 0:
            return "no running tasks"
        deployments = service.deployments or []
        if (
            deployments
            and deployments[0]["taskDefinition"] in self.bad_task_definitions
            and deployments[0].get("rolloutState") != "COMPLETED"
        ):
            return f"deployment of {deployments[0]['taskDefinition'].rsplit('/', 1)[-1]} fails health checks"
        if service.running_count == 0:
            return "no running tasks"
        return None

    def _sync_targets(self) -> None:
        """Target health follows the region's state (moto's targets are always healthy)."""
        from moto.elbv2.models import FakeHealthStatus, elbv2_backends

        for region in (PRIMARY, SECONDARY):
            backend = elbv2_backends[ACCOUNT][region]
            service = self.service(region)
            for tg in list(backend.target_groups.values()):
                if region == SECONDARY and service is not None:
                    # Backup tasks register as they start.
                    wanted = {f"10.1.{i + 1}.10" for i in range(service.running_count)}
                    for target_id in list(tg.targets):
                        if target_id not in wanted:
                            del tg.targets[target_id]
                    for target_id in sorted(wanted - set(tg.targets)):
                        tg.targets[target_id] = {"Id": target_id, "Port": 8080}
                if getattr(tg, "_hybridops_health", False):
                    continue

                def health_for(
                    target: dict[str, Any], ec2: Any, _tg: Any = tg, _region: str = region
                ) -> Any:
                    port = target.get("Port", _tg.port)
                    if target["Id"] not in _tg.targets:
                        return FakeHealthStatus(
                            target["Id"],
                            port,
                            None,
                            "unused",
                            "Target.NotRegistered",
                            "Target is not registered to the target group",
                        )
                    problem = self.region_problem(_region)
                    if problem:
                        return FakeHealthStatus(
                            target["Id"],
                            port,
                            None,
                            "unhealthy",
                            "Target.FailedHealthChecks",
                            f"Health checks failed: {problem}",
                        )
                    return FakeHealthStatus(target["Id"], port, None, "healthy")

                # moto's targets are always healthy: answer for this target group instead.
                setattr(tg, "health_for", health_for)  # noqa: B010
                setattr(tg, "_hybridops_health", True)  # noqa: B010

    def _sync_alarms(self) -> None:
        """Alarms follow the scenario, as CloudWatch would follow the metrics."""
        if self.sandbox is None:
            return
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends[ACCOUNT][PRIMARY]
        wanted = self.sandbox.alarm_states()
        for name, state in wanted.items():
            if self._alarm_states.get(name) == state or name not in backend.alarms:
                continue
            backend.set_alarm_state(name, f"sandbox: {state}", json.dumps({"sandbox": True}), state)
            self._alarm_states[name] = state

    # -- telemetry ------------------------------------------------------------------------
    def emit_logs(self) -> None:
        """A few structured log events per group, shaped by the active scenario."""
        with self.lock:
            if self.sandbox is not None and not self.paused:
                self._emit_logs()

    def _emit_logs(self) -> None:
        assert self.sandbox is not None
        from moto.logs.models import logs_backends

        backend = logs_backends[ACCOUNT][PRIMARY]
        now_ms = int(time.time() * 1000)
        shape = self.sandbox.log_shape()
        for group, stream, count in (
            (LOG_GROUPS[0], "ecs/hybrid-router/task-a1", 4),
            (LOG_GROUPS[1], "2026/11/29/[$LATEST]seed", 2),
        ):
            events = [shape(self.rng, now_ms - (count - i), group) for i in range(count)]
            try:
                backend.put_log_events(group, stream, events)
            except Exception:  # a group deleted by the operator is their business
                log.debug("log emission to %s failed", group, exc_info=True)

    def emit_metrics(self) -> None:
        """CPU, memory, response time, queue depth and Lambda throttles, per the scenario."""
        with self.lock:
            if self.sandbox is not None and not self.paused:
                self._emit_metrics()

    def _emit_metrics(self) -> None:
        assert self.sandbox is not None
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends[ACCOUNT][PRIMARY]
        for namespace, data in self.sandbox.metric_data(self.rng).items():
            backend.put_metric_data(namespace, data)
