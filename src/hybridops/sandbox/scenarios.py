"""Fault scenarios for game days: what each breaks, and which procedure mends it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hybridops.sandbox.controller import service_key
from hybridops.sandbox.topology import (
    CLUSTER,
    FAMILY,
    IMAGES,
    PRIMARY,
    SERVICE,
    task_definition,
)

if TYPE_CHECKING:
    from hybridops.sandbox.server import Sandbox


@dataclass(frozen=True)
class Scenario:
    """A named fault."""

    name: str
    summary: str
    symptoms: str
    remedy: str
    inject: Callable[[Sandbox], None]


def _bad_deploy(sandbox: Sandbox) -> None:
    ecs = sandbox.internal_client("ecs")
    arn = ecs.register_task_definition(
        family=FAMILY,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        containerDefinitions=[task_definition(IMAGES[3], "1.6.0-rc1")],
    )["taskDefinition"]["taskDefinitionArn"]
    with sandbox.controller.lock:
        sandbox.controller.bad_task_definitions.add(arn)
        # The injected deployment keeps failing instead of rolling itself back: the
        # operator has to act, as when the circuit breaker is off or slow. A later
        # deployment of the same revision does trip the circuit breaker.
        sandbox.controller.stick_next_rollout = service_key(PRIMARY, CLUSTER, SERVICE)
    ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=arn)


def _flag(name: str) -> Callable[[Sandbox], None]:
    def inject(sandbox: Sandbox) -> None:
        sandbox.faults.add(name)

    return inject


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "bad-deploy",
            "revision 3 of the task definition is deployed and fails its health checks",
            "hybrid-router unhealthy, deployment stuck IN_PROGRESS, error logs burst",
            "roll back to the last known-good revision (hybridops run rollback-service)",
            _bad_deploy,
        ),
        Scenario(
            "region-outage",
            "the primary region is unavailable",
            "every primary health check fails, primary targets unhealthy",
            "fail over to us-west-2 (hybridops failover --to secondary)",
            _flag("region-outage"),
        ),
        Scenario(
            "bedrock-down",
            "Bedrock calls fail in the primary region",
            "bedrock-client unhealthy, ListFoundationModels answers 503, error logs",
            "open the Bedrock circuit breaker (hybridops circuit open --reason ...)",
            _flag("bedrock-down"),
        ),
        Scenario(
            "latency-spike",
            "P95 response time above 2000 ms and CPU above 70%",
            "hybrid-router degraded, slow requests in logs, CPU and latency alarms",
            "scale the service up by 2 tasks (hybridops run scale-service -p by=2)",
            _flag("latency-spike"),
        ),
        Scenario(
            "backup-broken",
            "the backup region cannot serve (its cache is unreachable)",
            "every us-west-2 health check fails even when its service runs",
            "do not fail over: hybridops failover refuses; mend the backup first",
            _flag("backup-broken"),
        ),
        Scenario(
            "dns-stale",
            "resolvers keep sending the public name to eu-central-1 after a Route 53 change",
            "after a failover, the public name still answers from the primary region",
            "hybridops failover verifies through the public name and reverts (--auto-revert)",
            _flag("dns-stale"),
        ),
        Scenario(
            "lambda-throttle",
            "the router Lambda is throttled",
            "hybrid-router degraded, 429 'Rate exceeded' in the Lambda logs, throttle alarm",
            "add 50 provisioned concurrency to the live alias (hybridops run scale-lambda -p by=50)",
            _flag("lambda-throttle"),
        ),
    ]
}
