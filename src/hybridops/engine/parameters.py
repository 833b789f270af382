"""Runbook parameters: coercion from `--param k=v` text and constraint checks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml

from hybridops.errors import ValidationError

if TYPE_CHECKING:
    from hybridops.engine.models import Parameter, Runbook

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def coerce(name: str, spec: Parameter, value: Any) -> Any:
    """Convert a value to the parameter's type and check constraints; raise ValueError."""
    kind = spec.type
    if kind == "string":
        if isinstance(value, (dict, list)):
            raise ValueError(f"parameter {name!r}: expected a string")
        value = str(value)
    elif kind == "integer":
        if isinstance(value, bool):
            raise ValueError(f"parameter {name!r}: expected an integer, got {value!r}")
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"parameter {name!r}: expected an integer, got {value!r}") from None
        if not as_float.is_integer():
            raise ValueError(f"parameter {name!r}: expected an integer, got {value!r}")
        value = int(as_float)
    elif kind == "number":
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"parameter {name!r}: expected a number, got {value!r}") from None
    elif kind == "boolean":
        if not isinstance(value, bool):
            text = str(value).strip().lower()
            if text not in _TRUE | _FALSE:
                raise ValueError(f"parameter {name!r}: expected true or false, got {value!r}")
            value = text in _TRUE
    elif kind in ("list", "object"):
        if isinstance(value, str):
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise ValueError(f"parameter {name!r}: not valid YAML/JSON") from None
            if kind == "list" and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
        expected_type = list if kind == "list" else dict
        if not isinstance(value, expected_type):
            raise ValueError(f"parameter {name!r}: expected a {kind}")
    if spec.minimum is not None and isinstance(value, (int, float)) and value < spec.minimum:
        raise ValueError(f"parameter {name!r}: {value} is below the minimum {spec.minimum:g}")
    if spec.maximum is not None and isinstance(value, (int, float)) and value > spec.maximum:
        raise ValueError(f"parameter {name!r}: {value} is above the maximum {spec.maximum:g}")
    if spec.enum is not None and value not in spec.enum:
        raise ValueError(f"parameter {name!r}: {value!r} is not one of {spec.enum}")
    if spec.pattern is not None and not re.fullmatch(spec.pattern, str(value)):
        raise ValueError(f"parameter {name!r}: {value!r} does not match {spec.pattern!r}")
    return value


def parse_assignments(items: list[str]) -> dict[str, str]:
    """Split `k=v` strings; a malformed one is a ValidationError."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--param {item!r}: expected NAME=VALUE")
        out[key.strip()] = value
    return out


def resolve(runbook: Runbook, given: dict[str, Any], env_scope: dict[str, Any]) -> dict[str, Any]:
    """Validate given values against the runbook's parameters and fill defaults."""
    from hybridops.engine.templating import render

    unknown = sorted(set(given) - set(runbook.parameters))
    if unknown:
        known = ", ".join(sorted(runbook.parameters)) or "none"
        raise ValidationError(
            f"runbook {runbook.name!r}: unknown parameter {unknown[0]!r} (known: {known})"
        )
    resolved: dict[str, Any] = {}
    for name, spec in runbook.parameters.items():
        if name in given:
            raw = given[name]
        elif spec.default is not None:
            # Defaults may name the environment, e.g. "${{ env.cluster }}".
            raw = render(spec.default, {"env": env_scope})
        elif spec.required:
            raise ValidationError(
                f"runbook {runbook.name!r}: missing required parameter {name!r}"
                f" (give --param {name}=VALUE)"
            )
        else:
            resolved[name] = None
            continue
        try:
            resolved[name] = coerce(name, spec, raw)
        except ValueError as exc:
            raise ValidationError(f"runbook {runbook.name!r}: {exc}") from None
    return resolved


def secret_values(runbook: Runbook, params: dict[str, Any]) -> list[str]:
    """Values of parameters marked secret, for redaction."""
    return [
        str(params[name])
        for name, spec in runbook.parameters.items()
        if spec.secret and params.get(name) not in (None, "")
    ]
