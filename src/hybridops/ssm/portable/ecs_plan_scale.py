"""hybridops' `ecs.plan_scale` as an SSM `aws:executeScript` handler (Python 3.8+, boto3).

The current and target desired count of an ECS service: exactly one of to (a count) or by (a
change), refused if negative, if `by` would reach zero or changes nothing, or over `limit`;
refused too when Application Auto Scaling bounds would undo it, unless adjust_autoscaling
(then `adjust` is true and new_min/new_max are the widened bounds).

InputPayload: the action's inputs (cluster, service; region, default primary; to; by; limit,
default 20; adjust_autoscaling, default false) and the environment's settings hybridops' AWS
clients use: primary_region, secondary_region (to resolve region: primary|secondary), and
optionally aws_max_attempts (default 5) and aws_read_timeout_s (default 30).
Returns {"from", "to", "capped", "limit", "adjust"} and, with a scalable target, "min", "max",
"new_min", "new_max", as hybridops does.
"""

from __future__ import annotations

from typing import Any

from ._shared import (  # script_for() writes these definitions in here
    REQUIRED,
    BadInput,
    _client,
    _inputs,
    _region,
    describe_service,
)

ACTION = "ecs.plan_scale"


class Refused(Exception):
    """A guardrail refused the change (hybridops: exit 3)."""


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "cluster": ("str", REQUIRED, {}),
    "service": ("str", REQUIRED, {}),
    "region": ("str", "primary", {}),
    "to": ("int?", None, {}),
    "by": ("int?", None, {}),
    "limit": ("int", 20, {"ge": 0}),
    "adjust_autoscaling": ("bool", False, {}),
}


# -- AWS clients, as hybridops builds its own ------------------------------------------------


# -- the action ------------------------------------------------------------------------------


def plan_desired_count(current: int, to: int | None, by: int | None, limit: int) -> int:
    """Check a scale request against the cap; refuse what is over it or looks like an accident."""
    if (to is None) == (by is None):
        raise BadInput("give exactly one of --to N or --by K")
    if by is not None and by == 0:
        raise Refused("--by 0 changes nothing: refusing (did you mean --to?)")
    target = current + by if by is not None else int(to or 0)
    if target < 0:
        raise Refused(f"the result would be {target} tasks: refusing a negative count")
    if by is not None and target == 0:
        raise Refused(
            f"--by {by} would scale the service to zero: refusing (use --to 0 to mean it)"
        )
    if target > limit:
        raise Refused(f"{target} is over the limit of {limit} (limits.max_desired_count)")
    return target


def handler(events: Any, context: Any) -> dict[str, Any]:
    """The SSM entry point: the step's InputPayload in, the action's outputs back."""
    inputs = _inputs(events)
    cluster, service = inputs["cluster"], inputs["service"]
    region = _region(events, inputs["region"])
    svc = describe_service(_client(events, "ecs", region), cluster, service)
    current = svc["desiredCount"]
    target = plan_desired_count(current, inputs["to"], inputs["by"], inputs["limit"])
    out: dict[str, Any] = {
        "from": current,
        "to": target,
        "capped": False,
        "limit": inputs["limit"],
        "adjust": False,
    }
    autoscaling = _client(events, "application-autoscaling", region)
    resource = f"service/{cluster}/{service}"
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])[
        "ScalableTargets"
    ]
    if targets:
        low, high = targets[0]["MinCapacity"], targets[0]["MaxCapacity"]
        out.update(min=low, max=high, new_min=min(low, target), new_max=max(high, target))
        if not low <= target <= high:
            if not inputs["adjust_autoscaling"]:
                raise Refused(
                    f"Application Auto Scaling keeps {service} between {low} and {high}:"
                    f" it would undo {target} tasks"
                )
            out["adjust"] = True
    return out
