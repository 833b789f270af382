"""Regional failover actions: pre-flight and plan, and the verification after moving traffic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from hybridops.config import side_settings
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


R53_LAYOUT = r"""# r53_layout VAR ZONE NAME PRIMARY_TARGET SECONDARY_TARGET: the record NAME as
# hybridops reads it for a failover, as JSON in VAR: {mode: failover (a PRIMARY/SECONDARY pair,
# moved by inverting the PRIMARY's health check) or simple (one CNAME or alias, moved by
# UPSERT), serving: primary, secondary or unknown, check, inverted, values, records}. Anything
# else stops the script.
r53_layout() {
  local sets check inverted routable value
  sets=$(aws route53 list-resource-record-sets --hosted-zone-id "$2" --start-record-name "$3" \
    --output json | jq -c --arg name "$3" 'def fqdn: ascii_downcase | rtrimstr(".");
      [.ResourceRecordSets[] | select((.Name | fqdn) == ($name | fqdn))]')
  [ "$sets" != "[]" ] || fail 1 "no Route 53 record $3 in hosted zone $2"
  if jq -e 'any(.[]; .Failover)' <<<"$sets" >/dev/null; then
    jq -e '[.[] | .Failover // empty] | unique == ["PRIMARY", "SECONDARY"]' <<<"$sets" >/dev/null ||
      fail 1 "$3: failover routing needs a PRIMARY and a SECONDARY record"
    check=$(jq -r 'map(select(.Failover == "PRIMARY")) | last | .HealthCheckId // ""' <<<"$sets")
    [ -n "$check" ] || fail 1 "$3: the PRIMARY record has no health check to fail over with"
    inverted=$(aws route53 get-health-check --health-check-id "$check" \
      --query 'HealthCheck.HealthCheckConfig.Inverted' --output json)
    printf -v "$1" '%s' "$(jq -c --arg check "$check" --argjson inverted "$inverted" \
      'def value: (.AliasTarget.DNSName // .ResourceRecords[0].Value // null)
         | if . then rtrimstr(".") | ascii_downcase else . end;
       {mode: "failover", serving: (if $inverted == true then "secondary" else "primary" end),
        check: $check, inverted: ($inverted == true), records: .,
        values: (map(select(.Failover)) | map({(.Failover): value}) | add)}' <<<"$sets")"
    return 0
  fi
  routable=$(jq -c 'map(select(.Type == "CNAME" or .Type == "A" or .Type == "AAAA"))' <<<"$sets")
  [ "$(jq length <<<"$routable")" = 1 ] ||
    fail 1 "$3: expected one CNAME or alias record (or a failover pair)"
  [ -n "$4" ] && [ -n "$5" ] || fail 2 "a simple (non-failover) record needs primary_target and
    secondary_target in the environment"
  value=$(jq -r '.[0] | (.AliasTarget.DNSName // .ResourceRecords[0].Value // "")
    | rtrimstr(".") | ascii_downcase' <<<"$routable")
  printf -v "$1" '%s' "$(jq -c --arg value "$value" --arg p "$4" --arg s "$5" \
    '($p | rtrimstr(".") | ascii_downcase) as $p | ($s | rtrimstr(".") | ascii_downcase) as $s
     | {mode: "simple", check: "", inverted: false, records: ., values: {record: $value},
        serving: (if $value == $p then "primary" elif $value == $s then "secondary"
          else "unknown" end)}' <<<"$routable")"
}"""


def _side_shell(to: Any, ctx: Any) -> dict[str, str]:
    """Shell variables for the target side's settings, chosen by `to` at run time."""
    from hybridops.shell.words import word

    w = ctx.writer
    from hybridops.config import SIDES

    groups = (("region",), ("cluster", "service"), ("health_url",), ("target_group_arn",))
    env = {  # in the order the script has always named them
        name: ctx.ref(("env", name)).var
        for group in groups
        for side in ("primary", "secondary")
        for name in (SIDES[side][key] for key in group)
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

    def values(to: str, other: str) -> list[str]:
        # to_region, from_region, then the target side's cluster, service, URL, target group.
        mine, theirs = SIDES[to], SIDES[other]
        keys = ("cluster", "service", "health_url", "target_group_arn")
        return [env[mine["region"]], env[theirs["region"]], *(env[mine[k]] for k in keys)]

    primary, secondary = values("primary", "secondary"), values("secondary", "primary")
    with w.block(f"if [ {word(to)} = primary ]; then", "else"):
        for var, source in zip(side.values(), primary, strict=True):
            w.line(f'{var}="${source}"')
    w.indent += 1
    for var, source in zip(side.values(), secondary, strict=True):
        w.line(f'{var}="${source}"')
    w.indent -= 1
    w.line("fi")
    return side


def _layout_line(ctx: Any, into: str) -> None:
    from hybridops.shell.writer import helper

    helper("r53_layout", R53_LAYOUT)
    env = [
        f'"${ctx.ref(("env", key)).var}"'
        for key in ("hosted_zone_id", "record_name", "primary_target", "secondary_target")
    ]
    ctx.writer.line(f"{into}=''")
    ctx.writer.line(f"r53_layout {into} {' '.join(env)}")


@shell_equivalent("failover.plan")
def plan_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Pre-flight the target side and Route 53; plan the count, the record change, the undo."""
    from hybridops.shell.words import dq, quote, word

    w = ctx.writer
    to = inputs["to"]
    source = f"$([ {word(to)} = primary ] && echo secondary || echo primary)"
    side = _side_shell(to, ctx)
    zone, record = ctx.ref(("env", "hosted_zone_id")).var, ctx.ref(("env", "record_name")).var
    problems, before, desired, layout = (
        w.temp(n) for n in ("PROBLEMS", "BEFORE", "DESIRED", "LAYOUT")
    )
    note, primary_count, move = w.temp("NOTE"), w.temp("PRIMARY_COUNT"), w.temp("MOVE")
    batch, revert_batch = w.temp("BATCH"), w.temp("REVERT_BATCH")
    w.line(
        f'[ -n "${zone}" ] && [ -n "${record}" ] ||'
        ' fail 1 "the environment needs hosted_zone_id and record_name to fail over"'
    )
    w.line(f"{problems}=''")
    w.command(
        [
            "aws",
            "ecs",
            "describe-services",
            "--region",
            f'"${side["to_region"]}"',
            "--cluster",
            f'"${side["cluster"]}"',
            "--services",
            f'"${side["service"]}"',
            "--query",
            "\"services[?status=='ACTIVE'] | [0].desiredCount\"",
            "--output",
            "text",
        ],
        capture=before,
    )
    w.line(
        f'[ "${before}" != None ] || {problems}="${problems}; ECS service ${side["service"]}'
        f' not found in ${side["cluster"]}"'
    )
    with w.block(f'if [ -z "${side["health_url"]}" ]; then', "fi"):
        w.line(f'{problems}="${problems}; no health URL configured for the {dq(to)} side"')
        w.indent -= 1
        w.line(
            f'elif ! curl -sS --max-time 5 -o /dev/null "${{{side["health_url"]}%/}}/health"; then'
        )
        w.indent += 1
        w.line(f'{problems}="${problems}; {dq(to)} health endpoint unreachable"')
    with w.block(
        f'if [ -n "${side["target_group_arn"]}" ] && ! aws elbv2 describe-target-health'
        f' --region "${side["to_region"]}" --target-group-arn "${side["target_group_arn"]}"'
        " >/dev/null; then",
        "fi",
    ):
        w.line(f'{problems}="${problems}; {dq(to)} target group unreadable"')
    _layout_line(ctx, layout)
    w.line(f'[ -z "${problems}" ] || fail 1 "pre-flight failed: ${{{problems}#; }}"')
    w.line(
        f'[ "$(field "${layout}" serving)" != {word(to)} ] || fail 3 "${record} already sends'
        f' traffic to the {dq(to)} side"'
    )
    w.line(f'[ "${before}" != None ] || {before}=0')
    w.line(f"{desired}={word(inputs.get('count', 3))} {note}=''")
    region, cluster, service = (ctx.ref(("env", k)).var for k in ("region", "cluster", "service"))
    match = word(inputs.get("match_primary", False))
    with w.block(f"if [ {word(to)} = secondary ] && truthy {match}; then", "fi"):
        # The primary may be the region that is down: unreadable, the count stays.
        with w.block(
            f'if {primary_count}=$(aws ecs describe-services --region "${region}"'
            f' --cluster "${cluster}" --services "${service}"'
            " --query 'services[0].desiredCount' --output text); then",
            "else",
        ):
            w.line(
                f'if [ "${primary_count}" != None ] && [ "${primary_count}" -gt 0 ]; then'
                f' {desired}="${primary_count}" {note}=" (the primary\'s desired count)"; fi'
            )
        w.line(f'  {note}=" (primary unreadable; using ${desired})"')
        w.line("fi")
        w.indent -= 1
        w.line(f'elif [ {word(to)} = primary ] && [ "${before}" -gt 0 ]; then')
        w.indent += 1
        w.line(f'{desired}="${before}"  # failing back: the primary keeps the size it has')
    secondary_target = ctx.ref(("env", "secondary_target")).var
    primary_target = ctx.ref(("env", "primary_target")).var
    with w.block(f'if [ "$(field "${layout}" mode)" = simple ]; then', "else"):
        target = w.temp("TARGET_VALUE")
        w.line(
            f'if [ {word(to)} = secondary ]; then {target}="${secondary_target}";'
            f' else {target}="${primary_target}"; fi'
        )
        switch = (
            ".records[0] | if .AliasTarget then .AliasTarget.DNSName = $v"
            " else .ResourceRecords = [{Value: $v}] end"
            ' | {Comment: "hybridops failover", Changes: [{Action: "UPSERT",'
            " ResourceRecordSet: .}]}"
        )
        restore = (
            '{Comment: "hybridops failback",'
            ' Changes: [.records[] | {Action: "UPSERT", ResourceRecordSet: .}]}'
        )
        w.line(f'{batch}=$(jq -c --arg v "${target}" {quote(switch)} <<<"${layout}")')
        w.line(f'{revert_batch}=$(jq -c {quote(restore)} <<<"${layout}")')
        w.line(f'{move}="UPSERT ${record} -> ${target}"')
    w.indent += 1
    w.line(f"{batch}='{{}}' {revert_batch}='{{}}'")
    w.line(
        f'{move}="$([ {word(to)} = secondary ] && echo invert || echo un-invert) the PRIMARY'
        f' health check $(field "${layout}" check) (failover routing)"'
    )
    w.indent -= 1
    w.line("fi")
    run_env = ctx.ref(("run", "env")).var
    undo = f'"hybridops --env ${run_env} failover --to {source}"'
    return {
        "mode": f'"$(field "${layout}" mode)"',
        "from_region": f'"${side["from_region"]}"',
        "to_region": f'"${side["to_region"]}"',
        "serving": f'"$(field "${layout}" serving)"',
        "cluster": f'"${side["cluster"]}"',
        "service": f'"${side["service"]}"',
        "health_url": f'"${side["health_url"]}"',
        "target_group_arn": f'"${side["target_group_arn"]}"',
        "desired": f'"${desired}"',
        "desired_before": f'"${before}"',
        "record": f'"${record}"',
        "values": f'"$(field "${layout}" values)"',
        "health_check_id": f'"$(field "${layout}" check)"',
        "invert": f'"$([ {word(to)} = secondary ] && echo true || echo false)"',
        "revert_invert": f'"$(field "${layout}" inverted)"',
        "change_batch": f'"${batch}"',
        "revert_batch": f'"${revert_batch}"',
        "undo": undo,
        "plan": (
            f'"fail over ${record} from ${side["from_region"]} to ${side["to_region"]}:'
            f" scale ${side['service']} ${before} -> ${desired}${note}, wait until it runs and"
            f" its targets are healthy, verify its health endpoint, ${move}, verify."
            f' Undo: hybridops --env ${run_env} failover --to {source}"'
        ),
    }


@shell_equivalent("failover.verify")
def verify_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Route 53 sends traffic to the target, its health is good, the public name agrees."""
    from hybridops.shell.steps import http_call
    from hybridops.shell.words import Ref, dq, word
    from hybridops.steps.actions.health import probe_shell

    w = ctx.writer
    to = inputs["to"]
    side = _side_shell(to, ctx)
    record = ctx.ref(("env", "record_name")).var
    layout = w.temp("LAYOUT")
    _layout_line(ctx, layout)
    w.line(
        f'[ "$(field "${layout}" serving)" = {word(to)} ] || fail 1 "Route 53 still sends'
        f' ${record} to the $(field "${layout}" serving) side"'
    )
    verdict = probe_shell(
        {"base_url": Ref(side["health_url"]), "components": inputs.get("components") or []}, ctx
    )
    w.line(
        f'[ {verdict["status"]} != unhealthy ] || fail 1 "the {dq(to)} side is unhealthy'
        ' after the switch"'
    )
    public, region = ctx.ref(("env", "public_url")).var, w.temp("PUBLIC_REGION")
    w.line(f"{region}=''")
    with w.block(f'if [ -n "${public}" ]; then', "fi"):
        command, read = http_call(
            {"method": "GET", "url": f"{Ref(public)}/health", "timeout_s": 5}, ctx
        )
        result = read.split("=", 1)[0]
        w.line(command)
        w.line(read)
        w.line(f"{region}=$(jqv \"${result}\" '.json.region?')")
        w.line(
            f'[ "$(jqv "${result}" \'.status\')" -lt 500 ] || fail 1 "the public name answers'
            f' HTTP $(jqv "${result}" \'.status\')"'
        )
        w.line(
            f'[ -z "${region}" ] || [ "${region}" = "${side["to_region"]}" ] || fail 1'
            f' "the public name is still served by ${region}, not ${side["to_region"]}"'
        )
    return {
        "serving": f'"$(field "${layout}" serving)"',
        "verdict": verdict["status"],
        "public_region": f'"${region}"',
    }
