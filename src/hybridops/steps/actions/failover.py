"""Regional failover actions: pre-flight and plan, and the verification after moving traffic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from hybridops.errors import CheckFailed, Refused, RemoteError
from hybridops.steps.kinds import call_http
from hybridops.steps.registry import action

if TYPE_CHECKING:
    from hybridops.steps.base import StepContext

Side = Literal["primary", "secondary"]


class PlanInputs(BaseModel):
    """Inputs of `failover.plan`."""

    to: Side
    count: int = Field(3, ge=1, le=500)
    match_primary: bool = False


def side_settings(env: dict[str, Any], side: str) -> dict[str, Any]:
    """Region, ECS service, health URL and target group of one side of the environment."""
    if side == "primary":
        return {
            "region": env["region"],
            "cluster": env["cluster"],
            "service": env["service"],
            "health_url": env.get("health_url"),
            "target_group_arn": env.get("target_group_arn"),
        }
    return {
        "region": env["secondary_region"],
        "cluster": env["backup_cluster"],
        "service": env["backup_service"],
        "health_url": env.get("secondary_health_url"),
        "target_group_arn": env.get("secondary_target_group_arn"),
    }


def _service(ctx: StepContext, side: str, where: dict[str, Any]) -> dict[str, Any] | None:
    services = (
        ctx.clients.client("ecs", side)
        .describe_services(cluster=where["cluster"], services=[where["service"]])
        .get("services", [])
    )
    active = [s for s in services if s.get("status") == "ACTIVE"]
    return active[0] if active else None


def _reachable(ctx: StepContext, url: str) -> str | None:
    """None if the endpoint answers at all (any status), else why not."""
    try:
        call_http({"method": "GET", "url": f"{url.rstrip('/')}/health", "timeout_s": 5}, ctx)
    except RemoteError as exc:
        return exc.message
    return None


@action("failover.plan", inputs=PlanInputs)
def plan(inputs: PlanInputs, ctx: StepContext) -> dict[str, Any]:
    """Pre-flight the target side and Route 53, then plan: count, record change, undo command."""
    from hybridops.aws import route53 as r53

    env = ctx.scope["env"]
    source = "secondary" if inputs.to == "primary" else "primary"
    target, origin = side_settings(env, inputs.to), side_settings(env, source)
    if not env.get("hosted_zone_id") or not env.get("record_name"):
        raise CheckFailed("the environment needs hosted_zone_id and record_name to fail over")
    problems: list[str] = []
    service = _service(ctx, inputs.to, target)
    if service is None:
        problems.append(f"ECS service {target['service']} not found in {target['cluster']}")
    if not target["health_url"]:
        problems.append(f"no health URL configured for the {inputs.to} side")
    else:
        unreachable = _reachable(ctx, target["health_url"])
        if unreachable:
            problems.append(f"{inputs.to} health endpoint unreachable: {unreachable}")
    if target["target_group_arn"]:
        try:
            ctx.clients.client("elbv2", inputs.to).describe_target_health(
                TargetGroupArn=target["target_group_arn"]
            )
        except Exception as exc:
            problems.append(f"{inputs.to} target group: {type(exc).__name__}: {exc}")
    current = r53.layout(
        ctx.clients.client("route53"),
        env["hosted_zone_id"],
        env["record_name"],
        env.get("primary_target"),
        env.get("secondary_target"),
    )
    if problems:
        raise CheckFailed("pre-flight failed: " + "; ".join(problems))
    if current.serving == inputs.to:
        raise Refused(f"{env['record_name']} already sends traffic to the {inputs.to} side")
    desired_now = int(service["desiredCount"]) if service else 0
    desired = inputs.count
    note = ""
    if inputs.to == "secondary" and inputs.match_primary:
        try:
            primary = _service(ctx, "primary", origin)
            if primary and primary["desiredCount"] > 0:
                desired = int(primary["desiredCount"])
                note = " (the primary's desired count)"
        except Exception as exc:  # the primary may be the region that is down
            note = f" (primary unreadable: {type(exc).__name__}; using {inputs.count})"
    elif inputs.to == "primary" and desired_now > 0:
        desired = desired_now  # failing back: the primary keeps the size it has
    outputs: dict[str, Any] = {
        "mode": current.mode,
        "from_region": origin["region"],
        "to_region": target["region"],
        "serving": current.serving,
        "cluster": target["cluster"],
        "service": target["service"],
        "health_url": target["health_url"],
        "target_group_arn": target["target_group_arn"] or "",
        "desired": desired,
        "desired_before": desired_now,
        "record": env["record_name"],
        "values": current.values,
        "undo": f"hybridops --env {ctx.scope['run']['env']} failover --to {source}",
        "health_check_id": current.primary_check or "",
        "invert": inputs.to == "secondary",
        "revert_invert": current.primary_check_inverted,
        "change_batch": {},
        "revert_batch": {},
    }
    if current.mode == "simple":
        value = env["secondary_target"] if inputs.to == "secondary" else env["primary_target"]
        outputs["change_batch"] = r53.switch_batch(current, value)
        outputs["revert_batch"] = r53.restore_batch(current)
        move = f"UPSERT {env['record_name']} -> {value}"
    else:
        verb = "invert" if inputs.to == "secondary" else "un-invert"
        move = f"{verb} the PRIMARY health check {current.primary_check} (failover routing)"
    outputs["plan"] = (
        f"fail over {env['record_name']} from {origin['region']} to {target['region']}:"
        f" scale {target['service']} {desired_now} -> {desired}{note}, wait until it runs"
        f" and its targets are healthy, verify its health endpoint, {move}, verify."
        f" Undo: {outputs['undo']}"
    )
    return outputs


class VerifyInputs(BaseModel):
    """Inputs of `failover.verify`."""

    to: Side
    components: list[str] = Field(default_factory=list)


@action("failover.verify", inputs=VerifyInputs)
def verify(inputs: VerifyInputs, ctx: StepContext) -> dict[str, Any]:
    """Route 53 sends traffic to the target, and its health (and the public name's) is good."""
    from hybridops.aws import route53 as r53
    from hybridops.steps.actions.health import ProbeInputs, probe

    env = ctx.scope["env"]
    target = side_settings(env, inputs.to)
    current = r53.layout(
        ctx.clients.client("route53"),
        env["hosted_zone_id"],
        env["record_name"],
        env.get("primary_target"),
        env.get("secondary_target"),
    )
    if current.serving != inputs.to:
        raise CheckFailed(
            f"Route 53 still sends {env['record_name']} to the {current.serving} side"
        )
    verdict = probe(ProbeInputs(base_url=target["health_url"], components=inputs.components), ctx)
    if verdict["status"] == "unhealthy":
        raise CheckFailed(f"the {inputs.to} side is unhealthy after the switch")
    public_region = None
    if env.get("public_url"):
        answer = call_http(
            {"method": "GET", "url": f"{env['public_url'].rstrip('/')}/health", "timeout_s": 5},
            ctx,
        )
        body = answer["json"] if isinstance(answer["json"], dict) else {}
        public_region = body.get("region")
        if answer["status"] >= 500:
            raise CheckFailed(f"the public name answers HTTP {answer['status']}")
        if public_region and public_region != target["region"]:
            raise CheckFailed(
                f"the public name is still served by {public_region}, not {target['region']}"
            )
    return {
        "serving": current.serving,
        "verdict": verdict["status"],
        "public_region": public_region,
    }
