"""hybridops' `ecs.wait_stable` as an SSM `aws:executeScript` handler (Python 3.8+, boto3).

Wait until running == desired (== `desired` if given) with one COMPLETED deployment: polled
after 0.5 s at first (a scale-out often settles in seconds), the delay doubling up to
interval_s; timed out after timeout_s.

InputPayload: the action's inputs (cluster, service; region, default primary; desired;
timeout_s, default 600; interval_s, default 5) and the environment's settings hybridops' AWS
clients use: primary_region, secondary_region (to resolve region: primary|secondary), and
optionally aws_max_attempts (default 5) and aws_read_timeout_s (default 30).
Returns {"running", "desired", "duration_s"}, as hybridops does.
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

ACTION = "ecs.wait_stable"


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "cluster": ("str", REQUIRED, {}),
    "service": ("str", REQUIRED, {}),
    "region": ("str", "primary", {}),
    "desired": ("int?", None, {}),
    "timeout_s": ("float", 600, {"gt": 0}),
    "interval_s": ("float", 5, {"ge": 0}),
}


# -- AWS clients, as hybridops builds its own ------------------------------------------------


# -- the action ------------------------------------------------------------------------------


def unsettled(svc: dict[str, Any], want: int) -> str:
    """What keeps the service from being stable: the progress line and the timeout's reason."""
    deployments = svc.get("deployments", [])
    parts = [f"running {svc['runningCount']}/{want}"]
    if svc["desiredCount"] != want:
        parts.append(f"desired {svc['desiredCount']}")
    if len(deployments) != 1:
        parts.append(f"{len(deployments)} deployments")
    rollout = deployments[0].get("rolloutState") if deployments else None
    if rollout not in (None, "COMPLETED"):
        parts.append(f"rollout {rollout}")
    return ", ".join(parts)


def wait_stable(
    ecs: Any,
    cluster: str,
    service: str,
    desired: int | None,
    timeout_s: float,
    interval_s: float,
) -> dict[str, Any]:
    """Wait until running == desired (== `desired` if given) with one COMPLETED deployment."""
    started = time.monotonic()
    delay = min(0.5, interval_s)
    while True:
        svc = describe_service(ecs, cluster, service)
        deployments = svc.get("deployments", [])
        want = svc["desiredCount"] if desired is None else desired
        if (
            svc["desiredCount"] == want
            and svc["runningCount"] == want
            and len(deployments) == 1
            and deployments[0].get("rolloutState") in (None, "COMPLETED")
        ):
            return {
                "running": svc["runningCount"],
                "desired": want,
                "duration_s": round(time.monotonic() - started, 3),
            }
        detail = unsettled(svc, want)
        print(detail, flush=True)
        if time.monotonic() + delay > started + timeout_s:
            raise TimedOut(f"service {service} not stable after {timeout_s:.3g}s ({detail})")
        time.sleep(delay)
        # Poll fast first (a scale-out often settles in seconds), then back off to interval_s.
        delay = min(interval_s, delay * 2)


def handler(events: Any, context: Any) -> dict[str, Any]:
    """The SSM entry point: the step's InputPayload in, the action's outputs back."""
    inputs = _inputs(events)
    ecs = _client(events, "ecs", _region(events, inputs["region"]))
    return wait_stable(
        ecs,
        inputs["cluster"],
        inputs["service"],
        inputs["desired"],
        inputs["timeout_s"],
        inputs["interval_s"],
    )
