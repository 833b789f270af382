"""hybridops' `ecs.wait_deployment` as an SSM `aws:executeScript` handler (Python 3.8+, boto3).

Wait truthfully until the deployment of task_definition is the one COMPLETED deployment with
every task running; fail if the ECS circuit breaker failed it or it was rolled back; time out
after timeout_s, polling every interval_s.

InputPayload: the action's inputs (cluster, service, task_definition; region, default primary;
timeout_s, default 600; interval_s, default 5) and the environment's settings hybridops' AWS
clients use: primary_region, secondary_region (to resolve region: primary|secondary), and
optionally aws_max_attempts (default 5) and aws_read_timeout_s (default 30).
Returns {"stable", "rollout_state", "deployment_id", "events", "duration_s"}, as hybridops does.
SSM stops any aws:executeScript step after 600 s, whatever timeout_s says.
"""

from __future__ import annotations

import time
from typing import Any

from ._shared import (  # script_for() writes these definitions in here
    REQUIRED,
    TimedOut,
    _client,
    _inputs,
    _region,
    describe_service,
)

ACTION = "ecs.wait_deployment"


class StepFailed(Exception):
    """The deployment failed or was rolled back (hybridops: exit 1)."""


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "cluster": ("str", REQUIRED, {}),
    "service": ("str", REQUIRED, {}),
    "region": ("str", "primary", {}),
    "task_definition": ("str", REQUIRED, {}),
    "timeout_s": ("float", 600, {"gt": 0}),
    "interval_s": ("float", 5, {"ge": 0}),
}


# -- AWS clients, as hybridops builds its own ------------------------------------------------


# -- the action ------------------------------------------------------------------------------


def wait_for_deployment(
    ecs: Any, cluster: str, service: str, task_definition: str, timeout_s: float, interval_s: float
) -> dict[str, Any]:
    """Wait truthfully: stable, failed (circuit breaker / rolled back), or timed out."""
    started = time.monotonic()
    seen_events: set[str] = set()
    events: list[str] = []
    deadline = started + timeout_s
    ours: str | None = None
    while True:
        svc = describe_service(ecs, cluster, service)
        for event in reversed(svc.get("events", [])[:20]):
            if event["id"] not in seen_events:
                seen_events.add(event["id"])
                events.append(event["message"])
        deployments = svc.get("deployments", [])
        mine = [d for d in deployments if d.get("taskDefinition") == task_definition]
        if ours is None and mine:
            ours = mine[0]["id"]
        tracked = next((d for d in deployments if d["id"] == ours), None)
        if tracked is not None and tracked.get("rolloutState") == "FAILED":
            raise StepFailed(
                f"deployment {ours} failed: {tracked.get('rolloutStateReason', 'FAILED')}"
                " (the ECS circuit breaker rolled it back)"
            )
        if ours is not None and tracked is None and svc["taskDefinition"] != task_definition:
            raise StepFailed(
                f"deployment {ours} was rolled back to {svc['taskDefinition'].rsplit('/', 1)[-1]}"
            )
        primary = deployments[0] if deployments else {}
        if (
            primary.get("taskDefinition") == task_definition
            and primary.get("rolloutState") == "COMPLETED"
            and len(deployments) == 1
            and svc.get("runningCount") == svc.get("desiredCount")
        ):
            return {
                "stable": True,
                "rollout_state": "COMPLETED",
                "deployment_id": primary.get("id"),
                "events": events[-10:],
                "duration_s": round(time.monotonic() - started, 3),
            }
        print(
            f"{primary.get('rolloutState', '?')} running {svc.get('runningCount')}/"
            f"{svc.get('desiredCount')}" + (f" — {events[-1]}" if events else ""),
            flush=True,
        )
        if time.monotonic() + interval_s > deadline:
            raise TimedOut(
                f"service {service} not stable after {timeout_s:.3g}s"
                f" (rollout {primary.get('rolloutState')}, running {svc.get('runningCount')}/"
                f"{svc.get('desiredCount')})"
            )
        time.sleep(interval_s)


def handler(events: Any, context: Any) -> dict[str, Any]:
    """The SSM entry point: the step's InputPayload in, the action's outputs back."""
    inputs = _inputs(events)
    ecs = _client(events, "ecs", _region(events, inputs["region"]))
    return wait_for_deployment(
        ecs,
        inputs["cluster"],
        inputs["service"],
        inputs["task_definition"],
        inputs["timeout_s"],
        inputs["interval_s"],
    )
