"""Runbook parameters: coercion from `--param k=v` text and constraint checks."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from hybridops.errors import ValidationError
from hybridops.yamlsource import YamlProblem, parse_yaml_text

if TYPE_CHECKING:
    from hybridops.engine.models import Parameter, Runbook

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def coerce(name: str, spec: Parameter, value: Any) -> Any:
    """Convert a value to the parameter's type and check constraints; raise ValueError.

    A secret's value is never part of a message: errors end up on stderr, in `-o json` and in
    tracebacks before the value is known to the redactor.
    """
    shown = "the value given" if spec.secret else repr(value)
    kind = spec.type
    if kind == "string":
        if isinstance(value, (dict, list)):
            raise ValueError(f"parameter {name!r}: expected a string")
        value = str(value)
    elif kind == "integer":
        if isinstance(value, bool):
            raise ValueError(f"parameter {name!r}: expected an integer, got {shown}")
        value = _integer(name, value, shown)
    elif kind == "number":
        try:
            value = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"parameter {name!r}: expected a number, got {shown}") from None
        if not math.isfinite(value):
            raise ValueError(f"parameter {name!r}: expected a finite number, got {shown}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            text = str(value).strip().lower()
            if text not in _TRUE | _FALSE:
                raise ValueError(f"parameter {name!r}: expected true or false, got {shown}")
            value = text in _TRUE
    elif kind in ("list", "object"):
        if isinstance(value, str):
            try:
                # The same loader as runbook files: alias bombs and huge texts are refused.
                value = parse_yaml_text(value)
            except YamlProblem as exc:
                # YAML's problems may quote the text (a tag, a duplicate key): not a secret's.
                problem = "the value given is not valid YAML/JSON" if spec.secret else exc.problem
                line = f" (line {exc.line})" if exc.line is not None and "\n" in value else ""
                raise ValueError(f"parameter {name!r}: {problem}{line}") from None
            if kind == "list" and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
        expected_type = list if kind == "list" else dict
        if not isinstance(value, expected_type):
            raise ValueError(f"parameter {name!r}: expected a {kind}")
    shown = "the value given" if spec.secret else str(value)
    if spec.minimum is not None and isinstance(value, (int, float)) and value < spec.minimum:
        raise ValueError(f"parameter {name!r}: {shown} is below the minimum {spec.minimum:g}")
    if spec.maximum is not None and isinstance(value, (int, float)) and value > spec.maximum:
        raise ValueError(f"parameter {name!r}: {shown} is above the maximum {spec.maximum:g}")
    if isinstance(value, list):
        count = len(value)
        if spec.min_items is not None and count < spec.min_items:
            raise ValueError(f"parameter {name!r}: at least {spec.min_items} items (got {count})")
        if spec.max_items is not None and count > spec.max_items:
            raise ValueError(f"parameter {name!r}: at most {spec.max_items} items (got {count})")
    # A list's enum, pattern and lengths hold for each of its items.
    for item in value if isinstance(value, list) else [value]:
        shown = "the value given" if spec.secret else repr(item)
        if spec.enum is not None and item not in spec.enum:
            raise ValueError(
                f"parameter {name!r}: {shown} is not one of {', '.join(map(str, spec.enum))}"
            )
        if spec.pattern is not None and not re.fullmatch(spec.pattern, str(item)):
            raise ValueError(f"parameter {name!r}: {shown} does not match {spec.pattern!r}")
        size = len(str(item))
        if spec.min_length is not None and size < spec.min_length:
            raise ValueError(
                f"parameter {name!r}: {shown} is shorter than {spec.min_length} characters"
            )
        if spec.max_length is not None and size > spec.max_length:
            raise ValueError(
                f"parameter {name!r}: {shown} is longer than {spec.max_length} characters"
            )
    return value


# Integers beyond what a 64-bit field (SQLite, JSON consumers, AWS Long) holds are refused
# here rather than failing later, mid-run, in whatever first stores them.
_INT_LIMIT = 2**63 - 1


def _integer(name: str, value: Any, shown: str) -> int:
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        try:
            number = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise ValueError(f"parameter {name!r}: expected an integer, got {shown}") from None
            if not as_float.is_integer():  # also false for inf and nan
                raise ValueError(f"parameter {name!r}: expected an integer, got {shown}") from None
            number = int(as_float)
    if abs(number) > _INT_LIMIT:
        raise ValueError(f"parameter {name!r}: {shown} is out of range (at most {_INT_LIMIT})")
    return number


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
    values: list[str] = []
    for name, spec in runbook.parameters.items():
        if spec.secret and params.get(name) not in (None, ""):
            values.extend(_scalars(params[name]))
    return values


def _scalars(value: Any) -> list[str]:
    """Every scalar of a value as text: each element of a secret list is a secret too."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _scalars(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _scalars(v)]
    text = str(value)
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        # Still the -p text (before coercion): its elements are the secrets.
        from hybridops.yamlsource import YamlProblem, parse_yaml_text

        try:
            parsed = parse_yaml_text(value)
        except YamlProblem:
            return [text]
        return [text, *_scalars(parsed)] if isinstance(parsed, (list, dict)) else [text]
    return [text]
