"""JMESPath over {params, steps, env, run} (`when:`, `assert:`) as bash tests and values."""

# Paths, ==, !=, <, <=, >, >=, !, && and || over paths and literals read as plain bash tests; any
# other JMESPath is evaluated by jq over a JSON document built from the variables it reads.

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hybridops.shell.jq import Untranslatable, node_jq
from hybridops.shell.words import Ref, quote, scalar_text

RefFor = Callable[[tuple[str, ...]], Ref]
# chains -> a shell word holding the JSON scope document with those names.
ScopeFor = Callable[[list[tuple[str, ...]]], str]

_NUMERIC = {"lt": "num_lt", "lte": "num_le", "gt": "num_gt", "gte": "num_ge"}


def _parse(expression: str) -> dict[str, Any]:
    import jmespath

    return dict(jmespath.compile(expression).parsed)


def bash_condition(expression: str, ref_for: RefFor, scope_for: ScopeFor | None = None) -> str:
    """A bash test that holds when hybridops' condition does (JMESPath, read as `truthy`)."""
    tree = _parse(expression)
    try:
        return _node(tree, ref_for)
    except Untranslatable:
        if scope_for is None:
            raise
    from hybridops.engine.loader import root_paths

    program = _program(tree)
    return f"holds {quote(program)} {scope_for(root_paths(expression))}"


def bash_value(expression: str, ref_for: RefFor, scope_for: ScopeFor) -> str:
    """A shell word with the value of a JMESPath over the scope (as text, JSON if not text)."""
    tree = _parse(expression)
    path = _path(tree)
    if path is not None:
        return f'"${{{ref_for(path).var}}}"'
    if tree["type"] in ("comparator", "not_expression"):
        try:
            test = _node(tree, ref_for)
            return f'"$(if {test}; then echo true; else echo false; fi)"'
        except Untranslatable:
            pass
    from hybridops.engine.loader import root_paths

    return f'"$(jqv {scope_for(root_paths(expression))} {quote(_program(tree))})"'


def bash_bool(expression: str, ref_for: RefFor) -> str:
    """The bash test for a comparison or a `!` (whose value is true or false)."""
    tree = _parse(expression)
    if tree["type"] not in ("comparator", "not_expression"):
        raise Untranslatable("not a comparison")
    return _node(tree, ref_for)


def _program(tree: dict[str, Any]) -> str:
    from hybridops.shell.jq import JQ_DEFS

    return f"{JQ_DEFS} ({node_jq(tree)})"


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


def _full(path: tuple[str, ...]) -> bool:
    """A path naming one value the script holds in a variable."""
    root = path[0]
    if root == "steps":
        return len(path) == 4 and path[2] == "outputs"
    return root in ("params", "env", "run") and len(path) >= 2


def _operand(node: dict[str, Any], ref_for: RefFor) -> str:
    if node["type"] == "literal" and not isinstance(node["value"], (dict, list)):
        return quote(scalar_text(node["value"]))
    path = _path(node)
    if path is None or not _full(path):
        raise Untranslatable(node["type"])
    return f'"${{{ref_for(path).var}}}"'


def _node(node: dict[str, Any], ref_for: RefFor, final: bool = True) -> str:
    """A node's truth: as hybridops reads a result (`final`), or as JMESPath reads an operand."""
    # JMESPath's operands of !, && and || count 0 and "no" as true; hybridops' result does not.
    kind = node["type"]
    children = node.get("children", [])
    if kind == "and_expression":
        left, right = children
        return f"{_group(left, ref_for, False)} && {_group(right, ref_for, final)}"
    if kind == "or_expression":
        left, right = children
        if final and _path(left) is not None:
            # The value is the left operand when JMESPath finds it true, even if hybridops
            # then reads it as false ("0", "no").
            operand = _operand(left, ref_for)
            rest = f"{{ ! jtruthy {operand} && {_group(right, ref_for, final)}; }}"
            return f"{{ truthy {operand} || {rest}; }}"
        if final and left["type"] in ("and_expression", "or_expression"):
            raise Untranslatable("a nested || value")
        return f"{_group(left, ref_for, final)} || {_group(right, ref_for, final)}"
    if kind == "not_expression":
        return f"! {_group(children[0], ref_for, False)}"
    if kind == "comparator":
        left, right = (_operand(c, ref_for) for c in children)
        op = node["value"]
        if op in ("eq", "ne"):
            test = f"same {left} {right}"
            return test if op == "eq" else f"! {test}"
        return f"{_NUMERIC[op]} {left} {right}"
    if kind == "literal":
        from hybridops.engine.matching import truthy

        value = node["value"]
        holds = truthy(value) if final else value not in (None, False, "", [], {})
        return "true" if holds else "false"
    path = _path(node)
    if path is None or not _full(path):
        raise Untranslatable(kind)
    return f'{"truthy" if final else "jtruthy"} "${{{ref_for(path).var}}}"'


def _group(node: dict[str, Any], ref_for: RefFor, final: bool) -> str:
    text = _node(node, ref_for, final)
    return f"{{ {text}; }}" if node["type"] in ("and_expression", "or_expression") else text
