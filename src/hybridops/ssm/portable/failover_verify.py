"""hybridops' `failover.verify` as an SSM `aws:executeScript` handler (Python 3.8+, boto3).

After traffic moved: Route 53 sends it to the target side, the target's health endpoint (and
each component's) is not unhealthy (judged as hybridops' `health.probe` judges it), and the
public name, if configured, answers below HTTP 500 from the target's region.

InputPayload: the action's inputs (to: primary|secondary; components, default []) and the
environment's settings the action reads (hybridops reads them from its config): primary_region,
secondary_region, health_url, secondary_health_url, hosted_zone_id, record_name,
primary_target, secondary_target, public_url; optionally aws_max_attempts (default 5) and
aws_read_timeout_s (default 30).
Returns {"serving", "verdict", "public_region"}, as hybridops does.
"""

from __future__ import annotations

from typing import Any

from ._shared import (  # script_for() writes these definitions in here
    REQUIRED,
    CheckFailed,
    ValidationError,
    _client,
    _environment,
    _inputs,
    http_get,
    layout,
    probe,
    side_settings,
)

ACTION = "failover.verify"

# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "to": ("primary|secondary", REQUIRED, {}),
    "components": ("list[str]", [], {}),
}


# -- the environment's settings, which hybridops reads from its config ------------------------

# InputPayload key -> the `env.*` setting it carries.
ENVIRONMENT = {
    "primary_region": "region",
    "secondary_region": "secondary_region",
    "health_url": "health_url",
    "secondary_health_url": "secondary_health_url",
    "hosted_zone_id": "hosted_zone_id",
    "record_name": "record_name",
    "primary_target": "primary_target",
    "secondary_target": "secondary_target",
    "public_url": "public_url",
}
# Always set in a hybridops environment (they have defaults there): a payload must carry them.
ALWAYS_SET = ("primary_region", "secondary_region")


# -- HTTP, as hybridops' `http` step answers ---------------------------------------------------


# -- Route 53: which side serves ---------------------------------------------------------------


# -- the action ------------------------------------------------------------------------------


def verify(events: dict[str, Any], inputs: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    """Route 53 sends traffic to the target, and its health (and the public name's) is good."""
    to = inputs["to"]
    target = side_settings(env, to)
    current = layout(
        _client(events, "route53", env["region"]),
        env["hosted_zone_id"],
        env["record_name"],
        env.get("primary_target"),
        env.get("secondary_target"),
    )
    if current["serving"] != to:
        raise CheckFailed(
            f"Route 53 still sends {env['record_name']} to the {current['serving']} side"
        )
    if not isinstance(target["health_url"], str):
        raise ValidationError(f"no health URL configured for the {to} side")
    verdict = probe(target["health_url"], inputs["components"], 5.0)
    if verdict["status"] == "unhealthy":
        raise CheckFailed(f"the {to} side is unhealthy after the switch")
    public_region = None
    if env.get("public_url"):
        answer = http_get(f"{env['public_url'].rstrip('/')}/health", 5)
        body = answer["json"] if isinstance(answer["json"], dict) else {}
        public_region = body.get("region")
        if answer["status"] >= 500:
            raise CheckFailed(f"the public name answers HTTP {answer['status']}")
        if public_region and public_region != target["region"]:
            raise CheckFailed(
                f"the public name is still served by {public_region}, not {target['region']}"
            )
    return {
        "serving": current["serving"],
        "verdict": verdict["status"],
        "public_region": public_region,
    }


def handler(events: Any, context: Any) -> dict[str, Any]:
    """The SSM entry point: the step's InputPayload in, the action's outputs back."""
    inputs = _inputs(events)
    return verify(events, inputs, _environment(events))
