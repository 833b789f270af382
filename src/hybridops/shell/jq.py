"""JMESPath as a jq program: what a script evaluates where the aws CLI's `--query` cannot."""

# The translation follows jmespath's own interpreter node by node (null where JMESPath gives
# null, projections that drop nulls, JMESPath truthiness), so the shell computes what hybridops
# computes. What it does not cover raises Untranslatable.

from __future__ import annotations

import json
from typing import Any

# Helpers every translated program starts with (jq functions, so the program stays short).
JQ_DEFS = (
    'def _f($k): if type == "object" then .[$k] else null end;'
    ' def _i($n): if type == "array" then .[$n] else null end;'
    ' def _t: . != null and . != false and . != "" and . != [] and . != {};'
    ' def _n: type == "number";'
)


class Untranslatable(ValueError):
    """The expression uses JMESPath beyond what the shell form covers."""


def to_jq(expression: str) -> str:
    """The jq program (with its helper definitions) that evaluates `expression`."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        tree: dict[str, Any] = dict(jmespath.compile(expression).parsed)
    except JMESPathError as exc:
        raise Untranslatable(str(exc).splitlines()[0]) from None
    return f"{JQ_DEFS} {node_jq(tree)}"


def node_jq(node: dict[str, Any]) -> str:
    """One AST node of jmespath as a jq filter over the current value."""
    kind = node["type"]
    children = node.get("children", [])
    simple = _SIMPLE.get(kind)
    if simple is not None:
        return simple(node)
    if kind in ("subexpression", "index_expression", "pipe"):
        return " | ".join(f"({node_jq(c)})" for c in children)
    if kind == "projection":
        left, right = children
        return f'({node_jq(left)}) | if type == "array" then [.[] | {_kept(right)}] else null end'
    if kind == "value_projection":
        left, right = children
        return f'({node_jq(left)}) | if type == "object" then [.[] | {_kept(right)}] else null end'
    if kind == "filter_projection":
        left, right, condition = children
        keep = f"select(({node_jq(condition)}) | _t) | {_kept(right)}"
        return f'({node_jq(left)}) | if type == "array" then [.[] | {keep}] else null end'
    if kind == "flatten":
        inner = node_jq(children[0])
        return (
            f'({inner}) | if type == "array" then'
            ' [.[] | if type == "array" then .[] else . end] else null end'
        )
    if kind == "comparator":
        return _comparator(node["value"], *children)
    if kind == "and_expression":
        left, right = (node_jq(c) for c in children)
        return f"({left}) as $a | if ($a | _t) then ({right}) else $a end"
    if kind == "or_expression":
        left, right = (node_jq(c) for c in children)
        return f"({left}) as $a | if ($a | _t) then $a else ({right}) end"
    if kind == "not_expression":
        return f"({node_jq(children[0])}) | _t | not"
    if kind == "multi_select_dict":
        pairs = ", ".join(
            f"{json.dumps(pair['value'])}: ({node_jq(pair['children'][0])})" for pair in children
        )
        return f"if . == null then null else {{{pairs}}} end"
    if kind == "multi_select_list":
        items = ", ".join(f"({node_jq(c)})" for c in children)
        return f"if . == null then null else [{items}] end"
    if kind == "function_expression":
        return _function(node["value"], children)
    raise Untranslatable(f"JMESPath {kind}")


def _kept(node: dict[str, Any]) -> str:
    """A projection's right-hand side: its value, nulls dropped (as JMESPath drops them)."""
    return f"({node_jq(node)}) | select(. != null)"


def _slice(node: dict[str, Any]) -> str:
    start, stop, step = node["children"]
    if step not in (None, 1):
        raise Untranslatable("a slice with a step")
    bounds = f"{'' if start is None else start}:{'' if stop is None else stop}"
    return f'if type == "array" then .[{bounds}] else null end'


_SIMPLE = {
    "field": lambda n: f"_f({json.dumps(n['value'])})",
    "index": lambda n: f"_i({int(n['value'])})",
    "slice": _slice,
    "identity": lambda n: ".",
    "current": lambda n: ".",
    "literal": lambda n: f"({json.dumps(n['value'])})",
}

_ORDER = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _comparator(op: str, left: dict[str, Any], right: dict[str, Any]) -> str:
    pair = f"[({node_jq(left)}), ({node_jq(right)})]"
    if op == "eq":
        return f"{pair} | .[0] == .[1]"
    if op == "ne":
        return f"{pair} | .[0] != .[1]"
    # Ordering compares two numbers or two strings; anything else is null in JMESPath.
    same = '((.[0] | _n) and (.[1] | _n)) or ([.[] | type] == ["string", "string"])'
    return f"{pair} | if {same} then .[0] {_ORDER[op]} .[1] else null end"


# JMESPath function -> jq, over the evaluated arguments bound as $a0, $a1...
_FUNCTIONS = {
    "length": (1, "$a0 | length"),
    "abs": (1, "$a0 | fabs"),
    "ceil": (1, "$a0 | ceil"),
    "floor": (1, "$a0 | floor"),
    "keys": (1, "$a0 | keys_unsorted"),
    "values": (1, "$a0 | [.[]]"),
    "sort": (1, "$a0 | sort"),
    "reverse": (
        1,
        'if ($a0 | type) == "string" then ($a0 | explode | reverse | implode)'
        " else ($a0 | reverse) end",
    ),
    "max": (1, "if ($a0 | length) == 0 then null else ($a0 | max) end"),
    "min": (1, "if ($a0 | length) == 0 then null else ($a0 | min) end"),
    "sum": (1, "$a0 | add // 0"),
    "avg": (1, "if ($a0 | length) == 0 then null else ($a0 | add / length) end"),
    "type": (1, "$a0 | type"),
    "to_array": (1, 'if ($a0 | type) == "array" then $a0 else [$a0] end'),
    "to_string": (1, 'if ($a0 | type) == "string" then $a0 else ($a0 | tojson) end'),
    "to_number": (
        1,
        'if ($a0 | _n) then $a0 elif ($a0 | type) == "string"'
        " then ($a0 | tonumber? // null) else null end",
    ),
    "starts_with": (2, "$a0 | startswith($a1)"),
    "ends_with": (2, "$a0 | endswith($a1)"),
    "join": (2, "$a1 | join($a0)"),
    "contains": (
        2,
        'if ($a0 | type) == "array" then ($a0 | any(.[]; . == $a1))'
        ' elif ($a0 | type) == "string" then ($a0 | contains($a1)) else null end',
    ),
}


def _function(name: str, args: list[dict[str, Any]]) -> str:
    if name == "not_null":
        values = ", ".join(f"({node_jq(a)})" for a in args)
        return f"[{values}] | map(select(. != null)) | .[0]"
    if name == "merge":
        values = ", ".join(f"({node_jq(a)})" for a in args)
        return f"[{values}] | add"
    if name in ("sort_by", "max_by", "min_by", "map"):
        if len(args) != 2:
            raise Untranslatable(f"{name}() takes two arguments")
        first, second = args
        expref, subject = (first, second) if name == "map" else (second, first)
        if expref["type"] != "expref":
            raise Untranslatable(f"{name}() needs an &expression")
        key = node_jq(expref["children"][0])
        if name == "map":
            return f'({node_jq(subject)}) | if type == "array" then [.[] | ({key})] else null end'
        return f"({node_jq(subject)}) | {name}({key})"
    spec = _FUNCTIONS.get(name)
    if spec is None or spec[0] != len(args):
        raise Untranslatable(f"JMESPath function {name}()")
    bound = " | ".join(f"({node_jq(a)}) as $a{i}" for i, a in enumerate(args))
    return f"{bound} | {spec[1]}"
