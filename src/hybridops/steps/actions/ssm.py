"""What an SSM Automation document reads as `{{ global:... }}`: the account, the time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from hybridops.steps.registry import action, shell_equivalent

if TYPE_CHECKING:
    from hybridops.steps.base import StepContext

# SSM's format for {{ global:DATE_TIME }}: 2026-11-30_05.19.29.
DATE_TIME_FORMAT = "%Y-%m-%d_%H.%M.%S"


class GlobalsInputs(BaseModel):
    """Inputs of `ssm.globals`: which globals the document reads."""

    account_id: bool = False


@action("ssm.globals", inputs=GlobalsInputs)
def globals_(inputs: GlobalsInputs, ctx: StepContext) -> dict[str, Any]:
    """The account (STS GetCallerIdentity, a read) and the date and time, as SSM gives them."""
    out: dict[str, Any] = {"date_time": dt.datetime.now(dt.timezone.utc).strftime(DATE_TIME_FORMAT)}
    if inputs.account_id:
        out["account_id"] = ctx.clients.client("sts", "primary").get_caller_identity()["Account"]
    return out


@shell_equivalent("ssm.globals")
def globals_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """`aws sts get-caller-identity` and `date -u`."""
    from hybridops.shell.words import word

    out = {"date_time": '"$(date -u +%Y-%m-%d_%H.%M.%S)"'}
    if inputs.get("account_id"):
        region = word(ctx.region("primary"))
        out["account_id"] = (
            f'"$(aws sts get-caller-identity --region {region} --query Account --output text)"'
        )
    return out
