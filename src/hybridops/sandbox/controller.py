"""Makes the moto estate behave: ECS rollouts progress, counts converge, events appear."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from hybridops.sandbox.topology import ACCOUNT, PRIMARY, SECONDARY


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class RolloutTracker:
    """What the controller last saw of one service."""

    task_definition: str
    deployment_id: str
    started: float = field(default_factory=time.monotonic)


class Controller:
    """A background thread converging the simulated estate every `tick_s` seconds."""

    def __init__(self, *, rollout_s: float = 3.0, tick_s: float = 0.2) -> None:
        self.rollout_s = rollout_s
        self.tick_s = tick_s
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-controller", daemon=True)
        self._seen: dict[str, RolloutTracker] = {}
        # Task definitions that fail health (scenarios set this).
        self.bad_task_definitions: set[str] = set()

    def start(self) -> None:
        """Run in the background."""
        self.tick()
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception:  # the sandbox must keep running whatever a tick meets
                import logging

                logging.getLogger("hybridops.sandbox").exception("controller tick failed")

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

    def tick(self) -> None:
        """One convergence step for every service."""
        with self.lock:
            for region, service in self.services():
                self._converge(region, service)

    def _event(self, service: Any, message: str) -> None:
        events = getattr(service, "events", None)
        if not isinstance(events, list):
            events = []
        events.insert(0, {"id": str(uuid.uuid4()), "createdAt": _now(), "message": message})
        service.events = events[:100]

    def _converge(self, region: str, service: Any) -> None:
        key = f"{region}:{service.cluster_name}:{service.name}"
        deployments = service.deployments
        if not deployments:
            return
        primary = deployments[0]
        tracker = self._seen.get(key)
        if tracker is None:
            # First sight: the seeded service is settled.
            primary.update(
                rolloutState="COMPLETED",
                runningCount=service.desired_count,
                pendingCount=0,
                desiredCount=service.desired_count,
                rolloutStateReason=f"ECS deployment {primary['id']} completed.",
            )
            service.running_count = service.desired_count
            service.pending_count = 0
            self._seen[key] = RolloutTracker(service.task_definition, primary["id"])
            self._event(service, f"(service {service.name}) has reached a steady state.")
            return
        if (
            service.task_definition != tracker.task_definition
            or primary["id"] != tracker.deployment_id
        ):
            self._start_rollout(service, tracker)
            return
        primary = service.deployments[0]
        desired = service.desired_count
        primary["desiredCount"] = desired
        if primary.get("rolloutState") == "IN_PROGRESS":
            elapsed = time.monotonic() - tracker.started
            if elapsed >= self.rollout_s:
                primary.update(
                    rolloutState="COMPLETED",
                    runningCount=desired,
                    pendingCount=0,
                    rolloutStateReason=f"ECS deployment {primary['id']} completed.",
                    updatedAt=_now(),
                )
                service.deployments = [primary]
                service.running_count = desired
                service.pending_count = 0
                self._event(service, f"(service {service.name}) has reached a steady state.")
            else:
                # Tasks of the new revision start over the rollout window.
                started = min(
                    desired, int(desired * elapsed / self.rollout_s) + (1 if desired else 0)
                )
                primary.update(runningCount=started, pendingCount=max(0, desired - started))
                service.running_count = desired
            return
        if service.running_count != desired:
            step = 1 if service.running_count < desired else -1
            service.running_count += step
            service.pending_count = max(0, desired - service.running_count)
            primary.update(runningCount=service.running_count, pendingCount=service.pending_count)
            if service.running_count == desired:
                self._event(service, f"(service {service.name}) has reached a steady state.")

    def _start_rollout(self, service: Any, tracker: RolloutTracker) -> None:
        old = dict(service.deployments[0])
        # A forced deployment already got a fresh id from moto; keep it, as ECS would.
        forced = old["id"] != tracker.deployment_id
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
            rolloutState="IN_PROGRESS",
            rolloutStateReason=f"ECS deployment {new_id} in progress.",
            createdAt=_now(),
            updatedAt=_now(),
        )
        service.deployments = [new, old]
        tracker.task_definition = service.task_definition
        tracker.deployment_id = new_id
        tracker.started = time.monotonic()
        self._event(
            service,
            f"(service {service.name}) has started 1 tasks: (deployment {new_id}).",
        )
