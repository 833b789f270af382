"""The facts document runbook `triggers:` read: its shape, for validation and the docs.

`hybridops triage` gathers a document of this shape (hybridops.triage.facts) and evaluates every
runbook's triggers over it. A leaf is described by a sentence; what lies under a leaf (a
component's name, a list's items) is not checked.
"""

from __future__ import annotations

from typing import Any

_CHECK = "pass, warn or fail, as `health` judges it"

FACTS: dict[str, Any] = {
    "collected_at": "when the facts were gathered (ISO 8601, UTC)",
    "env": "the environment's name",
    "primary": {
        "region": "the primary region",
        "verdict": "health's verdict of the primary side: healthy, degraded or unhealthy",
        "endpoint": {
            "status": f"the /health check: {_CHECK}",
            "code": "its HTTP status (null when nothing answered)",
            "reachable": "whether anything answered at all",
            "detail": "health's detail line",
        },
        "components": "component name -> {status, reason}; status is healthy, degraded,"
        " unhealthy or unreachable",
        "router": {
            "name": "the router component (hybrid-router)",
            "status": "healthy, degraded, unhealthy or unreachable",
            "reason": "the reason its endpoint gave",
        },
        "failing_components": "names of the components that are unhealthy or unreachable",
        "down": "nothing serves: /health fails and every component is unhealthy or unreachable",
        "api": "the region's ECS API as read: ok, unreachable (connection errors, 5xx) or"
        " denied (credentials, permissions)",
        "ecs": {
            "status": f"the ECS check: {_CHECK}",
            "detail": "health's detail line",
            "desired": "desired task count",
            "running": "running task count",
            "revision": "the PRIMARY deployment's task definition (family:revision)",
            "rollout": "its rollout state (IN_PROGRESS, COMPLETED, FAILED)",
            "deployments": "every deployment: {id, status, rollout, revision, age_s}",
            "failure_events": "failure events of the PRIMARY deployment in the last 10 min",
            "latest_failure": "the newest of them",
            "max_desired": "limits.max_desired_count (scale-service's cap)",
            "at_cap": "desired count is at the cap: scaling up would be refused",
            "scale_up_to": "desired count + scaling.ecs_step (the report's +2), at most the cap",
        },
        "targets": {
            "status": f"the ALB target check: {_CHECK}",
            "detail": "health's detail line",
            "healthy": "healthy targets",
            "total": "registered targets",
        },
    },
    "alarms": {
        "firing": "alarms in ALARM: {name, metric, namespace, region, since, for_s}",
        "names": "their names",
        "metrics": "their metric names (CPUUtilization, TargetResponseTime, Throttles...)",
    },
    "route53": {
        "serving": "the side the public name sends traffic to: primary, secondary or unknown",
        "inverted": "ids of inverted health checks (a failover in force)",
    },
    "secondary": {
        "region": "the backup region",
        "service_found": "the backup ECS service exists (ACTIVE)",
        "desired": "its desired task count",
        "running": "its running task count",
        "standby": "cold by design: desired 0 and not serving",
        "endpoint": {
            "reachable": "its /health answered at all",
            "code": "its HTTP status",
            "status": "the status it reported",
            "reason": "the reason it gave",
        },
        "able_to_serve": "it can take traffic: healthy, or a cold standby whose endpoint names"
        " no fault other than having no tasks (failover warms and verifies it)",
        "why": "why able_to_serve is what it is",
    },
    "deploys": {
        "current": "the revision being served or rolled out (family:revision)",
        "deployment": "the PRIMARY deployment's id",
        "age_s": "seconds since the PRIMARY deployment started",
        "age": "the same in words (40s, 12 min, 3 h)",
        "fresh": "it started within the fresh window",
        "fresh_window_s": "how recent a deployment counts as fresh (1 h)",
        "failing": "a new revision fails: rollout FAILED, failure events since it started, or"
        " a rollout in progress while the router is unhealthy",
        "failure": "the evidence of that, in words",
        "previous": "the revision a rollback returns to: the newest known-good one older than"
        " the current, else the older one it replaces; never a newer one",
        "new_revision": "the current deployment brought a newer revision than the one it"
        " replaces (not a restart, not a rollback)",
        "rolling_out": "the current deployment is still IN_PROGRESS",
        "known_good": "revisions `health` has seen healthy",
        "current_known_good": "the current revision has been seen healthy",
    },
    "lambda": {
        "function": "the router Lambda",
        "alias": "its alias",
        "throttles": "Throttles in the last window_minutes (sum)",
        "window_minutes": "the window (5 min)",
        "provisioned": "provisioned concurrency requested on the alias (0 when none)",
        "max_provisioned": "limits.max_provisioned_concurrency (scale-lambda's cap)",
        "at_cap": "provisioned concurrency is at the cap",
        "scale_up_to": "provisioned + scaling.lambda_step (the report's +50), at most the cap",
    },
    "bedrock": {
        "client": "the Bedrock client component: healthy, degraded, unhealthy or unreachable",
        "reason": "the reason its endpoint gave",
        "circuit": "the Bedrock circuit breaker: open or closed",
        "model": "the configured model offered and ACTIVE: pass, warn or fail (read when the"
        " client is not healthy)",
        "model_detail": "in words",
        "permission": "the client role may bedrock:InvokeModel: pass, warn or fail",
        "permission_detail": "in words",
    },
    "metrics": {
        name: {
            "fired": f"{label} stayed over its threshold for the whole window",
            "value": "the lowest value of the window (or the highest, when data is short)",
            "threshold": "the threshold",
            "minutes": "the window",
            "detail": "in words",
        }
        for name, label in (
            ("cpu", "ECS CPU %"),
            ("memory", "ECS memory %"),
            ("queue_depth", "the queue depth"),
            ("p95_ms", "the ALB's P95 response time (ms)"),
            (
                "error_rate",
                "the ALB's 5xx share of requests (%, over the SLO; judged on 200+ requests only)",
            ),
        )
    },
    "unknown": "area (a dotted path such as primary.ecs) -> why it could not be read",
    "skipped": "area -> why it was not read (nothing read first made it relevant)",
    "absent": "area -> what the environment does not configure (conditions read it as null)",
}

ROOTS = tuple(FACTS)


def path_problem(chain: tuple[str, ...]) -> str | None:
    """Why a dotted path names no fact (None when it does)."""
    node: Any = FACTS
    for depth, part in enumerate(chain):
        if not isinstance(node, dict):
            return None  # under a leaf: a component's name, a list item...
        if part not in node:
            where = ".".join(chain[:depth]) or "the facts"
            known = ", ".join(sorted(node))
            return f"{'.'.join(chain)}: {where} has no {part!r} (known: {known})"
        node = node[part]
    return None


def leaves(node: dict[str, Any] | None = None, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted path, description) of every documented fact."""
    out: list[tuple[str, str]] = []
    for key, value in (node if node is not None else FACTS).items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(leaves(value, path + "."))
        else:
            out.append((path, value))
    return out
