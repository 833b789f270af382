"""hybridops' `failover.plan` as an SSM `aws:executeScript` handler (Python 3.8+, boto3).

Pre-flight the side traffic is to move to (its ECS service exists, its health endpoint answers
at all, its target group is readable) and Route 53 (a failover pair or one simple record that
does not already send traffic there), then plan: the count to scale the target service to, the
record change (or the health check to invert) and its undo.

InputPayload: the action's inputs (to: primary|secondary; count, default 3; match_primary,
default false) and the environment's settings the action reads (hybridops reads them from its
config): primary_region, secondary_region, cluster, service, backup_cluster, backup_service,
health_url, secondary_health_url, target_group_arn, secondary_target_group_arn, hosted_zone_id,
record_name, primary_target, secondary_target, env_name (for the undo command); optionally
aws_max_attempts (default 5) and aws_read_timeout_s (default 30).
Returns the same outputs as hybridops: mode, from_region, to_region, serving, cluster, service,
health_url, target_group_arn, desired, desired_before, record, values, undo, health_check_id,
invert, revert_invert, change_batch, revert_batch, plan.
"""

from __future__ import annotations

import copy
from typing import Any

from ._shared import (  # script_for() writes these definitions in here
    REQUIRED,
    CheckFailed,
    RemoteError,
    _client,
    _environment,
    _inputs,
    http_get,
    layout,
    side_settings,
)

ACTION = "failover.plan"


class Refused(Exception):
    """A guardrail refused (hybridops: exit 3)."""


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "to": ("primary|secondary", REQUIRED, {}),
    "count": ("int", 3, {"ge": 1, "le": 500}),
    "match_primary": ("bool", False, {}),
}


# -- the environment's settings, which hybridops reads from its config ------------------------

# InputPayload key -> the `env.*` setting it carries.
ENVIRONMENT = {
    "primary_region": "region",
    "secondary_region": "secondary_region",
    "cluster": "cluster",
    "service": "service",
    "backup_cluster": "backup_cluster",
    "backup_service": "backup_service",
    "health_url": "health_url",
    "secondary_health_url": "secondary_health_url",
    "target_group_arn": "target_group_arn",
    "secondary_target_group_arn": "secondary_target_group_arn",
    "hosted_zone_id": "hosted_zone_id",
    "record_name": "record_name",
    "primary_target": "primary_target",
    "secondary_target": "secondary_target",
    "env_name": "name",
}
# Always set in a hybridops environment (they have defaults there): a payload must carry them.
ALWAYS_SET = (
    "primary_region",
    "secondary_region",
    "cluster",
    "service",
    "backup_cluster",
    "backup_service",
    "env_name",
)


# -- HTTP, as hybridops' `http` step answers ---------------------------------------------------


# -- Route 53: which side serves ---------------------------------------------------------------


def switch_batch(current: dict[str, Any], target_value: str) -> dict[str, Any]:
    """The UPSERT that points the simple record at `target_value`."""
    record = copy.deepcopy(current["records"][0])
    if "AliasTarget" in record:
        record["AliasTarget"]["DNSName"] = target_value
    else:
        record["ResourceRecords"] = [{"Value": target_value}]
    return {
        "Comment": "hybridops failover",
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}],
    }


def restore_batch(current: dict[str, Any]) -> dict[str, Any]:
    """The UPSERT that puts the simple record back exactly as it was."""
    return {
        "Comment": "hybridops failback",
        "Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": copy.deepcopy(r)} for r in current["records"]
        ],
    }


# -- the action ------------------------------------------------------------------------------


def _service(events: dict[str, Any], where: dict[str, Any]) -> dict[str, Any] | None:
    services = (
        _client(events, "ecs", where["region"])
        .describe_services(cluster=where["cluster"], services=[where["service"]])
        .get("services", [])
    )
    active = [s for s in services if s.get("status") == "ACTIVE"]
    return active[0] if active else None


def _reachable(url: str) -> str | None:
    """None if the endpoint answers at all (any status), else why not."""
    try:
        http_get(f"{url.rstrip('/')}/health", 5)
    except RemoteError as exc:
        return str(exc)
    return None


def plan(events: dict[str, Any], inputs: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    """Pre-flight the target side and Route 53, then plan: count, record change, undo command."""
    to = inputs["to"]
    source = "secondary" if to == "primary" else "primary"
    target, origin = side_settings(env, to), side_settings(env, source)
    if not env.get("hosted_zone_id") or not env.get("record_name"):
        raise CheckFailed("the environment needs hosted_zone_id and record_name to fail over")
    problems: list[str] = []
    service = _service(events, target)
    if service is None:
        problems.append(f"ECS service {target['service']} not found in {target['cluster']}")
    if not target["health_url"]:
        problems.append(f"no health URL configured for the {to} side")
    else:
        unreachable = _reachable(target["health_url"])
        if unreachable:
            problems.append(f"{to} health endpoint unreachable: {unreachable}")
    if target["target_group_arn"]:
        try:
            _client(events, "elbv2", target["region"]).describe_target_health(
                TargetGroupArn=target["target_group_arn"]
            )
        except Exception as exc:
            problems.append(f"{to} target group: {type(exc).__name__}: {exc}")
    current = layout(
        _client(events, "route53", env["region"]),
        env["hosted_zone_id"],
        env["record_name"],
        env.get("primary_target"),
        env.get("secondary_target"),
    )
    if problems:
        raise CheckFailed("pre-flight failed: " + "; ".join(problems))
    if current["serving"] == to:
        raise Refused(f"{env['record_name']} already sends traffic to the {to} side")
    desired_now = int(service["desiredCount"]) if service else 0
    desired = inputs["count"]
    note = ""
    if to == "secondary" and inputs["match_primary"]:
        try:
            primary = _service(events, origin)
            if primary and primary["desiredCount"] > 0:
                desired = int(primary["desiredCount"])
                note = " (the primary's desired count)"
        except Exception as exc:  # the primary may be the region that is down
            note = f" (primary unreadable: {type(exc).__name__}; using {inputs['count']})"
    elif to == "primary" and desired_now > 0:
        desired = desired_now  # failing back: the primary keeps the size it has
    outputs: dict[str, Any] = {
        "mode": current["mode"],
        "from_region": origin["region"],
        "to_region": target["region"],
        "serving": current["serving"],
        "cluster": target["cluster"],
        "service": target["service"],
        "health_url": target["health_url"],
        "target_group_arn": target["target_group_arn"] or "",
        "desired": desired,
        "desired_before": desired_now,
        "record": env["record_name"],
        "values": current["values"],
        "undo": f"hybridops --env {env['name']} failover --to {source}",
        "health_check_id": current["primary_check"] or "",
        "invert": to == "secondary",
        "revert_invert": current["primary_check_inverted"],
        "change_batch": {},
        "revert_batch": {},
    }
    if current["mode"] == "simple":
        value = env["secondary_target"] if to == "secondary" else env["primary_target"]
        outputs["change_batch"] = switch_batch(current, value)
        outputs["revert_batch"] = restore_batch(current)
        move = f"UPSERT {env['record_name']} -> {value}"
    else:
        verb = "invert" if to == "secondary" else "un-invert"
        move = f"{verb} the PRIMARY health check {current['primary_check']} (failover routing)"
    outputs["plan"] = (
        f"fail over {env['record_name']} from {origin['region']} to {target['region']}:"
        f" scale {target['service']} {desired_now} -> {desired}{note}, wait until it runs"
        f" and its targets are healthy, verify its health endpoint, {move}, verify."
        f" Undo: {outputs['undo']}"
    )
    return outputs


def handler(events: Any, context: Any) -> dict[str, Any]:
    """The SSM entry point: the step's InputPayload in, the action's outputs back."""
    inputs = _inputs(events)
    return plan(events, inputs, _environment(events))
