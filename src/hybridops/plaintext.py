"""Values as people read them in prompts and plain lines: no Python reprs, whole tables."""

from __future__ import annotations

import re
from typing import Any

_TASK_DEFINITION_ARN = re.compile(r"arn:aws[\w-]*:ecs:[\w-]+:\d{12}:task-definition/([\w-]+:\d+)")


def short_arns(text: str) -> str:
    """Task-definition ARNs as `family:revision`, the way people name them (for reading only)."""
    return _TASK_DEFINITION_ARN.sub(r"\1", text)


def scalar(value: Any) -> str:
    """One value as a word: `-` for nothing, yes/no, comma lists, key=value pairs."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(scalar(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={scalar(v)}" for k, v in value.items()) or "-"
    return str(value)


def _is_change(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"from", "to"}


def _changes(value: Any, path: tuple[str, ...]) -> list[list[str]]:
    if _is_change(value):
        return [[" ".join(path) or "-", scalar(value["from"]), scalar(value["to"])]]
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _changes(v, (*path, str(k)))]
    return [[" ".join(path) or "-", "", scalar(value)]]


def rows_of(value: Any) -> tuple[list[str], list[list[str]]]:
    """Headers and rows for a value: a from/to diff, a list of records, or a mapping."""
    if isinstance(value, dict) and value and _contains_change(value):
        return ["what", "from", "to"], _changes(value, ())
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        headers: list[str] = []
        for record in value:
            headers.extend(str(k) for k in record if str(k) not in headers)
        return headers, [[scalar(record.get(h)) for h in headers] for record in value]
    if isinstance(value, dict):
        return ["", ""], [[str(k), scalar(v)] for k, v in value.items()]
    if isinstance(value, list):
        return [""], [[scalar(v)] for v in value]
    return [""], [] if value in (None, "") else [[scalar(value)]]


def _contains_change(value: Any) -> bool:
    if _is_change(value):
        return True
    return isinstance(value, dict) and any(_contains_change(v) for v in value.values())


def table(headers: list[str], rows: list[list[str]], indent: str = "  ") -> str:
    """Rows in aligned columns, whole (never cut); a header line when headers have names."""
    lines = ([headers] if any(headers) else []) + rows
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    out = []
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=True)]
        out.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(out)


def as_table(value: Any, indent: str = "  ") -> str:
    """A value as a small aligned table (a diff, records or a mapping)."""
    headers, rows = rows_of(value)
    return table(headers, rows, indent)


def said_yes(answer: str) -> bool:
    """Whether an answer to a `[y/N]` question is yes (anything else, empty too, is no)."""
    return answer.strip().lower() in ("y", "yes")
