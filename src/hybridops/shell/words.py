"""Shell words: literal text single-quoted, runbook references as "${VARIABLES}"."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

# Marks a reference embedded in text until word() turns it into "${VAR}"; never printed.
SENTINEL = "\x00"
_SPLIT = re.compile(r"\x00([A-Za-z0-9_]+)\x00")


@dataclass(frozen=True)
class Ref:
    """A runbook reference (param, env value, step output) standing as a shell variable."""

    var: str
    # Whether the value is JSON that is not text (a list, a number, a boolean): inside a JSON
    # document it goes in as it is, not as a string.
    json: bool = False

    def __str__(self) -> str:
        # Embedded in text (e.g. "service/${{ params.cluster }}/x"), a Ref becomes a sentinel
        # that word() turns back into "${VAR}".
        return f"{SENTINEL}{self.var}{SENTINEL}"


def sanitize(text: str) -> str:
    """Upper-case letters, digits and single underscores: a piece of a variable name."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper() or "VALUE"


class Names:
    """Shell variable names, one per key, never two keys on one name."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[Any, ...], str] = {}
        self.taken: set[str] = set()

    def get(self, key: tuple[Any, ...], preferred: str) -> str:
        """The name of `key`: `preferred` (sanitised), or with _2, _3... if another key has it."""
        if key in self.by_key:
            return self.by_key[key]
        base = sanitize(preferred)
        name, number = base, 2
        while name in self.taken:
            name, number = f"{base}_{number}", number + 1
        self.by_key[key] = name
        self.taken.add(name)
        return name


def quote(text: str) -> str:
    """Single-quote text for the shell (unquoted when it is plainly safe)."""
    if SENTINEL in text:
        raise ValueError("a reference reached quote(): use word()")
    if "'" in text and not any(ch in text for ch in '"$`\\\n'):
        return f'"{text}"'  # reads better than '...'"'"'...' (a JMESPath 'literal', say)
    return shlex.quote(text)


def literal(value: Any) -> str:
    """A value to assign, always quoted: `X='test'` (`X=test` reads like a command)."""
    text = value if isinstance(value, str) else scalar_text(value)
    if SENTINEL in text:
        raise ValueError("a reference reached literal(): use word()")
    return "'" + text.replace("'", "'\"'\"'") + "'"


def scalar_text(value: Any) -> str:
    """How a scalar reads on a command line (true/false, numbers, text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def word(value: Any) -> str:
    """One shell word for a value that may hold Refs (whole or embedded)."""
    if isinstance(value, Ref):
        return f'"${{{value.var}}}"'
    if isinstance(value, (dict, list)):
        return json_word(value)
    text = value if isinstance(value, str) else scalar_text(value)
    if SENTINEL not in text:
        return quote(text)
    literal = _SPLIT.sub("", text)
    if not any(ch in literal for ch in '"$`\\\n'):
        # One double-quoted word reads best: "service/${P_CLUSTER}/${P_SERVICE}".
        return '"' + _SPLIT.sub(lambda m: "${" + m.group(1) + "}", text) + '"'
    out = []
    for i, part in enumerate(_SPLIT.split(text)):
        if i % 2:
            out.append(f'"${{{part}}}"')
        elif part:
            out.append(quote(part))
    return "".join(out)


def dq(value: Any) -> str:
    """Text for inside double quotes ("..."), references as ${VAR}."""
    if isinstance(value, Ref):
        return f"${{{value.var}}}"
    text = value if isinstance(value, str) else scalar_text(value)
    for ch in ("\\", '"', "`", "$"):
        text = text.replace(ch, "\\" + ch)
    return _SPLIT.sub(lambda m: "${" + m.group(1) + "}", text)


def json_word(value: Any, shape: Any = None) -> str:
    """A JSON document as one shell word (with references: built by jq, every value encoded)."""
    # `shape` (botocore's) says which members are not text: numbers, booleans, structures.
    if isinstance(value, Ref):
        return word(value)
    if not _has_ref(value):
        return quote(json.dumps(value, separators=(",", ":")))
    args: list[str] = []
    program = _jq_value(value, shape, args)
    return f'"$(jq -nc {" ".join(args)} {quote(program)})"'


def _has_ref(value: Any) -> bool:
    if isinstance(value, Ref):
        return True
    if isinstance(value, str):
        return SENTINEL in value
    if isinstance(value, dict):
        return any(_has_ref(k) or _has_ref(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_ref(v) for v in value)
    return False


def _jq_value(value: Any, shape: Any, args: list[str]) -> str:
    """A jq expression for a JSON value; references become --arg/--argjson variables."""
    if isinstance(value, Ref):
        kind = getattr(shape, "type_name", None) or ("json" if value.json else "string")
        name = f"v{len(args)}"
        if kind == "string":
            args.append(f'--arg {name} "${{{value.var}}}"')
        else:
            # Not text (a number, a list...): its JSON as it is; nothing is null.
            args.append(f'--argjson {name} "${{{value.var}:-null}}"')
        return f"${name}"
    if isinstance(value, str):
        if SENTINEL not in value:
            return json.dumps(value)
        pieces = []
        for i, part in enumerate(_SPLIT.split(value)):
            if i % 2:
                name = f"v{len(args)}"
                args.append(f'--arg {name} "${{{part}}}"')
                pieces.append(f"\\(${name})")
            else:
                pieces.append(json.dumps(part)[1:-1])
        return '"' + "".join(pieces) + '"'
    if isinstance(value, dict):
        members = getattr(shape, "members", {}) if shape is not None else {}
        value_shape = getattr(shape, "value", None)
        items = [
            f"{_jq_value(str(k), None, args)}:"
            f" {_jq_value(v, members.get(k) if members else value_shape, args)}"
            for k, v in value.items()
        ]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        member = getattr(shape, "member", None)
        return "[" + ", ".join(_jq_value(v, member, args) for v in value) + "]"
    return json.dumps(value)


def arith(value: Any) -> str:
    """A whole number inside $(( )): ${VAR} or the literal number."""
    if isinstance(value, Ref):
        return f"${{{value.var}:-0}}"
    text = scalar_text(value) or "0"
    if SENTINEL in text:
        raise ValueError("a reference inside a number: use a Ref")
    return text
