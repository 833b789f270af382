"""ECS actions: rollback target, deployment wait, desired-count plan, stability wait."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from hybridops.aws import ecs
from hybridops.engine.events import WaitProgress
from hybridops.errors import Refused, TimedOut
from hybridops.steps.registry import action, shell_equivalent

if TYPE_CHECKING:
    from hybridops.steps.base import StepContext


class ServiceRef(BaseModel):
    """Which service, where."""

    cluster: str
    service: str
    region: str = "primary"


class RollbackInputs(ServiceRef):
    """Inputs of `ecs.rollback_target`."""

    to: str | None = Field(None, description="revision number, family:revision or ARN")


@action("ecs.rollback_target", inputs=RollbackInputs)
def rollback_target(inputs: RollbackInputs, ctx: StepContext) -> dict[str, Any]:
    """Choose the last known-good task definition (or --to), with the diff from the current."""
    client = ctx.clients.client("ecs", inputs.region)
    known_good = ctx.store.known_good if ctx.store is not None else None
    target = ecs.rollback_target(
        client,
        inputs.cluster,
        inputs.service,
        to=inputs.to or None,
        known_good=known_good,
        rollbacks_since=_rollbacks_of(ctx, inputs) if ctx.store is not None else None,
    )
    return target.as_dict()


ROLLBACK_RUNBOOK = "rollback-service"


def _rollbacks_of(
    ctx: StepContext, inputs: RollbackInputs
) -> Callable[[dt.datetime], list[ecs.LandedRollback]]:
    """The rollbacks hybridops made to this service since a moment, from the audit trail."""
    store = ctx.store
    assert store is not None
    region = ctx.clients.region_for(inputs.region)

    def since(moment: dt.datetime) -> list[ecs.LandedRollback]:
        from hybridops.state.store import parse_iso

        records = [
            a
            for a in store.list_audit(since=moment)
            if a.get("runbook") == ROLLBACK_RUNBOOK
            and a.get("run_id") != ctx.run_id
            and (a.get("service"), a.get("operation"), a.get("outcome"))
            == ("ecs", "update_service", "succeeded")
            and a.get("region") in (None, region)
            and _same(a.get("params", {}).get("service"), inputs.service)
            and _same(a.get("params", {}).get("cluster"), inputs.cluster)
        ]
        if not records:
            return []
        # The audit knows the change; the run index knows how the run ended.
        statuses = {r["run_id"]: r.get("status") for r in store.list_runs(limit=200)}
        return [
            ecs.LandedRollback(
                str(a["params"].get("taskDefinition")),
                parse_iso(a["at"]),
                a.get("run_id"),
                statuses.get(a.get("run_id")),
            )
            for a in records
        ]

    return since


def _same(named: object, wanted: str) -> bool:
    """A cluster or service given by name or ARN."""
    return isinstance(named, str) and named.rsplit("/", 1)[-1] == wanted.rsplit("/", 1)[-1]


class WaitDeploymentInputs(ServiceRef):
    """Inputs of `ecs.wait_deployment`."""

    task_definition: str
    timeout_s: float = Field(600, gt=0)
    interval_s: float = Field(5, ge=0)


def _progress(ctx: StepContext, started: float, timeout: float) -> Any:
    def report(detail: str) -> None:
        ctx.emit(
            WaitProgress(ctx.run_id, ctx.step_name, time.monotonic() - started, timeout, detail)
        )

    return report


@action("ecs.wait_deployment", inputs=WaitDeploymentInputs, waits=True)
def wait_deployment(inputs: WaitDeploymentInputs, ctx: StepContext) -> dict[str, Any]:
    """Wait until the deployment of task_definition is stable; fail on circuit breaker."""
    client = ctx.clients.client("ecs", inputs.region)
    started, timeout = ctx.wait_window(inputs.timeout_s)
    outcome = ecs.wait_for_deployment(
        client,
        inputs.cluster,
        inputs.service,
        inputs.task_definition,
        timeout_s=timeout,
        started=started,
        interval_s=inputs.interval_s,
        sleep=ctx.sleep,
        progress=_progress(ctx, started, timeout),
    )
    return {
        "stable": outcome.stable,
        "rollout_state": outcome.rollout_state,
        "deployment_id": outcome.deployment_id,
        "events": outcome.events[-10:],
        "duration_s": round(outcome.duration_s, 3),
    }


class ScaleInputs(ServiceRef):
    """Inputs of `ecs.plan_scale`."""

    to: int | None = None
    by: int | None = None
    limit: int = Field(20, ge=0)
    adjust_autoscaling: bool = False


@action("ecs.plan_scale", inputs=ScaleInputs)
def plan_scale(inputs: ScaleInputs, ctx: StepContext) -> dict[str, Any]:
    """Current and target desired count, refused over the cap."""
    client = ctx.clients.client("ecs", inputs.region)
    svc = ecs.describe_service(client, inputs.cluster, inputs.service)
    plan = ecs.plan_desired_count(
        svc["desiredCount"], to=inputs.to, by=inputs.by, limit=inputs.limit
    )
    out: dict[str, Any] = {
        "from": plan.current,
        "to": plan.target,
        "capped": plan.capped,
        "limit": plan.limit,
        "adjust": False,
    }
    autoscaling = ctx.clients.client("application-autoscaling", inputs.region)
    resource = f"service/{inputs.cluster}/{inputs.service}"
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])[
        "ScalableTargets"
    ]
    if targets:
        low, high = targets[0]["MinCapacity"], targets[0]["MaxCapacity"]
        out.update(min=low, max=high, new_min=min(low, plan.target), new_max=max(high, plan.target))
        if not low <= plan.target <= high:
            if not inputs.adjust_autoscaling:
                raise Refused(
                    f"Application Auto Scaling keeps {inputs.service} between {low} and {high}:"
                    f" it would undo {plan.target} tasks",
                    hint="rerun with --adjust-autoscaling; a failed run restores the bounds",
                )
            out["adjust"] = True
    return out


class StableInputs(ServiceRef):
    """Inputs of `ecs.wait_stable`."""

    desired: int | None = None
    timeout_s: float = Field(600, gt=0)
    interval_s: float = Field(5, ge=0)


def _unsettled(svc: dict[str, Any], want: int) -> str:
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


@action("ecs.wait_stable", inputs=StableInputs, waits=True)
def wait_stable(inputs: StableInputs, ctx: StepContext) -> dict[str, Any]:
    """Wait until running == desired (== `desired` if given) with one COMPLETED deployment."""
    client = ctx.clients.client("ecs", inputs.region)
    began = time.monotonic()  # duration_s: how long this wait itself took
    started, timeout = ctx.wait_window(inputs.timeout_s)
    report = _progress(ctx, started, timeout)
    delay = min(0.5, inputs.interval_s)
    while True:
        svc = ecs.describe_service(client, inputs.cluster, inputs.service)
        deployments = svc.get("deployments", [])
        want = svc["desiredCount"] if inputs.desired is None else inputs.desired
        if (
            svc["desiredCount"] == want
            and svc["runningCount"] == want
            and len(deployments) == 1
            and deployments[0].get("rolloutState") in (None, "COMPLETED")
        ):
            return {
                "running": svc["runningCount"],
                "desired": want,
                "duration_s": round(time.monotonic() - began, 3),
            }
        detail = _unsettled(svc, want)
        report(detail)
        if time.monotonic() + delay > started + timeout:
            raise TimedOut(f"service {inputs.service} not stable after {timeout:.3g}s ({detail})")
        ctx.sleep(delay)
        # Poll fast first (a scale-out often settles in seconds), then back off to interval_s.
        delay = min(inputs.interval_s, delay * 2)


# -- as shell commands (run --print-cli, runbook docs) ---------------------------------------


def _where(inputs: dict[str, Any], ctx: Any) -> list[str]:
    """--region --cluster --services of the input service."""
    from hybridops.shell.words import word

    return [
        "--region",
        word(ctx.region(inputs.get("region", "primary"))),
        "--cluster",
        word(inputs["cluster"]),
        "--services",
        word(inputs["service"]),
    ]


def _describe(inputs: dict[str, Any], ctx: Any, query: str, *, into: str) -> None:
    """`into`=the service (not INACTIVE) as JSON, through `query`; missing: exit 2."""
    from hybridops.shell.words import dq, quote

    w = ctx.writer
    w.command(
        [
            "aws",
            "ecs",
            "describe-services",
            *_where(inputs, ctx),
            "--query",
            quote(f"services[?status!='INACTIVE'] | [0]{query}"),
            "--output",
            "json",
        ],
        capture=into,
    )
    missing = f"ECS service {dq(inputs['service'])} in cluster {dq(inputs['cluster'])} not found"
    w.line(f'[ "${into}" != null ] || fail 2 "{missing}"')


def _one_of(to: Any, by: Any, w: Any) -> None:
    """Exactly one of to and by, as hybridops asks (exit 2 otherwise)."""
    from hybridops.shell.words import word

    # Given or not, both alike: [ -n ] answers the same for the two.
    w.line(
        f'if [ "$([ -n {word(to)} ] && echo given)" = "$([ -n {word(by)} ] && echo given)" ];'
        ' then fail 2 "give exactly one of --to N or --by K"; fi'
    )


@shell_equivalent("ecs.plan_scale")
def plan_scale_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Read the desired count and Auto Scaling bounds; compute, check and cap the target."""
    from hybridops.shell.words import arith, dq, quote, word

    w = ctx.writer
    service = dq(inputs["service"])  # in messages
    svc, now, to, target = (w.temp(n) for n in ("SERVICE", "FROM", "TO", "TARGET"))
    low, high, new_low, new_high, adjust = (
        w.temp(n) for n in ("MIN", "MAX", "NEW_MIN", "NEW_MAX", "ADJUST")
    )
    given_to, by = inputs.get("to"), inputs.get("by")
    _describe(inputs, ctx, ".desiredCount", into=svc)
    w.line(f'{now}="${svc}"')
    _one_of(given_to, by, w)
    with w.block(f"if [ -n {word(given_to)} ]; then", "else"):
        w.line(f"{to}={word(given_to)}")
    w.line(
        f'  [ {word(by)} -ne 0 ] || fail 3 "--by 0 changes nothing: refusing (did you mean --to?)"'
    )
    w.line(f"  {to}=$(( {now} + {arith(by)} ))")
    w.line("fi")
    w.line(
        f'[ "${to}" -ge 0 ] || fail 3 "the result would be ${to} tasks: refusing a negative count"'
    )
    w.line(
        f'[ -z {word(by)} ] || [ "${to}" -ne 0 ] || fail 3'
        f' "--by {dq(by)} would scale the service to zero: refusing (use --to 0 to mean it)"'
    )
    limit = inputs.get("limit", 20)
    w.line(
        f'[ "${to}" -le {word(limit)} ] || fail 3'
        f' "${to} is over the limit of {dq(limit)} (limits.max_desired_count)"'
    )
    w.command(
        [
            "aws",
            "application-autoscaling",
            "describe-scalable-targets",
            "--region",
            word(ctx.region(inputs.get("region", "primary"))),
            "--service-namespace",
            "ecs",
            "--resource-ids",
            word(f"service/{inputs['cluster']}/{inputs['service']}"),
            "--query",
            quote("ScalableTargets[0]"),
            "--output",
            "json",
        ],
        capture=target,
    )
    w.line(f'{low}=$(field "${target}" MinCapacity) {high}=$(field "${target}" MaxCapacity)')
    w.line(f"{adjust}=false {new_low}='' {new_high}=''")
    # No scalable target: nothing would undo the change, and there are no bounds to show.
    with w.block(f'if [ -n "${low}" ]; then', "fi"):
        w.line(f"{new_low}=$(( {to} < {low} ? {to} : {low} ))")
        w.line(f"{new_high}=$(( {to} > {high} ? {to} : {high} ))")
        with w.block(f'if [ "${to}" -lt "${low}" ] || [ "${to}" -gt "${high}" ]; then', "fi"):
            w.line(
                f"truthy {word(inputs.get('adjust_autoscaling', False))} || fail 3"
                f' "Application Auto Scaling keeps {service} between ${low} and ${high}:'
                f' it would undo ${to} tasks (rerun with adjust_autoscaling=true)"'
            )
            w.line(f"{adjust}=true")
    return {
        "from": f'"${now}"',
        "to": f'"${to}"',
        "adjust": f'"${adjust}"',
        "min": f'"${low}"',
        "max": f'"${high}"',
        "new_min": f'"${new_low}"',
        "new_max": f'"${new_high}"',
        "capped": "false",
        "limit": word(inputs.get("limit", 20)),
    }


def _poll_delay(ctx: Any, interval: Any, delay: str) -> None:
    """Poll fast first (a change often settles in seconds), then back off to the interval."""
    from hybridops.shell.words import word

    ctx.writer.line(
        f'{delay}=$(awk -v d="${delay}" -v i={word(interval)}'
        " 'BEGIN { d *= 2; print (d < i) ? d : i }')"
    )


@shell_equivalent("ecs.wait_stable")
def wait_stable_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Poll until running == desired (== `desired` if given) with one COMPLETED deployment."""
    from hybridops.shell.steps import deadline_line
    from hybridops.shell.words import dq, quote, word

    w = ctx.writer
    timeout, interval = inputs.get("timeout_s", 600), inputs.get("interval_s", 5)
    svc, want, delay = w.temp("SERVICE"), w.temp("WANT"), w.temp("DELAY")
    w.comment(
        f"Polls (every {dq(interval)}s at most) for up to {dq(timeout)}s until running =="
        " desired with one COMPLETED deployment."
    )
    deadline = deadline_line(ctx, timeout)
    w.line(f"{delay}=$(awk -v i={word(interval)} 'BEGIN {{ print (i < 0.5) ? i : 0.5 }}')")
    query = (
        ".{desired: desiredCount, running: runningCount, deployments: length(deployments),"
        " rollout: deployments[0].rolloutState}"
    )
    with w.block("while :; do", "done"):
        _describe(inputs, ctx, query, into=svc)
        desired = inputs.get("desired")
        if desired is None:
            w.line(f'{want}=$(field "${svc}" desired)')
        else:
            w.line(f"{want}={word(desired)}")
        stable = quote(
            "($want | tonumber) as $n | .desired == $n and .running == $n"
            ' and .deployments == 1 and (.rollout == null or .rollout == "COMPLETED")'
        )
        w.line(f'if jq -e --arg want "${want}" {stable} <<<"${svc}" >/dev/null; then break; fi')
        w.line(f'echo "  running $(field "${svc}" running)/${want}" >&2')
        w.line(
            f'[ "$SECONDS" -lt "${deadline}" ] || fail 5 "service {dq(inputs["service"])}:'
            f' running $(field "${svc}" running)/${want} after {dq(timeout)}s"'
        )
        w.line(f'sleep "${delay}"')
        _poll_delay(ctx, interval, delay)
    return {"running": f'"$(field "${svc}" running)"', "desired": f'"${want}"'}


@shell_equivalent("ecs.wait_deployment")
def wait_deployment_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Poll until task_definition's deployment is stable; stop if it fails or is rolled back."""
    from hybridops.shell.steps import deadline_line
    from hybridops.shell.words import dq, quote, word

    w = ctx.writer
    timeout, interval = inputs.get("timeout_s", 600), inputs.get("interval_s", 5)
    svc, ours, tracked, events = (w.temp(n) for n in ("SERVICE", "OURS", "TRACKED", "EVENTS"))
    started, seen = w.temp("STARTED"), w.temp("SEEN")
    definition = word(inputs["task_definition"])
    w.comment(
        f"Polls every {dq(interval)}s for up to {dq(timeout)}s until"
        f" {dq(inputs['task_definition'])} is the one COMPLETED deployment with every task"
        " running; its FAILED or rolled-back deployment stops the script (exit 1)."
    )
    deadline = deadline_line(ctx, timeout)
    w.line(f"{started}=$SECONDS {ours}='' {events}=$(mktemp)")
    with w.block("while :; do", "done"):
        _describe(inputs, ctx, "", into=svc)
        # Service events, oldest first (each kept once, below): the ones seen while waiting.
        w.line(f'jq -c \'.events[:20] | reverse | .[]\' <<<"${svc}" >>"${events}"')
        w.line(
            f'[ -n "${ours}" ] || {ours}=$(jq -r --arg td {definition}'
            " '[.deployments[] | select(.taskDefinition == $td)][0].id // \"\"'"
            f' <<<"${svc}")'
        )
        w.line(
            f"{tracked}=$(jq -c --arg id \"${ours}\" '[.deployments[] | select(.id == $id)][0]'"
            f' <<<"${svc}")'
        )
        w.line(
            f'[ "$(field "${tracked}" rolloutState)" != FAILED ] || fail 1 "deployment ${ours}'
            f' failed: $(field "${tracked}" rolloutStateReason) (the ECS circuit breaker rolled it'
            ' back)"'
        )
        w.line(
            f'[ -z "${ours}" ] || [ "${tracked}" != null ] || [ "$(field "${svc}" taskDefinition)"'
            f' = {definition} ] || fail 1 "deployment ${ours} was rolled back to'
            f' $(field "${svc}" taskDefinition)"'
        )
        w.line(
            f"if jq -e --arg td {definition} '.deployments[0].taskDefinition == $td"
            ' and .deployments[0].rolloutState == "COMPLETED" and (.deployments | length) == 1'
            f' and .runningCount == .desiredCount\' <<<"${svc}" >/dev/null; then break; fi'
        )
        w.line(
            'echo "  $(jq -r \'"\\(.deployments[0].rolloutState) running'
            f' \\(.runningCount)/\\(.desiredCount)"\' <<<"${svc}")" >&2'
        )
        w.line(
            f'[ "$SECONDS" -lt "${deadline}" ] || fail 5 "service {dq(inputs["service"])} not'
            f' stable after {dq(timeout)}s"'
        )
        w.line(f"sleep {word(interval)}")
    once = "reduce .[] as $e ({}; .[$e.id] //= $e.message) | [.[]][-10:]"
    w.line(f'{seen}=$(jq -sc {quote(once)} "${events}")')
    return {
        "stable": "true",
        "rollout_state": "COMPLETED",
        "deployment_id": f'"$(jqv "${svc}" \'.deployments[0].id\')"',
        "events": f'"${seen}"',
        "duration_s": f'"$((SECONDS - {started}))"',
    }


@shell_equivalent("ecs.rollback_target")
def rollback_target_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """The revision a rollout replaces, else the next older ACTIVE one (or `to`), and the diff."""
    from hybridops.shell.words import quote, word

    w = ctx.writer
    svc, current, family, revision = (w.temp(n) for n in ("SERVICE", "CURRENT", "FAMILY", "REV"))
    to, ref, reason, chosen, diff = (w.temp(n) for n in ("TO", "REF", "REASON", "CHOSEN", "DIFF"))
    replaced, current_def = w.temp("REPLACED"), w.temp("CURRENT_DEF")
    region = word(ctx.region(inputs.get("region", "primary")))
    _describe(inputs, ctx, "", into=svc)
    w.line(f'{current}=$(field "${svc}" taskDefinition)')
    w.line(f'{family}="${{{current}##*/}}" {revision}="${{{current}##*:}}"')
    w.line(f'{family}="${{{family}%:*}}"')
    w.line(
        f'{replaced}=$(jqv "${svc}" \'[.deployments[1:][] | select(.status == "ACTIVE")][0]'
        ".taskDefinition')"
    )
    w.line(f"{to}={word(inputs.get('to'))}")
    w.line(f'if [ -n "${to}" ]; then')
    w.line(f'  case "${to}" in *[!0-9]*) {ref}="${to}" ;; *) {ref}="${family}:${to}" ;; esac')
    w.line(f"  {reason}='requested with --to'")
    w.line(
        f'elif [ "$(jqv "${svc}" \'.deployments[0].rolloutState\')" = IN_PROGRESS ]'
        f' && [ -n "${replaced}" ]; then'
    )
    w.line(f"  {ref}=\"${replaced}\" {reason}='the deployment in progress replaces it'")
    w.line("else")
    w.indent += 1
    w.comment(
        "hybridops first prefers the newest older revision `hybridops health` saw healthy (its"
        " state store) and refuses to undo its own last rollback; a script cannot know either."
    )
    w.command(
        [
            "aws",
            "ecs",
            "list-task-definitions",
            "--region",
            region,
            "--family-prefix",
            f'"${family}"',
            "--status",
            "ACTIVE",
            "--sort",
            "DESC",
            "--query",
            "taskDefinitionArns",
            "--output",
            "json",
        ],
        capture=ref,
    )
    w.line(
        f'{ref}=$(jq -r --argjson rev "${revision}" \'[.[] | select((split(":") | last'
        ' | tonumber) < $rev)] | sort_by(split(":") | last | tonumber) | last // ""\''
        f' <<<"${ref}")'
    )
    w.line(
        f'[ -n "${ref}" ] || fail 3 "no ACTIVE revision of ${family} older than revision'
        f' ${revision}"'
    )
    w.line(f"{reason}='next older ACTIVE revision'")
    w.indent -= 1
    w.line("fi")
    describe = (
        "aws ecs describe-task-definition --region {region} --task-definition {name}"
        " --query taskDefinition --output json"
    )
    read_chosen = describe.format(region=region, name=f'"${ref}"')
    w.line(f'{chosen}=$({read_chosen}) || fail 2 "task definition ${ref} does not exist"')
    w.line(
        f'[ "$(field "${chosen}" status)" != INACTIVE ] || fail 3 "$(field "${chosen}"'
        ' taskDefinitionArn): INACTIVE: hybridops never rolls back to a deregistered revision"'
    )
    w.line(
        f'[ "$(field "${chosen}" taskDefinitionArn)" != "${current}" ]'
        f' || [ "$(jqv "${svc}" \'.deployments[0].rolloutState\')" = IN_PROGRESS ]'
        f' || fail 3 "the service already runs ${{{current}##*/}}"'
    )
    read_current = describe.format(region=region, name=f'"${current}"')
    w.line(f"{current_def}=$({read_current})")
    # The image and environment per container, as hybridops shows them before asking.
    w.line(
        f'{diff}=$(jq -nc --argjson a "${current_def}" --argjson b "${chosen}" '
        + quote(
            'def env: [.environment[]? | {(.name): (.value // "")}] | add // {};'
            " [$b.containerDefinitions[] | {(.name): .}] | add as $to"
            " | [$a.containerDefinitions[] | . as $c | $to[$c.name] as $o | select($o != null)"
            " | {(.name): ((if $c.image != $o.image then {image: {from: $c.image, to: $o.image}}"
            " else {} end) + (($c | env) as $x | ($o | env) as $y"
            " | [($x + $y | keys[]) | select($x[.] != $y[.]) | {(.): {from: $x[.], to: $y[.]}}]"
            " | add | if . == null then {} else {environment: .} end))}"
            " | select(.[] != {})] | add // {}"
        )
        + ")"
    )
    return {
        "current": f'"${current}"',
        "target": f'"$(field "${chosen}" taskDefinitionArn)"',
        "reason": f'"${reason}"',
        "diff": f'"${diff}"',
    }
