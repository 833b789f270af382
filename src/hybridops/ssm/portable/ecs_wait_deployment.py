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

import re
import time
from typing import Any

import boto3
from botocore.config import Config

ACTION = "ecs.wait_deployment"


class BadInput(Exception):
    """Bad input; nothing was changed (hybridops: exit 2)."""


class StepFailed(Exception):
    """The deployment failed or was rolled back (hybridops: exit 1)."""


class TimedOut(Exception):
    """The wait ran past its timeout (hybridops: exit 5)."""


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

REQUIRED = object()
FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "cluster": ("str", REQUIRED, {}),
    "service": ("str", REQUIRED, {}),
    "region": ("str", "primary", {}),
    "task_definition": ("str", REQUIRED, {}),
    "timeout_s": ("float", 600, {"gt": 0}),
    "interval_s": ("float", 5, {"ge": 0}),
}
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
_INT_TEXT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")
_BOUNDS = {"gt": "greater than", "ge": "greater than or equal to", "le": "less than or equal to"}


class ValidationError(Exception):
    """Inputs hybridops' action model rejects (hybridops: exit 2)."""


def _invalid(where: str, message: str) -> ValidationError:
    return ValidationError(f"action {ACTION!r}: input {where}: {message}")


def _convert(where: str, kind: str, value: Any) -> Any:
    """One value as pydantic's lax mode converts it (numbers from text, booleans from words)."""
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "str":
        if isinstance(value, str):
            return value
        raise _invalid(where, "Input should be a valid string")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        unreadable = ", unable to interpret input" if isinstance(value, (int, str)) else ""
        raise _invalid(where, "Input should be a valid boolean" + unreadable)
    if kind == "int":
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise _invalid(where, "Input should be a finite number")
            if not value.is_integer():
                raise _invalid(
                    where, "Input should be a valid integer, got a number with a fractional part"
                )
            return int(value)
        if isinstance(value, str):
            if _INT_TEXT.fullmatch(value.strip()):
                return int(value.strip().split(".")[0])
            raise _invalid(
                where, "Input should be a valid integer, unable to parse string as an integer"
            )
        raise _invalid(where, "Input should be a valid integer")
    if kind == "float":
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                if value.strip().isascii():
                    return float(value.strip())
            except ValueError:
                pass
            raise _invalid(
                where, "Input should be a valid number, unable to parse string as a number"
            )
        raise _invalid(where, "Input should be a valid number")
    if kind == "list[str]":
        if not isinstance(value, (list, tuple)):
            raise _invalid(where, "Input should be a valid list")
        return [_convert(f"{where}.{i}", "str", item) for i, item in enumerate(value)]
    choices = kind.split("|")
    if isinstance(value, str) and value in choices:
        return value
    raise _invalid(where, "Input should be " + " or ".join(repr(c) for c in choices))


def _inputs(events: Any) -> dict[str, Any]:
    """The action's inputs from the InputPayload: converted, checked, defaults filled in."""
    if not isinstance(events, dict):
        raise ValidationError(f"action {ACTION!r}: the InputPayload must be a mapping")
    out: dict[str, Any] = {}
    for name, (kind, default, bounds) in FIELDS.items():
        if name not in events:
            if default is REQUIRED:
                raise _invalid(name, "Field required")
            out[name] = list(default) if isinstance(default, list) else default
            continue
        value = _convert(name, kind, events[name])
        for bound, limit in bounds.items():
            if value is None:
                break
            if bound == "gt":
                within = value > limit
            else:
                within = value >= limit if bound == "ge" else value <= limit
            if not within:  # NaN is within nothing, as for pydantic
                raise _invalid(name, f"Input should be {_BOUNDS[bound]} {limit}")
        out[name] = value
    return out


# -- AWS clients, as hybridops builds its own ------------------------------------------------


def _region(events: dict[str, Any], which: str) -> str:
    """`primary`/`secondary`: the environment's region, from the payload; else a region name."""
    if which in ("", "primary"):
        key = "primary_region"
    elif which == "secondary":
        key = "secondary_region"
    else:
        return which
    region = events.get(key)
    if not isinstance(region, str) or not region:
        raise ValueError(f"the InputPayload has no {key}: the exported document passes it")
    return region


def _client(events: dict[str, Any], service: str, region: str) -> Any:
    """A boto3 client with hybridops' retries (adaptive) and timeouts."""
    config = Config(
        retries={
            "mode": "adaptive",
            "total_max_attempts": int(events.get("aws_max_attempts") or 5),
        },
        connect_timeout=10.0,
        read_timeout=float(events.get("aws_read_timeout_s") or 30.0),
    )
    return boto3.client(service, region_name=region, config=config)


# -- the action ------------------------------------------------------------------------------


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    """The service description; BadInput if it does not exist."""
    response = ecs.describe_services(cluster=cluster, services=[service])
    services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        reason = (response.get("failures") or [{}])[0].get("reason", "MISSING")
        raise BadInput(f"ECS service {service!r} in cluster {cluster!r} not found ({reason})")
    return dict(services[0])


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
