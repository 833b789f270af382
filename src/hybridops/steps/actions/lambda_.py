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
    started, timeout = ctx.wait_window(inputs.timeout_s)

    def report(detail: str) -> None:
        ctx.emit(
            WaitProgress(ctx.run_id, ctx.step_name, time.monotonic() - started, timeout, detail)
        )

    config = lambda_.wait_until_ready(
        client,
        inputs.function,
        inputs.alias,
        timeout_s=timeout,
        started=started,
        interval_s=inputs.interval_s,
        sleep=ctx.sleep,
        progress=report,
    )
    return {
        "status": config.get("Status"),
        "available": config.get("AvailableProvisionedConcurrentExecutions"),
    }


# -- as shell commands (run --print-cli, runbook docs) ---------------------------------------

PC_CONFIG = r"""# pc_config REGION FUNCTION ALIAS: the alias's provisioned concurrency config as
# JSON ({} when it has none; any other error stops the script).
pc_config() {
  local out err
  err=$(mktemp)
  if out=$(aws lambda get-provisioned-concurrency-config --region "$1" --function-name "$2" \
    --qualifier "$3" --output json 2>"$err"); then
    printf '%s\n' "$out"
  elif grep -q ProvisionedConcurrencyConfigNotFound "$err"; then
    echo '{}'
  else
    cat "$err" >&2
    rm -f "$err"
    return 4
  fi
  rm -f "$err"
}"""


def _config_line(inputs: dict[str, Any], ctx: Any, into: str) -> None:
    from hybridops.shell.words import word
    from hybridops.shell.writer import helper

    helper("pc_config", PC_CONFIG)
    region = word(ctx.region(inputs.get("region", "primary")))
    ctx.writer.line(
        f"{into}=$(pc_config {region} {word(inputs['function'])} {word(inputs['alias'])})"
    )


@shell_equivalent("lambda.plan_provisioned")
def plan_provisioned_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Read the alias's provisioned concurrency; compute, check and cap the target."""
    from hybridops.shell.words import arith, dq, word

    w = ctx.writer
    config, now, to = w.temp("CONFIG"), w.temp("FROM"), w.temp("TO")
    given_to, by = inputs.get("to"), inputs.get("by")
    from hybridops.steps.actions.ecs import _one_of

    _one_of(given_to, by, w)
    _config_line(inputs, ctx, config)
    w.line(f"{now}=$(jq -r '.RequestedProvisionedConcurrentExecutions // 0' <<<\"${config}\")")
    w.line(
        f"if [ -n {word(by)} ]; then {to}=$(( {now} + {arith(by)} )); else {to}={word(given_to)};"
        " fi"
    )
    w.line(
        f'[ -z {word(by)} ] || [ {word(by)} -ne 0 ] || fail 3 "--by 0 changes nothing: refusing"'
    )
    w.line(
        f'[ "${to}" -ge 1 ] || fail 3 "the result would be ${to}: provisioned concurrency must be'
        ' at least 1"'
    )
    limit = inputs.get("limit", 500)
    w.line(
        f'[ "${to}" -le {word(limit)} ] || fail 3 "${to} is over the limit of {dq(limit)}'
        ' (limits.max_provisioned_concurrency)"'
    )
    return {"from": f'"${now}"', "to": f'"${to}"', "capped": "false", "limit": word(limit)}


@shell_equivalent("lambda.wait_provisioned")
def wait_provisioned_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Poll the alias until READY; FAILED (with its reason) or no config stops the script."""
    from hybridops.shell.steps import deadline_line
    from hybridops.shell.words import dq, word

    w = ctx.writer
    config, status = w.temp("CONFIG"), w.temp("STATUS")
    timeout, interval = inputs.get("timeout_s", 600), inputs.get("interval_s", 5)
    where = f"{dq(inputs['function'])}:{dq(inputs['alias'])}"
    w.comment(f"Polls every {dq(interval)}s for up to {dq(timeout)}s until READY.")
    deadline = deadline_line(ctx, timeout)
    with w.block("while :; do", "done"):
        _config_line(inputs, ctx, config)
        w.line(f'{status}=$(jq -r \'.Status // "MISSING"\' <<<"${config}")')
        w.line(f'[ "${status}" != READY ] || break')
        w.line(
            f'[ "${status}" != FAILED ] || fail 1 "provisioned concurrency on {where} FAILED:'
            f' $(jq -r \'.StatusReason // "no reason given"\' <<<"${config}")"'
        )
        w.line(
            f'[ "${status}" != MISSING ] || fail 1 "no provisioned concurrency config on {where}"'
        )
        w.line(
            f'echo "  ${status}: $(jq -r \'"\\(.AllocatedProvisionedConcurrentExecutions // 0)/'
            f'\\(.RequestedProvisionedConcurrentExecutions)"\' <<<"${config}") allocated" >&2'
        )
        w.line(
            f'[ "$SECONDS" -lt "${deadline}" ] || fail 5 "provisioned concurrency on {where}'
            f' not READY after {dq(timeout)}s (${status})"'
        )
        w.line(f"sleep {word(interval)}")
    return {
        "status": f'"${status}"',
        "available": f'"$(jqv "${config}" \'.AvailableProvisionedConcurrentExecutions\')"',
    }
