"""Lambda provisioned concurrency: current value, plans, and a truthful wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hybridops.errors import StepFailed, TimedOut


def current_provisioned(lam: Any, function: str, alias: str) -> dict[str, Any] | None:
    """The provisioned concurrency config of an alias, or None if there is none."""
    try:
        response = lam.get_provisioned_concurrency_config(FunctionName=function, Qualifier=alias)
    except Exception as exc:
        if (
            type(exc).__name__ == "ProvisionedConcurrencyConfigNotFoundException"
            or "ProvisionedConcurrencyConfigNotFound" in str(exc)
        ):
            return None
        raise
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def wait_until_ready(
    lam: Any,
    function: str,
    alias: str,
    *,
    timeout_s: float,
    interval_s: float,
    sleep: Callable[[float], None],
    progress: Callable[[str], None] | None = None,
    started: float | None = None,
) -> dict[str, Any]:
    """Poll until READY; FAILED raises StepFailed with the reason; past the deadline, TimedOut.

    `started` (monotonic) is when the timeout began, if before now (a step's own start).
    """
    deadline = (time.monotonic() if started is None else started) + timeout_s
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
        if progress is not None:
            progress(
                f"{status}: {config.get('AllocatedProvisionedConcurrentExecutions', 0)}/"
                f"{config.get('RequestedProvisionedConcurrentExecutions')} allocated"
            )
        if time.monotonic() + interval_s > deadline:
            raise TimedOut(
                f"provisioned concurrency on {function}:{alias} not READY"
                f" after {timeout_s:.3g}s ({status})"
            )
        sleep(interval_s)
