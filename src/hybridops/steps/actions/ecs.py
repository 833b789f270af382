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


def _bounded(ctx: StepContext, timeout: float) -> float:
    remaining = ctx.remaining()
    return timeout if remaining is None else max(0.0, min(timeout, remaining))


@action("ecs.wait_deployment", inputs=WaitDeploymentInputs, waits=True)
def wait_deployment(inputs: WaitDeploymentInputs, ctx: StepContext) -> dict[str, Any]:
    """Wait until the deployment of task_definition is stable; fail on circuit breaker."""
    client = ctx.clients.client("ecs", inputs.region)
    timeout = _bounded(ctx, inputs.timeout_s)
    outcome = ecs.wait_for_deployment(
        client,
        inputs.cluster,
        inputs.service,
        inputs.task_definition,
        timeout_s=timeout,
        interval_s=inputs.interval_s,
        sleep=ctx.sleep,
        progress=_progress(ctx, time.monotonic(), timeout),
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


@action("ecs.wait_stable", inputs=StableInputs, waits=True)
def wait_stable(inputs: StableInputs, ctx: StepContext) -> dict[str, Any]:
    """Wait until running == desired (== `desired` if given) with one COMPLETED deployment."""
    client = ctx.clients.client("ecs", inputs.region)
    timeout = _bounded(ctx, inputs.timeout_s)
    started = time.monotonic()
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
                "duration_s": round(time.monotonic() - started, 3),
            }
        report(f"running {svc['runningCount']}/{want}")
        if time.monotonic() + delay > started + timeout:
            raise TimedOut(
                f"service {inputs.service}: running {svc['runningCount']}/{want}"
                f" after {timeout:.3g}s"
            )
        ctx.sleep(delay)
        # Poll fast first (a scale-out often settles in seconds), then back off to interval_s.
        delay = min(inputs.interval_s, delay * 2)


# -- as shell commands (run --print-cli, runbook docs) ---------------------------------------


def _service_words(inputs: dict[str, Any], ctx: Any) -> list[str]:
    from hybridops.shell.words import word

    return [
        "--region",
        word(ctx.region(inputs.get("region", "primary"))),
        "--cluster",
        word(inputs["cluster"]),
    ]


@shell_equivalent("ecs.plan_scale")
def plan_scale_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Read the desired count and Auto Scaling bounds; compute and cap the target."""
    from hybridops.shell.words import arith, word

    w = ctx.writer
    where = _service_words(inputs, ctx)
    now, to, low, high, adjust = (w.temp(n) for n in ("FROM", "TO", "MIN", "MAX", "ADJUST"))
    w.command(
        [
            "aws",
            "ecs",
            "describe-services",
            *where,
            "--services",
            word(inputs["service"]),
            "--query",
            "'services[0].desiredCount'",
            "--output",
            "text",
        ],
        capture=now,
    )
    given_to, by = inputs.get("to"), inputs.get("by")
    w.line(
        f"if [ -n {word(given_to)} ]; then {to}={word(given_to)};"
        f" else {to}=$(( {now} + {arith(by)} )); fi"
    )
    limit = arith(inputs.get("limit", 20))
    w.line(f'[ "${to}" -le {limit} ] || fail 3 "${to} is over the limit of {limit}"')
    w.line(f'[ "${to}" -ge 0 ] || fail 3 "a desired count cannot be negative"')
    resource = word(f"service/{inputs['cluster']}/{inputs['service']}")
    w.command(
        [
            "read",
            "-r",
            low,
            high,
            "<",
            "<(aws",
            "application-autoscaling",
            "describe-scalable-targets",
            "--region",
            word(ctx.region(inputs.get("region", "primary"))),
            "--service-namespace",
            "ecs",
            "--resource-ids",
            resource,
            "--query",
            "'ScalableTargets[0].[MinCapacity, MaxCapacity]'",
            "--output",
            "text)",
        ]
    )
    w.line(f"{adjust}=false")
    test = f'[ "${low}" != None ] && {{ [ "${to}" -lt "${low}" ] || [ "${to}" -gt "${high}" ]; }}'
    with w.block(f"if {test}; then", "fi"):
        w.line(
            f"truthy {word(inputs.get('adjust_autoscaling', False))} || fail 3"
            f' "Auto Scaling keeps the service between ${low} and ${high}"'
        )
        w.line(f"{adjust}=true")
    return {
        "from": f'"${now}"',
        "to": f'"${to}"',
        "adjust": f'"${adjust}"',
        "min": f'"${low}"',
        "max": f'"${high}"',
        "new_min": f'"$(( {to} < {low} ? {to} : {low} ))"',
        "new_max": f'"$(( {to} > {high} ? {to} : {high} ))"',
        "capped": "false",
        "limit": word(inputs.get("limit", 20)),
    }


@shell_equivalent("ecs.wait_stable")
def wait_stable_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """`aws ecs wait services-stable` (running == desired, one deployment)."""
    from hybridops.shell.words import word

    w = ctx.writer
    w.comment("The AWS CLI waiter polls every 15 s for up to 10 minutes.")
    where = [*_service_words(inputs, ctx), "--services", word(inputs["service"])]
    w.command(["aws", "ecs", "wait", "services-stable", *where])
    count = (
        f'"$(aws ecs describe-services {" ".join(where)}'
        " --query 'services[0].runningCount' --output text)\""
    )
    return {"running": count, "desired": count}


@shell_equivalent("ecs.wait_deployment")
def wait_deployment_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Wait for the service to settle, then check the new deployment COMPLETED."""
    from hybridops.shell.words import quote, word

    w = ctx.writer
    where = [*_service_words(inputs, ctx), "--services", word(inputs["service"])]
    w.command(["aws", "ecs", "wait", "services-stable", *where])
    state = w.temp("ROLLOUT")
    query = word(
        f"services[0].deployments[?taskDefinition=='{inputs['task_definition']}']"
        " | [0].rolloutState"
    )
    w.command(
        ["aws", "ecs", "describe-services", *where, "--query", query, "--output", "text"],
        capture=state,
    )
    w.line(
        f'[ "${state}" = COMPLETED ] || fail 1 "the deployment is ${state}'
        f' (a circuit breaker rollback?)"'
    )
    events = (
        f'"$(aws ecs describe-services {" ".join(where)}'
        f' --query {quote("services[0].events[:10].message")} --output text)"'
    )
    return {"stable": "true", "rollout_state": f'"${state}"', "events": events}


@shell_equivalent("ecs.rollback_target")
def rollback_target_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """List the current and recent revisions; the operator picks (or --to names) the target."""
    from hybridops.shell.words import word

    w = ctx.writer
    where = [*_service_words(inputs, ctx), "--services", word(inputs["service"])]
    current, target = w.temp("CURRENT"), w.temp("TARGET")
    w.command(
        [
            "aws",
            "ecs",
            "describe-services",
            *where,
            "--query",
            "'services[0].taskDefinition'",
            "--output",
            "text",
        ],
        capture=current,
    )
    w.line(f'echo "current: ${current}" >&2')
    family = f'"$(basename "${{{current}%:*}}")"'
    w.command(
        [
            "aws",
            "ecs",
            "list-task-definitions",
            "--region",
            word(ctx.region(inputs.get("region", "primary"))),
            "--family-prefix",
            family,
            "--sort",
            "DESC",
            "--max-items",
            "5",
            "--output",
            "text",
            ">&2",
        ]
    )
    w.comment(
        "hybridops picks the newest older ACTIVE revision it last saw healthy; here you pick."
    )
    given = inputs.get("to")
    w.line(f"{target}={word(given)}")
    with w.block(f'case "${target}" in', "esac"):
        w.line(f"'') ask_value {target} 'task definition (family:revision) to roll back to' ;;")
        w.line("*:*) ;;")
        w.line(f'*) {target}="${{{current}%:*}}:${target}" ;;')
    return {
        "current": f'"${current}"',
        "target": f'"${target}"',
        "reason": "'chosen by the operator'",
        "diff": "''",
    }
