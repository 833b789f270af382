"""Lambda actions: plan and wait for provisioned concurrency."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from hybridops.aws import lambda_
from hybridops.engine.events import WaitProgress
from hybridops.errors import BadInput, Refused
from hybridops.steps.registry import action, shell_equivalent

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


def _alias_words(inputs: dict[str, Any], ctx: Any) -> list[str]:
    from hybridops.shell.words import word

    return [
        "--region",
        word(ctx.region(inputs.get("region", "primary"))),
        "--function-name",
        word(inputs["function"]),
        "--qualifier",
        word(inputs["alias"]),
    ]


@shell_equivalent("lambda.plan_provisioned")
def plan_provisioned_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Read the alias's provisioned concurrency; compute and cap the target."""
    from hybridops.shell.words import arith, word

    w = ctx.writer
    now, to = w.temp("FROM"), w.temp("TO")
    alias = " ".join(_alias_words(inputs, ctx))
    w.line(
        f"{now}=$(aws lambda get-provisioned-concurrency-config {alias}"
        " --query RequestedProvisionedConcurrentExecutions --output text 2>/dev/null || echo 0)"
    )
    given_to, by = inputs.get("to"), inputs.get("by")
    w.line(
        f"if [ -n {word(given_to)} ]; then {to}={word(given_to)};"
        f" else {to}=$(( {now} + {arith(by)} )); fi"
    )
    limit = arith(inputs.get("limit", 500))
    w.line(f'[ "${to}" -ge 1 ] || fail 3 "provisioned concurrency must be at least 1"')
    w.line(f'[ "${to}" -le {limit} ] || fail 3 "${to} is over the limit of {limit}"')
    return {"from": f'"${now}"', "to": f'"${to}"', "capped": "false", "limit": limit}


@shell_equivalent("lambda.wait_provisioned")
def wait_provisioned_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Poll the alias until READY; FAILED stops with its reason."""
    from hybridops.shell.words import arith, scalar_text

    w = ctx.writer
    status, deadline = w.temp("STATUS"), w.temp("DEADLINE")
    read = (
        f"aws lambda get-provisioned-concurrency-config {' '.join(_alias_words(inputs, ctx))}"
        " --query Status --output text"
    )
    w.line(f"{deadline}=$((SECONDS + {arith(inputs.get('timeout_s', 600))}))")
    with w.block(f'until {status}=$({read}) && [ "${status}" = READY ]; do', "done"):
        w.line(
            f'[ "${status}" != FAILED ] || fail 1 "provisioned concurrency FAILED:'
            f" $(aws lambda get-provisioned-concurrency-config"
            f' {" ".join(_alias_words(inputs, ctx))} --query StatusReason --output text)"'
        )
        w.line(f'[ "$SECONDS" -lt "${deadline}" ] || fail 5 "not READY in time (${status})"')
        w.line(f"sleep {scalar_text(inputs.get('interval_s', 5))}")
    return {"status": f'"${status}"'}
