"""`${{ ... }}` references: parsing, static checking and rendering."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from hybridops.errors import ValidationError

TEMPLATE_RE = re.compile(r"\$\{\{((?:(?!\}\}).)*?)\}\}", re.DOTALL)
_PART_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")
# `facts` is read by runbook triggers only (the loader refuses it in steps).
ROOTS = ("params", "steps", "env", "run", "facts")


class TemplateError(ValueError):
    """A malformed or unresolvable `${{ }}` reference."""


def parse_reference(expr: str) -> tuple[str | int, ...]:
    """Split `steps.describe.outputs.x[0]` into its parts; raise TemplateError if malformed."""
    text = expr.strip()
    if not text:
        raise TemplateError("empty ${{ }} reference")
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        if parts and text[pos] == ".":
            pos += 1
        match = _PART_RE.match(text, pos)
        if not match or (match.group(2) is not None and not parts):
            raise TemplateError(f"malformed reference ${{{{ {text} }}}}")
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if parts[0] not in ROOTS:
        raise TemplateError(
            f"reference ${{{{ {text} }}}} must start with one of: {', '.join(ROOTS)}"
        )
    return tuple(parts)


def _check_unclosed(text: str) -> None:
    stripped = TEMPLATE_RE.sub("", text)
    if "${{" in stripped:
        raise TemplateError(f"unclosed ${{{{ in {text!r}")


def iter_references(value: Any) -> Iterator[tuple[str | int, ...]]:
    """Every reference inside a (nested) value; raise TemplateError on malformed ones."""
    if isinstance(value, str):
        _check_unclosed(value)
        for match in TEMPLATE_RE.finditer(value):
            yield parse_reference(match.group(1))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from iter_references(key)
            yield from iter_references(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_references(item)


def lookup(scope: Mapping[str, Any], ref: tuple[str | int, ...]) -> Any:
    """Resolve a parsed reference in the scope; raise TemplateError if a part is missing."""
    node: Any = scope
    for i, part in enumerate(ref):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise TemplateError(f"{_render_ref(ref[: i + 1])} does not exist")
            node = node[part]
        else:
            if not isinstance(node, Mapping) or part not in node:
                if node is None and i >= 3 and ref[0] == "steps":
                    return None  # outputs of a skipped or planned step
                raise TemplateError(f"{_render_ref(ref[: i + 1])} does not exist")
            node = node[part]
    return node


def _render_ref(ref: tuple[str | int, ...]) -> str:
    out = ""
    for part in ref:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def render(value: Any, scope: Mapping[str, Any]) -> Any:
    """Substitute references; a string that is exactly one reference keeps the native type."""
    if isinstance(value, str):
        if "${{" not in value:
            return value
        try:
            whole = TEMPLATE_RE.fullmatch(value.strip())
            if whole:
                return lookup(scope, parse_reference(whole.group(1)))
            return TEMPLATE_RE.sub(
                lambda m: _to_text(lookup(scope, parse_reference(m.group(1)))), value
            )
        except TemplateError as exc:
            raise ValidationError(str(exc)) from None
    if isinstance(value, Mapping):
        return {render(k, scope): render(v, scope) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render(v, scope) for v in value]
    return value
