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

import re
from typing import Any

import boto3
from botocore.config import Config

ACTION = "lambda.plan_provisioned"


class BadInput(Exception):
    """Bad input; nothing was changed (hybridops: exit 2)."""


class Refused(Exception):
    """A guardrail refused the change (hybridops: exit 3)."""


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

REQUIRED = object()
FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "function": ("str", REQUIRED, {}),
    "alias": ("str", REQUIRED, {}),
    "to": ("int?", None, {}),
    "by": ("int?", None, {}),
    "limit": ("int", 500, {"ge": 0}),
    "region": ("str", "primary", {}),
}
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
_INT_TEXT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")
_BOUNDS = {"gt": "greater than", "ge": "greater than or equal to", "le": "less than or equal to"}


class ValidationError(Exception):
    """Inputs hybridops' action model rejects (hybridops: exit 2)."""


def _invalid(where: str, message: str) -> ValidationError:
    return ValidationError(f"action {ACTION!r}: input {where}: {message}")


def _convert(where: str, kind: str, value: Any) -> Any:
    """One value as pydantic's lax mode converts it (numbers from text, booleans from words)."""
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "str":
        if isinstance(value, str):
            return value
        raise _invalid(where, "Input should be a valid string")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        unreadable = ", unable to interpret input" if isinstance(value, (int, str)) else ""
        raise _invalid(where, "Input should be a valid boolean" + unreadable)
    if kind == "int":
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise _invalid(where, "Input should be a finite number")
            if not value.is_integer():
                raise _invalid(
                    where, "Input should be a valid integer, got a number with a fractional part"
                )
            return int(value)
        if isinstance(value, str):
            if _INT_TEXT.fullmatch(value.strip()):
                return int(value.strip().split(".")[0])
            raise _invalid(
                where, "Input should be a valid integer, unable to parse string as an integer"
            )
        raise _invalid(where, "Input should be a valid integer")
    if kind == "float":
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                if value.strip().isascii():
                    return float(value.strip())
            except ValueError:
                pass
            raise _invalid(
                where, "Input should be a valid number, unable to parse string as a number"
            )
        raise _invalid(where, "Input should be a valid number")
    if kind == "list[str]":
        if not isinstance(value, (list, tuple)):
            raise _invalid(where, "Input should be a valid list")
        return [_convert(f"{where}.{i}", "str", item) for i, item in enumerate(value)]
    choices = kind.split("|")
    if isinstance(value, str) and value in choices:
        return value
    raise _invalid(where, "Input should be " + " or ".join(repr(c) for c in choices))


def _inputs(events: Any) -> dict[str, Any]:
    """The action's inputs from the InputPayload: converted, checked, defaults filled in."""
    if not isinstance(events, dict):
        raise ValidationError(f"action {ACTION!r}: the InputPayload must be a mapping")
    out: dict[str, Any] = {}
    for name, (kind, default, bounds) in FIELDS.items():
        if name not in events:
            if default is REQUIRED:
                raise _invalid(name, "Field required")
            out[name] = list(default) if isinstance(default, list) else default
            continue
        value = _convert(name, kind, events[name])
        for bound, limit in bounds.items():
            if value is None:
                break
            if bound == "gt":
                within = value > limit
            else:
                within = value >= limit if bound == "ge" else value <= limit
            if not within:  # NaN is within nothing, as for pydantic
                raise _invalid(name, f"Input should be {_BOUNDS[bound]} {limit}")
        out[name] = value
    return out


# -- AWS clients, as hybridops builds its own ------------------------------------------------


def _region(events: dict[str, Any], which: str) -> str:
    """`primary`/`secondary`: the environment's region, from the payload; else a region name."""
    if which in ("", "primary"):
        key = "primary_region"
    elif which == "secondary":
        key = "secondary_region"
    else:
        return which
    region = events.get(key)
    if not isinstance(region, str) or not region:
        raise ValueError(f"the InputPayload has no {key}: the exported document passes it")
    return region


def _client(events: dict[str, Any], service: str, region: str) -> Any:
    """A boto3 client with hybridops' retries (adaptive) and timeouts."""
    config = Config(
        retries={
            "mode": "adaptive",
            "total_max_attempts": int(events.get("aws_max_attempts") or 5),
        },
        connect_timeout=10.0,
        read_timeout=float(events.get("aws_read_timeout_s") or 30.0),
    )
    return boto3.client(service, region_name=region, config=config)


# -- the action ------------------------------------------------------------------------------


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
