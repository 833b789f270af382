"""ECS: last known-good revision, task definition diffs, deployment waits, desired-count plans."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hybridops.errors import BadInput, Refused, StepFailed, TimedOut


def family_and_revision(arn: str) -> tuple[str, int]:
    """`arn:...:task-definition/hybrid-router:3` -> ("hybrid-router", 3)."""
    name = arn.rsplit("/", 1)[-1]
    family, _, revision = name.rpartition(":")
    return family, int(revision)


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    """The service description; BadInput if it does not exist."""
    response = ecs.describe_services(cluster=cluster, services=[service])
    services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        reason = (response.get("failures") or [{}])[0].get("reason", "MISSING")
        raise BadInput(f"ECS service {service!r} in cluster {cluster!r} not found ({reason})")
    return dict(services[0])


@dataclass
class RollbackTarget:
    """Where a rollback goes, and why."""

    current: str
    target: str
    reason: str
    diff: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "current": self.current,
            "target": self.target,
            "reason": self.reason,
            "diff": self.diff,
        }


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("environment", [])}


def task_definition_diff(current: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """Image and environment differences per container between two task definitions."""
    out: dict[str, Any] = {}
    targets = {c["name"]: c for c in target.get("containerDefinitions", [])}
    for container in current.get("containerDefinitions", []):
        other = targets.get(container["name"])
        if other is None:
            continue
        change: dict[str, Any] = {}
        if container.get("image") != other.get("image"):
            change["image"] = {"from": container.get("image"), "to": other.get("image")}
        a, b = _env(container), _env(other)
        env_changes = {
            key: {"from": a.get(key), "to": b.get(key)}
            for key in sorted(set(a) | set(b))
            if a.get(key) != b.get(key)
        }
        if env_changes:
            change["environment"] = env_changes
        if change:
            out[container["name"]] = change
    return out


def resolve_revision(ecs: Any, family: str, to: str) -> dict[str, Any]:
    """A task definition named by revision number, family:revision or ARN."""
    ref = f"{family}:{to}" if to.isdigit() else to
    try:
        return dict(ecs.describe_task_definition(taskDefinition=ref)["taskDefinition"])
    except Exception as exc:  # ClientException for a revision that never existed
        if type(exc).__name__ in ("ClientException", "ClientError"):
            raise BadInput(f"task definition {ref!r} does not exist") from None
        raise


@dataclass
class LandedRollback:
    """A rollback hybridops made: the revision it deployed, when, in which run, how it ended."""

    task_definition: str
    at: dt.datetime
    run_id: str | None = None
    run_status: str | None = None


# How far apart the audited UpdateService and the deployment's createdAt may be (clock skew).
LANDED_SKEW_S = 60.0


def _made_by(deployment: dict[str, Any], rollbacks: list[LandedRollback]) -> LandedRollback | None:
    """The hybridops rollback that created this deployment, if one did."""
    created = deployment.get("createdAt")
    if created is None:
        return None
    started = _aware(created)
    matches = [
        r
        for r in rollbacks
        if r.task_definition == deployment.get("taskDefinition")
        and abs((r.at - started).total_seconds()) <= LANDED_SKEW_S
    ]
    return max(matches, key=lambda r: r.at, default=None)


def _aware(moment: Any) -> dt.datetime:
    if isinstance(moment, dt.datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.fromtimestamp(float(moment), dt.timezone.utc)


def _rev(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def rollback_target(
    ecs: Any,
    cluster: str,
    service: str,
    *,
    to: str | None = None,
    known_good: Callable[[str], set[str]] | None = None,
    rollbacks_since: Callable[[dt.datetime], list[LandedRollback]] | None = None,
) -> RollbackTarget:
    """The last known-good revision (see the rules in docs/operations.md), or `to` if given."""
    svc = describe_service(ecs, cluster, service)
    current = svc["taskDefinition"]
    family, current_rev = family_and_revision(current)
    deployments = svc.get("deployments", [])
    if to:
        chosen = resolve_revision(ecs, family, to)
        reason = "requested with --to"
    else:
        primary = deployments[0] if deployments else {}
        landed = None
        if rollbacks_since is not None and primary.get("createdAt") is not None:
            since = _aware(primary["createdAt"]) - dt.timedelta(seconds=LANDED_SKEW_S)
            landed = _made_by(primary, rollbacks_since(since))
        replaced = [d for d in deployments[1:] if d.get("status") == "ACTIVE"]
        in_progress = primary.get("rolloutState") == "IN_PROGRESS"
        if landed is not None:
            _refuse_a_second_rollback(landed, in_progress, replaced)
        if in_progress and replaced:
            chosen = resolve_revision(ecs, family, replaced[0]["taskDefinition"])
            reason = "the deployment in progress replaces it"
        else:
            pages = ecs.get_paginator("list_task_definitions").paginate(
                familyPrefix=family, status="ACTIVE", sort="DESC"
            )
            arns = [arn for page in pages for arn in page["taskDefinitionArns"]]
            # Order by revision ourselves: not every implementation honours sort=DESC.
            older = sorted(
                (a for a in arns if family_and_revision(a)[1] < current_rev),
                key=lambda a: family_and_revision(a)[1],
                reverse=True,
            )
            if not older:
                raise Refused(f"no ACTIVE revision of {family} older than revision {current_rev}")
            good = known_good(family) if known_good else set()
            seen_good = [a for a in older if a in good]
            pick = seen_good[0] if seen_good else older[0]
            reason = (
                "last revision hybridops saw healthy" if seen_good else "next older ACTIVE revision"
            )
            chosen = resolve_revision(ecs, family, pick)
    if chosen.get("status") == "INACTIVE":
        raise Refused(
            f"{chosen['taskDefinitionArn'].rsplit('/', 1)[-1]} is INACTIVE: hybridops never rolls"
            " back to a deregistered revision"
        )
    if chosen["taskDefinitionArn"] == current and not (
        deployments and deployments[0].get("rolloutState") == "IN_PROGRESS"
    ):
        raise Refused(f"the service already runs {current.rsplit('/', 1)[-1]}")
    current_def = resolve_revision(ecs, family, current)
    return RollbackTarget(
        current, chosen["taskDefinitionArn"], reason, task_definition_diff(current_def, chosen)
    )


def _refuse_a_second_rollback(
    landed: LandedRollback, in_progress: bool, replaced: list[dict[str, Any]]
) -> None:
    """Refuse to undo, or go past, the rollback that made the PRIMARY deployment."""
    at = landed.at.strftime("%H:%M:%S UTC")
    run = f"run {landed.run_id}, " if landed.run_id else ""
    revision = _rev(landed.task_definition)
    if in_progress:
        back_to = f" back to {_rev(replaced[0]['taskDefinition'])}" if replaced else ""
        raise Refused(
            f"a rollback to {revision} is in progress ({run}started {at}): rolling back now"
            f" would go{back_to}, the revision it replaces",
            hint="wait for it: `hybridops health --watch`; to choose a revision yourself,"
            " give --to REV",
        )
    if landed.run_status in ("failed", "timed_out", "interrupted"):
        return  # it landed but was not verified healthy: going further back is the next step
    raise Refused(
        f"{revision} is where the last rollback landed ({run}{at}): rolling back again would"
        " go past that known-good revision",
        hint="if it is bad too, name the revision to go to: --to REV",
    )


@dataclass
class DeploymentOutcome:
    """How a wait for a deployment ended."""

    stable: bool
    rollout_state: str
    deployment_id: str | None
    events: list[str]
    duration_s: float


def wait_for_deployment(
    ecs: Any,
    cluster: str,
    service: str,
    task_definition: str,
    *,
    timeout_s: float,
    interval_s: float,
    sleep: Callable[[float], None],
    progress: Callable[[str], None] | None = None,
    started: float | None = None,
) -> DeploymentOutcome:
    """Wait truthfully: stable, failed (circuit breaker / rolled back), or timed out.

    `started` (monotonic) is when the timeout began, if before now (a step's own start).
    """
    began = time.monotonic()  # duration_s: how long this wait itself took
    started = began if started is None else started
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
            return DeploymentOutcome(
                True, "COMPLETED", primary.get("id"), events, time.monotonic() - began
            )
        if progress is not None:
            progress(
                f"{primary.get('rolloutState', '?')} running {svc.get('runningCount')}/"
                f"{svc.get('desiredCount')}" + (f" — {events[-1]}" if events else "")
            )
        if time.monotonic() + interval_s > deadline:
            raise TimedOut(
                f"service {service} not stable after {timeout_s:.3g}s"
                f" (rollout {primary.get('rolloutState')}, running {svc.get('runningCount')}/"
                f"{svc.get('desiredCount')})"
            )
        sleep(interval_s)


@dataclass
class CountPlan:
    """A desired-count change, after caps."""

    current: int
    target: int
    capped: bool
    limit: int


def plan_desired_count(current: int, *, to: int | None, by: int | None, limit: int) -> CountPlan:
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
    return CountPlan(current, target, False, limit)
