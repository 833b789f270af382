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
    # key -> the unquoted text YAML read as a boolean (`off`, `yes`): "off" was probably meant.
    bool_texts: dict[Any, str]


class LineList(list[Any]):
    """A sequence that remembers the line of itself and of each item."""

    line: int = 0
    item_lines: list[int]
    bool_texts: dict[int, str]


def bool_text(container: Any, key: Any) -> str | None:
    """The unquoted YAML text (`off`, `yes`) behind a boolean at container[key], if any."""
    texts = getattr(container, "bool_texts", None)
    return texts.get(key) if texts else None


# Anchors and aliases are legitimate, but a few nested ones expand to billions of values when
# later code walks the document (a "YAML bomb"), and an anchor may even contain itself. The
# document's size is counted as if every alias were copied out, and refused past this.
MAX_EXPANDED_NODES = 100_000

# The largest YAML text read (runbooks, configs, checklists, `-p` values): checked before
# parsing, so a huge file costs neither the time nor the memory of composing it. The built-in
# runbooks are a few KiB each.
MAX_YAML_BYTES = 1024 * 1024
_LIMIT_TEXT = "1 MiB"

_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_MERGE = object()  # marks a `<<` entry among a mapping's written keys


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


class _TooLarge(yaml.YAMLError):
    """The document has more values than any runbook or configuration needs."""


class _LineLoader(_BASE):
    """SafeLoader that records line numbers, rejects duplicate keys and alias bombs."""

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is None:
            return node
        memo: dict[int, int] = {}
        expanded = _expanded_size(node, memo, set())
        if len(memo) > MAX_EXPANDED_NODES:
            # Many values without any alias: a size problem, not a bomb, and said so.
            raise _TooLarge(
                f"too large: more than {MAX_EXPANDED_NODES:,} values, the limit: refused"
            )
        if expanded > MAX_EXPANDED_NODES:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"expands to more than {MAX_EXPANDED_NODES:,} values through aliases (*name):"
                " refused",
                node.start_mark,
            )
        return node

    def _key(self, key_node: yaml.Node) -> Any:
        if key_node.tag == _VALUE_TAG:  # a plain `=` key: a string, as PyYAML has it
            return key_node.value
        key = self.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be scalars", key_node.start_mark
            )
        return key

    def _merge_sources(self, node: yaml.MappingNode, value_node: yaml.Node) -> list[LineDict]:
        items = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        sources = []
        for item in items:
            source = (
                self.construct_object(item, deep=True)
                if isinstance(item, yaml.MappingNode)
                else None
            )
            if not isinstance(source, LineDict):  # a scalar, a list, or a tagged `!!set`
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "<< merges mappings (or a list of them) only",
                    item.start_mark,
                )
            sources.append(source)
        return sources

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        # Merge keys (`<<: *base`) are resolved here rather than by PyYAML's flatten_mapping,
        # which puts merged and written keys in one list: a written key overriding a merged
        # one would then look like a duplicate. Written keys win, then the earlier source.
        written: list[tuple[Any, yaml.Node, yaml.Node]] = []
        taken: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                written.append((_MERGE, key_node, value_node))
                continue
            key = self._key(key_node)
            if key in taken:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            taken.add(key)
            written.append((key, key_node, value_node))
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        bool_texts: dict[Any, str] = {}
        for key, key_node, value_node in written:
            if key is _MERGE:
                for source in self._merge_sources(node, value_node):
                    for merged_key, value in source.items():
                        if merged_key in taken:
                            continue
                        taken.add(merged_key)
                        mapping[merged_key] = value
                        mapping.key_lines[merged_key] = source.key_lines.get(
                            merged_key, source.line
                        )
                        text = bool_text(source, merged_key)
                        if text is not None:
                            bool_texts[merged_key] = text
                continue
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.key_lines[key] = key_node.start_mark.line + 1
            if value_node.tag == _BOOL_TAG and isinstance(value_node, yaml.ScalarNode):
                bool_texts[key] = value_node.value
        if bool_texts:
            mapping.bool_texts = bool_texts
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        seq = LineList(self.construct_object(child, deep=deep) for child in node.value)
        seq.line = node.start_mark.line + 1
        seq.item_lines = [child.start_mark.line + 1 for child in node.value]
        bool_texts = {
            i: child.value
            for i, child in enumerate(node.value)
            if child.tag == _BOOL_TAG and isinstance(child, yaml.ScalarNode)
        }
        if bool_texts:
            seq.bool_texts = bool_texts
        return seq


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_sequence)


def _too_large(size: int) -> str:
    return f"too large: {size:,} bytes, more than the limit of {_LIMIT_TEXT}: refused"


class YamlProblem(ValueError):
    """Why a YAML text was refused, and on which line (None: no line applies)."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


def parse_yaml_text(text: str) -> Any:
    """Parse YAML text safely (size, alias and duplicate-key limits); raise YamlProblem."""
    # Characters are never more than bytes: a text this long is over the byte limit too.
    if len(text) > MAX_YAML_BYTES:
        raise YamlProblem(_too_large(len(text)))
    try:
        return yaml.load(text, Loader=_LineLoader)
    except _TooLarge as exc:
        raise YamlProblem(str(exc)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlProblem(
            f"invalid YAML: {problem}", mark.line + 1 if mark is not None else None
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlProblem("invalid YAML: nested too deeply") from None


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely; a syntax error becomes BadInput naming source:line."""
    try:
        return parse_yaml_text(text)
    except YamlProblem as exc:
        line = f":{exc.line}" if exc.line is not None else ""
        raise BadInput(f"{source}{line}: {exc.problem}") from None


def load_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file; unreadable or too large files are BadInput."""
    try:
        with path.open("rb") as handle:
            # One byte past the limit is enough to know; a huge file is never read whole.
            data = handle.read(MAX_YAML_BYTES + 1)
            if len(data) > MAX_YAML_BYTES:
                size = max(path.stat().st_size, len(data))
                raise BadInput(f"{path}: {_too_large(size)}")
        text = data.decode("utf-8")
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


def _unquoted_bool_at(data: Any, loc: Sequence[int | str]) -> str | None:
    """The unquoted YAML text (`no`, `off`) of the boolean at a location, if that is what it is."""
    if not loc:
        return None
    node = data
    for part in loc[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return bool_text(node, loc[-1])


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
    text = _unquoted_bool_at(data, loc) if err["type"] == "string_type" else None
    if text is not None:
        msg += f' ({text} is read by YAML as a boolean: quote it, "{text}")'
    more = (
        f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        if len(errors) > 1
        else ""
    )
    return f"{where}: {format_location(loc)}: {msg}{more}"
