"""A step's `when:` (JMESPath over params, env and step outputs) as a bash condition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hybridops.shell.words import Ref, quote, scalar_text


class Untranslatable(ValueError):
    """The expression uses JMESPath beyond what the shell form covers."""


def bash_condition(expression: str, ref_for: Callable[[tuple[str, ...]], Ref]) -> str:
    """The bash test for `expression`; Untranslatable if it is beyond paths, ==, !=, !, &&, ||."""
    import jmespath

    tree: dict[str, Any] = dict(jmespath.compile(expression).parsed)
    return _node(tree, ref_for)


def _path(node: dict[str, Any]) -> tuple[str, ...] | None:
    if node["type"] == "field":
        return (node["value"],)
    if node["type"] == "subexpression":
        parts: tuple[str, ...] = ()
        for child in node["children"]:
            sub = _path(child)
            if sub is None:
                return None
            parts += sub
        return parts
    return None


def _operand(node: dict[str, Any], ref_for: Callable[[tuple[str, ...]], Ref]) -> str:
    if node["type"] == "literal":
        return quote(scalar_text(node["value"]))
    path = _path(node)
    if path is None:
        raise Untranslatable(node["type"])
    return f'"${{{ref_for(path).var}}}"'


def _node(node: dict[str, Any], ref_for: Callable[[tuple[str, ...]], Ref]) -> str:
    kind = node["type"]
    children = node.get("children", [])
    if kind == "and_expression":
        return " && ".join(_group(c, ref_for) for c in children)
    if kind == "or_expression":
        return " || ".join(_group(c, ref_for) for c in children)
    if kind == "not_expression":
        return f"! {_group(children[0], ref_for)}"
    if kind == "comparator" and node["value"] in ("eq", "ne"):
        op = "=" if node["value"] == "eq" else "!="
        return f"[ {_operand(children[0], ref_for)} {op} {_operand(children[1], ref_for)} ]"
    if kind == "literal":
        return "true" if node["value"] else "false"
    path = _path(node)
    if path is None:
        raise Untranslatable(kind)
    return f'truthy "${{{ref_for(path).var}}}"'


def _group(node: dict[str, Any], ref_for: Callable[[tuple[str, ...]], Ref]) -> str:
    text = _node(node, ref_for)
    return f"{{ {text}; }}" if node["type"] in ("and_expression", "or_expression") else text
