"""hybridops' `lambda.plan_provisioned` as an SSM `aws:executeScript` handler (Python 3.8+).

The current and target provisioned concurrency of a Lambda alias: exactly one of to (a value)
or by (a change); refused if `by` is 0, if the result is below 1 or over `limit`.

InputPayload: the action's inputs (function, alias; to; by; limit, default 500; region,
default primary) and the environment's settings hybridops' AWS clients use: primary_region,
secondary_region (to resolve region: primary|secondary), and optionally aws_max_attempts
(default 5) and aws_read_timeout_s (default 30).
Returns {"from", "to", "capped", "limit"}, as hybridops does.
"""

from __future__ import annotations

from typing import Any

from ._shared import (  # script_for() writes these definitions in here
    REQUIRED,
    BadInput,
    _client,
    _inputs,
    _region,
    current_provisioned,
)

ACTION = "lambda.plan_provisioned"


class Refused(Exception):
    """A guardrail refused the change (hybridops: exit 3)."""


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "function": ("str", REQUIRED, {}),
    "alias": ("str", REQUIRED, {}),
    "to": ("int?", None, {}),
    "by": ("int?", None, {}),
    "limit": ("int", 500, {"ge": 0}),
    "region": ("str", "primary", {}),
}


# -- AWS clients, as hybridops builds its own ------------------------------------------------


# -- the action ------------------------------------------------------------------------------


def handler(events: Any, context: Any) -> dict[str, Any]:
    """The SSM entry point: the step's InputPayload in, the action's outputs back."""
    inputs = _inputs(events)
    to, by, limit = inputs["to"], inputs["by"], inputs["limit"]
    if (to is None) == (by is None):
        raise BadInput("give exactly one of --to N or --by K")
    lam = _client(events, "lambda", _region(events, inputs["region"]))
    config = current_provisioned(lam, inputs["function"], inputs["alias"])
    current = int((config or {}).get("RequestedProvisionedConcurrentExecutions", 0))
    target = current + by if by is not None else int(to or 0)
    if by == 0:
        raise Refused("--by 0 changes nothing: refusing")
    if target < 1:
        raise Refused(f"the result would be {target}: provisioned concurrency must be at least 1")
    if target > limit:
        raise Refused(f"{target} is over the limit of {limit} (limits.max_provisioned_concurrency)")
    return {"from": current, "to": target, "capped": False, "limit": limit}
