"""`expect` / `until` matchers: JMESPath over a result mapped to an expected value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.functions
from jmespath.exceptions import JMESPathError

MATCHER_KEYS = {"min", "max", "regex", "exists", "not", "contains"}


class _Functions(jmespath.functions.Functions):
    """JMESPath's functions, and `descendants` (SSM's `$..Name` selector)."""

    @jmespath.functions.signature({"types": []}, {"types": ["string"]})
    def _func_descendants(self, value: Any, key: str) -> list[Any]:
        found: list[Any] = []
        stack = [value]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                if key in item:
                    found.append(item[key])
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return found

    @jmespath.functions.signature({"types": ["string"]})
    def _func_lower(self, value: str) -> str:
        return value.lower()


OPTIONS = jmespath.Options(custom_functions=_Functions())


def search(expr: str, data: Any) -> Any:
    """JMESPath over data, with hybridops' functions."""
    return compile_path(expr).search(data, options=OPTIONS)


def compile_path(expr: str) -> Any:
    """Compile a JMESPath expression; raise ValueError with a readable message."""
    try:
        return jmespath.compile(expr)
    except JMESPathError as exc:
        raise ValueError(f"invalid JMESPath {expr!r}: {str(exc).splitlines()[0]}") from None


def check_matcher(expected: Any) -> None:
    """Validate the shape of an expected value; raise ValueError if malformed."""
    if isinstance(expected, dict):
        if not expected:
            raise ValueError("an empty mapping is not a matcher")
        unknown = set(expected) - MATCHER_KEYS
        if unknown:
            raise ValueError(
                f"unknown matcher key(s) {sorted(unknown)}; use {sorted(MATCHER_KEYS)}"
            )
        if "regex" in expected:
            try:
                re.compile(str(expected["regex"]))
            except re.error as exc:
                raise ValueError(f"invalid regex {expected['regex']!r}: {exc}") from None
        for bound in ("min", "max"):
            value = expected.get(bound)
            if value is not None and not isinstance(value, (int, float, str)):
                raise ValueError(f"{bound} must be a number")
        lo, hi = expected.get("min"), expected.get("max")
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo > hi:
            raise ValueError("min is greater than max")
        if "not" in expected:
            check_matcher(expected["not"])


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _equal(actual: Any, expected: Any) -> bool:
    if actual == expected:
        return True
    # Templated values arrive as text ("2") while AWS returns numbers (2): compare as numbers.
    a, e = _number(actual), _number(expected)
    return a is not None and e is not None and a == e


def matches(actual: Any, expected: Any) -> bool:
    """Whether an actual value satisfies an expected value (equal, one-of, range, regex...)."""
    if isinstance(expected, list):
        return any(_equal(actual, option) for option in expected)
    if isinstance(expected, dict):
        ok = True
        if "exists" in expected:
            ok &= (actual is not None) == bool(expected["exists"])
        if "min" in expected or "max" in expected:
            num = _number(actual)
            if num is None:
                return False
            lo, hi = _number(expected.get("min")), _number(expected.get("max"))
            ok &= (lo is None or num >= lo) and (hi is None or num <= hi)
        if "regex" in expected:
            ok &= actual is not None and re.search(str(expected["regex"]), str(actual)) is not None
        if "contains" in expected:
            ok &= isinstance(actual, (list, str)) and expected["contains"] in actual
        if "not" in expected:
            ok &= not matches(actual, expected["not"])
        return ok
    return _equal(actual, expected)


@dataclass
class Mismatch:
    """One expectation that did not hold."""

    path: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.path}: expected {self.expected!r}, got {self.actual!r}"


def evaluate(data: Any, expectations: dict[str, Any]) -> list[Mismatch]:
    """Check every JMESPath -> expected pair against data; return the mismatches."""
    failures = []
    for path, expected in expectations.items():
        actual = compile_path(path).search(data, options=OPTIONS)
        if not matches(actual, expected):
            failures.append(Mismatch(path, expected, actual))
    return failures


def truthy(value: Any) -> bool:
    """A condition's value as true/false ("false", "0", "no", "off", "" and null are false)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no", "off", "none", "null")
    return bool(value)


def holds(condition: str, scope: dict[str, Any]) -> bool:
    """Whether a `when:`-style condition holds: a ${{ }} template or JMESPath over the scope."""
    if "${{" in condition:
        from hybridops.engine.templating import render

        return truthy(render(condition, scope))
    try:
        return truthy(compile_path(condition).search(scope, options=OPTIONS))
    except JMESPathError as exc:  # a type error on the values this run has: the step fails
        from hybridops.errors import StepFailed

        raise StepFailed(f"condition {condition!r}: {type(exc).__name__}: {exc}") from None


def root_paths(expression: str) -> list[tuple[str, ...]]:
    """The dotted field paths an expression reads from the top of its input document."""
    chains: list[tuple[str, ...]] = []
    _collect(dict(jmespath.compile(expression).parsed), chains)
    return chains


# Node types whose first child is evaluated against the input and the rest against its result.
_LEFT_AT_ROOT = {
    "subexpression",
    "index_expression",
    "projection",
    "value_projection",
    "filter_projection",
    "flatten",
    "pipe",
}


def _spine(node: dict[str, Any]) -> list[str] | None:
    """The leading dotted fields of a path (`a.b.c[0]` -> a, b, c); None if it starts otherwise."""
    if node["type"] == "field":
        return [node["value"]]
    if node["type"] == "subexpression":
        first, *rest = node["children"]
        chain = _spine(first)
        if chain is None:
            return None
        for child in rest:
            if child["type"] == "field":
                chain.append(child["value"])
                continue
            # `outputs.items[0]`, `outputs.items[?x]`: the name before the bracket is read too.
            head = (child.get("children") or [None])[0]
            if child["type"] in _LEFT_AT_ROOT and isinstance(head, dict):
                chain.extend(_spine(head) or [])
            break
        return chain
    return None


def _collect(node: dict[str, Any], chains: list[tuple[str, ...]]) -> None:
    spine = _spine(node)
    if spine is not None:
        chains.append(tuple(spine))
        return
    children = [c for c in node.get("children", []) if isinstance(c, dict)]
    if node["type"] == "pipe" and children and children[0]["type"] in ("current", "identity"):
        children = children[1:]  # `@ | x`: x reads the top of the document too
    elif node["type"] in _LEFT_AT_ROOT:
        children = children[:1]
    elif node["type"] in ("expref", "literal", "current", "identity"):
        children = []
    for child in children:
        _collect(child, chains)
