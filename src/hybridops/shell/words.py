"""Shell words: literal text single-quoted, runbook references as "${VARIABLES}"."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

SENTINEL = "\x00"
_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")
_SPLIT = re.compile(r"\x00([A-Z0-9_]+)\x00")


@dataclass(frozen=True)
class Ref:
    """A runbook reference (param, env value, step output) standing as a shell variable."""

    var: str

    def __str__(self) -> str:
        # Embedded in text (e.g. "service/${{ params.cluster }}/x"), a Ref becomes a sentinel
        # that word() turns back into "${VAR}".
        return f"{SENTINEL}{self.var}{SENTINEL}"


def var_name(*parts: str | int) -> str:
    """A shell variable name from reference parts: steps.plan.outputs.to -> PLAN_TO."""
    text = "_".join(str(p) for p in parts)
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper() or "VALUE"


def quote(text: str) -> str:
    """Single-quote text for the shell (unquoted when it is plainly safe)."""
    if text and _SAFE.match(text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def scalar_text(value: Any) -> str:
    """How a scalar reads on a command line (true/false, numbers, text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def word(value: Any) -> str:
    """One shell word for a value that may hold Refs (whole or embedded)."""
    if isinstance(value, Ref):
        return f'"${{{value.var}}}"'
    text = scalar_text(value)
    if SENTINEL not in text:
        return quote(text)
    out = []
    for i, part in enumerate(_SPLIT.split(text)):
        if i % 2:
            out.append(f'"${{{part}}}"')
        elif part:
            out.append(quote(part) if not _SAFE.match(part) else part)
    return "".join(out)


def json_word(value: Any, shape: Any = None) -> str:
    """A JSON document with Refs as one shell word; `shape` (botocore) types the Refs."""
    text = json.dumps(_mark(value, shape), separators=(",", ":"))
    # "\u0000RAW:VAR\u0000" -> unquoted ${VAR}; "\u0000VAR\u0000" inside a string -> ${VAR}.
    text = re.sub(r'"\\u0000RAW:([A-Z0-9_]+)\\u0000"', "\x00\\1\x00", text)
    text = re.sub(r"\\u0000([A-Z0-9_]+)\\u0000", "\x00\\1\x00", text)
    return word(text)


def _mark(value: Any, shape: Any) -> Any:
    """Replace Refs by sentinels; a Ref for a non-string member is marked to lose its quotes."""
    if isinstance(value, Ref):
        kind = getattr(shape, "type_name", "string")
        return f"{SENTINEL}{'' if kind == 'string' else 'RAW:'}{value.var}{SENTINEL}"
    if isinstance(value, dict):
        members = getattr(shape, "members", {}) if shape is not None else {}
        value_shape = getattr(shape, "value", None)
        return {
            str(k): _mark(v, members.get(k) if members else value_shape) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mark(v, getattr(shape, "member", None)) for v in value]
    if isinstance(value, str):
        return value
    return value


def arith(value: Any) -> str:
    """A value inside $(( )) arithmetic: ${VAR} or the literal number."""
    if isinstance(value, Ref):
        return f"${{{value.var}:-0}}"
    return scalar_text(value) or "0"
