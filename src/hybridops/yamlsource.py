"""Safe YAML loading that remembers line numbers, so errors can name file:line and field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from hybridops.errors import BadInput


class LineDict(dict[Any, Any]):
    """A mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A sequence that remembers the line of itself and of each item."""

    line: int = 0
    item_lines: list[int]


# Anchors and aliases are legitimate, but a few nested ones expand to billions of values when
# later code walks the document (a "YAML bomb"), and an anchor may even contain itself. The
# document's size is counted as if every alias were copied out, and refused past this.
MAX_EXPANDED_NODES = 100_000


def _expanded_size(node: yaml.Node, memo: dict[int, int], active: set[int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:  # an anchor that contains itself expands forever
        return MAX_EXPANDED_NODES + 1
    active.add(key)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo, active) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(
            _expanded_size(k, memo, active) + _expanded_size(v, memo, active) for k, v in node.value
        )
    active.discard(key)
    memo[key] = size
    return size


# libyaml's parser (when installed) composes ~5x faster than the pure-Python one; its nodes
# carry the same marks, so line numbers work the same.
_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BASE):
    """SafeLoader that records line numbers, rejects duplicate keys and alias bombs."""

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None and _expanded_size(node, {}, set()) > MAX_EXPANDED_NODES:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"expands to more than {MAX_EXPANDED_NODES:,} values through aliases (*name):"
                " refused",
                node.start_mark,
            )
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        self.flatten_mapping(node)
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "mapping keys must be scalars", key_node.start_mark
                )
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        seq = LineList(self.construct_object(child, deep=deep) for child in node.value)
        seq.line = node.start_mark.line + 1
        seq.item_lines = [child.start_mark.line + 1 for child in node.value]
        return seq


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_sequence)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely; a syntax error becomes BadInput naming source:line."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise BadInput(f"{source}{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{source}: invalid YAML: {exc}") from None
    except RecursionError:
        raise BadInput(f"{source}: invalid YAML: nested too deeply") from None


def load_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file; unreadable files are BadInput."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None
    return parse_yaml(text, str(path))


def line_of(data: Any, loc: Sequence[int | str]) -> int | None:
    """The best-known line for a location path inside parsed YAML."""
    line: int | None = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
        inner = getattr(node, "line", None)
        if inner is not None and not isinstance(node, (LineDict, LineList)):
            line = inner
    return line


def format_location(loc: Sequence[int | str]) -> str:
    """Render a location path as `steps[2].aws.params`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def pydantic_error_message(source: str, data: Any, exc: Any) -> str:
    """One line naming source:line, the field and the first problem (and how many more)."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = list(err["loc"])
    line = line_of(data, loc)
    where = f"{source}:{line}" if line else source
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    more = (
        f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        if len(errors) > 1
        else ""
    )
    return f"{where}: {format_location(loc)}: {msg}{more}"
