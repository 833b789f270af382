"""Lambda actions: plan and wait for provisioned concurrency."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from hybridops.aws import lambda_
from hybridops.engine.events import WaitProgress
from hybridops.errors import BadInput, Refused
from hybridops.steps.registry import action

if TYPE_CHECKING:
    from hybridops.steps.base import StepContext


class ProvisionedPlanInputs(BaseModel):
    """Inputs of `lambda.plan_provisioned`."""

    function: str
    alias: str
    to: int | None = None
    by: int | None = None
    limit: int = Field(500, ge=0)
    region: str = "primary"


@action("lambda.plan_provisioned", inputs=ProvisionedPlanInputs)
def plan_provisioned(inputs: ProvisionedPlanInputs, ctx: StepContext) -> dict[str, Any]:
    """Current and target provisioned concurrency on the alias, refused over the cap."""
    if (inputs.to is None) == (inputs.by is None):
        raise BadInput("give exactly one of --to N or --by K")
    client = ctx.clients.client("lambda", inputs.region)
    config = lambda_.current_provisioned(client, inputs.function, inputs.alias)
    current = int((config or {}).get("RequestedProvisionedConcurrentExecutions", 0))
    target = current + inputs.by if inputs.by is not None else int(inputs.to or 0)
    if inputs.by == 0:
        raise Refused("--by 0 changes nothing: refusing")
    if target < 1:
        raise Refused(f"the result would be {target}: provisioned concurrency must be at least 1")
    if target > inputs.limit:
        raise Refused(
            f"{target} is over the limit of {inputs.limit} (limits.max_provisioned_concurrency)"
        )
    return {"from": current, "to": target, "capped": False, "limit": inputs.limit}


class ProvisionedWaitInputs(BaseModel):
    """Inputs of `lambda.wait_provisioned`."""

    function: str
    alias: str
    timeout_s: float = Field(600, gt=0)
    interval_s: float = Field(5, ge=0)
    region: str = "primary"


@action("lambda.wait_provisioned", inputs=ProvisionedWaitInputs, waits=True)
def wait_provisioned(inputs: ProvisionedWaitInputs, ctx: StepContext) -> dict[str, Any]:
    """Wait until the alias's provisioned concurrency is READY; FAILED fails with its reason."""
    client = ctx.clients.client("lambda", inputs.region)
    started = time.monotonic()
    remaining = ctx.remaining()
    timeout = inputs.timeout_s if remaining is None else min(inputs.timeout_s, remaining)

    def report(detail: str) -> None:
        ctx.emit(
            WaitProgress(ctx.run_id, ctx.step_name, time.monotonic() - started, timeout, detail)
        )

    config = lambda_.wait_until_ready(
        client,
        inputs.function,
        inputs.alias,
        timeout_s=timeout,
        interval_s=inputs.interval_s,
        sleep=ctx.sleep,
        progress=report,
    )
    return {
        "status": config.get("Status"),
        "available": config.get("AvailableProvisionedConcurrentExecutions"),
    }
