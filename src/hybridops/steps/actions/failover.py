"""Regional failover actions: pre-flight and plan, and the verification after moving traffic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from hybridops.errors import CheckFailed, Refused, RemoteError
from hybridops.steps.kinds import call_http
from hybridops.steps.registry import action, shell_equivalent

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


# -- as shell commands (run --print-cli, runbook docs) ---------------------------------------


def _side_shell(to: Any, ctx: Any) -> dict[str, str]:
    """Shell variables for the target side's settings, chosen by `to` at run time."""
    from hybridops.shell.words import word

    w = ctx.writer
    env = {
        k: ctx.ref(("env", k)).var
        for k in (
            "region",
            "secondary_region",
            "cluster",
            "service",
            "backup_cluster",
            "backup_service",
            "health_url",
            "secondary_health_url",
            "target_group_arn",
            "secondary_target_group_arn",
        )
    }
    side = {
        k: w.temp(k.upper())
        for k in (
            "to_region",
            "from_region",
            "cluster",
            "service",
            "health_url",
            "target_group_arn",
        )
    }
    primary = [
        env["region"],
        env["secondary_region"],
        env["cluster"],
        env["service"],
        env["health_url"],
        env["target_group_arn"],
    ]
    secondary = [
        env["secondary_region"],
        env["region"],
        env["backup_cluster"],
        env["backup_service"],
        env["secondary_health_url"],
        env["secondary_target_group_arn"],
    ]
    with w.block(f"if [ {word(to)} = primary ]; then", "else"):
        for var, source in zip(side.values(), primary, strict=True):
            w.line(f'{var}="${source}"')
    w.indent += 1
    for var, source in zip(side.values(), secondary, strict=True):
        w.line(f'{var}="${source}"')
    w.indent -= 1
    w.line("fi")
    return side


def _records_query(ctx: Any, suffix: str) -> str:
    record = ctx.ref(("env", "record_name")).var
    return f"\"ResourceRecordSets[?Name=='${{{record}}}.'{suffix}]\""


def _show_records(ctx: Any, zone: str) -> None:
    """Print the record's sets (to stderr), for the operator to read."""
    ctx.writer.command(
        [
            "aws",
            "route53",
            "list-resource-record-sets",
            "--hosted-zone-id",
            zone,
            "--query",
            _records_query(ctx, ""),
            "--output",
            "table",
            ">&2",
        ]
    )


@shell_equivalent("failover.plan")
def plan_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Read the target side, its health and Route 53; decide the count and the move."""
    from hybridops.shell.words import word

    w = ctx.writer
    to = inputs["to"]
    side = _side_shell(to, ctx)
    zone = f'"${ctx.ref(("env", "hosted_zone_id")).var}"'
    before, desired, check, mode = (w.temp(n) for n in ("BEFORE", "DESIRED", "CHECK", "MODE"))
    serving, revert, batch, revert_batch = (
        w.temp(n) for n in ("SERVING", "REVERT", "BATCH", "REVERT_BATCH")
    )
    ecs_where = [
        "--region",
        f'"${side["to_region"]}"',
        "--cluster",
        f'"${side["cluster"]}"',
        "--services",
        f'"${side["service"]}"',
    ]
    w.command(
        [
            "aws",
            "ecs",
            "describe-services",
            *ecs_where,
            "--query",
            "'services[0].desiredCount'",
            "--output",
            "text",
        ],
        capture=before,
    )
    w.line(
        f'[ "${before}" != None ] || fail 1 "pre-flight failed: ECS service'
        f' ${side["service"]} not found in ${side["cluster"]}"'
    )
    w.line(
        f'curl -sS --max-time 5 -o /dev/null "${side["health_url"]}/health"'
        f' || fail 1 "pre-flight failed: the target health endpoint is unreachable"'
    )
    w.line(
        f'[ -z "${side["target_group_arn"]}" ] || aws elbv2 describe-target-health'
        f' --region "${side["to_region"]}" --target-group-arn "${side["target_group_arn"]}"'
        " --output table >&2"
    )
    _show_records(ctx, zone)
    w.command(
        [
            "aws",
            "route53",
            "list-resource-record-sets",
            "--hosted-zone-id",
            zone,
            "--query",
            _records_query(ctx, " && Failover=='PRIMARY'").rstrip('"') + '.HealthCheckId | [0]"',
            "--output",
            "text",
        ],
        capture=check,
    )
    with w.block(f'if [ "${check}" != None ] && [ -n "${check}" ]; then', "else"):
        w.line(f"{mode}=failover")
        w.line(
            f'{revert}=$(aws route53 get-health-check --health-check-id "${check}"'
            " --query HealthCheck.HealthCheckConfig.Inverted --output text | tr 'A-Z' 'a-z')"
        )
        w.line(f'if [ "${revert}" = true ]; then {serving}=secondary; else {serving}=primary; fi')
    w.indent += 1
    w.line(f"{mode}=simple {revert}=false {check}=")
    w.line(f"ask_value {serving} 'which side the record above points at: primary or secondary'")
    w.line(f"ask_value {batch} 'the Route 53 ChangeBatch (JSON) pointing the record at the target'")
    w.line(f"ask_value {revert_batch} 'the ChangeBatch (JSON) that restores the record above'")
    w.indent -= 1
    w.line("fi")
    w.line(f'[ "${serving}" != {word(to)} ] || fail 3 "the record already sends traffic there"')
    w.line(f"{desired}={word(inputs.get('count', 3))}")
    match = inputs.get("match_primary", False)
    w.line(
        f"if [ {word(to)} = secondary ] && truthy {word(match)}; then"
        f' {desired}=$(aws ecs describe-services --region "${ctx.ref(("env", "region")).var}"'
        f' --cluster "${ctx.ref(("env", "cluster")).var}"'
        f' --services "${ctx.ref(("env", "service")).var}"'
        f" --query 'services[0].desiredCount' --output text); fi"
    )
    w.line(f'if [ {word(to)} = primary ] && [ "${before}" -gt 0 ]; then {desired}="${before}"; fi')
    record = ctx.ref(("env", "record_name")).var
    other = f"$([ {word(to)} = primary ] && echo secondary || echo primary)"
    return {
        "mode": f'"${mode}"',
        "from_region": f'"${side["from_region"]}"',
        "to_region": f'"${side["to_region"]}"',
        "serving": f'"${serving}"',
        "cluster": f'"${side["cluster"]}"',
        "service": f'"${side["service"]}"',
        "health_url": f'"${side["health_url"]}"',
        "target_group_arn": f'"${side["target_group_arn"]}"',
        "desired": f'"${desired}"',
        "desired_before": f'"${before}"',
        "record": f'"${record}"',
        "health_check_id": f'"${check}"',
        "invert": f'"$([ {word(to)} = secondary ] && echo true || echo false)"',
        "revert_invert": f'"${revert}"',
        "change_batch": f'"${{{batch}:-}}"',
        "revert_batch": f'"${{{revert_batch}:-}}"',
        "undo": f'"hybridops failover --to {other}"',
        "plan": (
            f'"fail over ${record} from ${side["from_region"]} to ${side["to_region"]}:'
            f" scale ${side['service']} ${before} -> ${desired}, wait until it runs and its"
            f' targets are healthy, verify its health, move traffic (${mode} record), verify."'
        ),
    }


@shell_equivalent("failover.verify")
def verify_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Route 53 points at the target, its health is good, the public name agrees."""
    from hybridops.shell.words import Ref, word
    from hybridops.steps.actions.health import probe_shell

    w = ctx.writer
    to = inputs["to"]
    side = _side_shell(to, ctx)
    zone = f'"${ctx.ref(("env", "hosted_zone_id")).var}"'
    _show_records(ctx, zone)
    w.line(
        f"ask 'Does the record above send traffic to the {word(to)} side?'"
        ' || fail 1 "Route 53 does not point at the target yet"'
    )
    verdict = probe_shell(
        {"base_url": Ref(side["health_url"]), "components": inputs.get("components") or []}, ctx
    )
    w.line(f'[ {verdict["status"]} != unhealthy ] || fail 1 "the target side is unhealthy"')
    public, region = ctx.ref(("env", "public_url")).var, w.temp("PUBLIC_REGION")
    w.line(f'{region}=""')
    with w.block(f'if [ -n "${{{public}:-}}" ]; then', "fi"):
        w.line(f'{region}=$(curl -fsS --max-time 5 "${public}/health" | jq -r \'.region // ""\')')
        w.line(
            f'[ -z "${region}" ] || [ "${region}" = "${side["to_region"]}" ]'
            f' || fail 1 "the public name is still served by ${region}"'
        )
    return {"serving": word(to), "verdict": verdict["status"], "public_region": f'"${region}"'}
