"""hybridops' `lambda.wait_provisioned` as an SSM `aws:executeScript` handler (Python 3.8+).

Wait until the alias's provisioned concurrency is READY, polling every interval_s; FAILED
fails with its reason, no configuration at all fails, and past timeout_s the wait times out.

InputPayload: the action's inputs (function, alias; timeout_s, default 600; interval_s,
default 5; region, default primary) and the environment's settings hybridops' AWS clients use:
primary_region, secondary_region (to resolve region: primary|secondary), and optionally
aws_max_attempts (default 5) and aws_read_timeout_s (default 30).
Returns {"status", "available"}, as hybridops does.
SSM stops any aws:executeScript step after 600 s, whatever timeout_s says.
"""

from __future__ import annotations

import time
from typing import Any

from ._shared import (  # script_for() writes these definitions in here
    REQUIRED,
    TimedOut,
    _client,
    _inputs,
    _region,
    current_provisioned,
)

ACTION = "lambda.wait_provisioned"


class StepFailed(Exception):
    """Provisioned concurrency FAILED or is missing (hybridops: exit 1)."""


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "function": ("str", REQUIRED, {}),
    "alias": ("str", REQUIRED, {}),
    "timeout_s": ("float", 600, {"gt": 0}),
    "interval_s": ("float", 5, {"ge": 0}),
    "region": ("str", "primary", {}),
}


# -- AWS clients, as hybridops builds its own ------------------------------------------------


# -- the action ------------------------------------------------------------------------------


def wait_until_ready(
    lam: Any, function: str, alias: str, timeout_s: float, interval_s: float
) -> dict[str, Any]:
    """Poll until READY; FAILED raises StepFailed with the reason; past the deadline, TimedOut."""
    deadline = time.monotonic() + timeout_s
    while True:
        config = current_provisioned(lam, function, alias)
        status = (config or {}).get("Status", "MISSING")
        if status == "READY":
            return config or {}
        if status == "FAILED":
            raise StepFailed(
                f"provisioned concurrency on {function}:{alias} FAILED:"
                f" {(config or {}).get('StatusReason', 'no reason given')}"
            )
        if config is None:
            raise StepFailed(f"no provisioned concurrency config on {function}:{alias}")
        print(
            f"{status}: {config.get('AllocatedProvisionedConcurrentExecutions', 0)}/"
            f"{config.get('RequestedProvisionedConcurrentExecutions')} allocated",
            flush=True,
        )
        if time.monotonic() + interval_s > deadline:
            raise TimedOut(
                f"provisioned concurrency on {function}:{alias} not READY"
                f" after {timeout_s:.3g}s ({status})"
            )
        time.sleep(interval_s)


def handler(events: Any, context: Any) -> dict[str, Any]:
    """The SSM entry point: the step's InputPayload in, the action's outputs back."""
    inputs = _inputs(events)
    lam = _client(events, "lambda", _region(events, inputs["region"]))
    config = wait_until_ready(
        lam, inputs["function"], inputs["alias"], inputs["timeout_s"], inputs["interval_s"]
    )
    return {
        "status": config.get("Status"),
        "available": config.get("AvailableProvisionedConcurrentExecutions"),
    }
