"""hybridops' `health.probe` as an SSM `aws:executeScript` handler (Python 3.8+, stdlib only).

GET BASE/health and each BASE/health/component/NAME, one after the other, and judge each as
hybridops does: pass (HTTP 200 saying healthy, ok, pass or up), warn (HTTP 200 saying degraded
or warn), else fail; no answer at all is a fail whose detail says why. The worst check is the
verdict: unhealthy, degraded or healthy.

InputPayload: the action's inputs (base_url; components, default []; timeout_s, default 5).
Returns {"status", "checks": [{"name", "status", "detail", "latency_ms"}]}, as hybridops does.
"""

from __future__ import annotations

from typing import Any

from ._shared import (  # script_for() writes these definitions in here
    REQUIRED,
    _inputs,
    probe,
)

ACTION = "health.probe"

# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "base_url": ("str", REQUIRED, {}),
    "components": ("list[str]", [], {}),
    "timeout_s": ("float", 5.0, {"gt": 0, "le": 120}),
}


# -- HTTP, as hybridops' `http` step answers ---------------------------------------------------


# -- the action ------------------------------------------------------------------------------


def handler(events: Any, context: Any) -> dict[str, Any]:
    """The SSM entry point: the step's InputPayload in, the action's outputs back."""
    inputs = _inputs(events)
    return probe(inputs["base_url"], inputs["components"], inputs["timeout_s"])
