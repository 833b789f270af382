"""The layers of docs/architecture.md hold: no package imports one above it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).parent.parent
PACKAGE = REPO / "src" / "hybridops"
DOC = REPO / "docs" / "architecture.md"


def _table() -> list[tuple[str, set[str], str]]:
    """(layer, its top-level packages and modules, what it may import), top first."""
    section = DOC.read_text().split("## What each package may import", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    out = []
    for row in rows:
        layer, packages, may = (cell.strip() for cell in row.strip("|").split("|"))
        out.append((layer, set(re.findall(r"`([\w.]+)`", packages)), may))
    return out


def _sandbox_users() -> set[str]:
    """The modules the table lets import the sandbox (`sandbox` only from `cli.x`, ...)."""
    commands = next(may for layer, _, may in _table() if layer == "commands")
    return set(re.findall(r"`([\w.]+)`", commands.split("only from", 1)[1]))


def _unit(path: Path) -> str:
    """`cli.main` for src/hybridops/cli/main.py; `errors` for src/hybridops/errors.py."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def _imports(path: Path, unit: str | None = None) -> set[str]:
    """Every hybridops module it imports — at module level or in a function, absolute or
    relative, or by name through importlib — as `aws.session`."""
    unit = unit if unit is not None else _unit(path)
    package = unit.split(".") if path.name == "__init__.py" else unit.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package upwards
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
                found.update(
                    f"{module}.{a.name}" if not node.module else module for a in node.names
                )
            elif node.module == "hybridops":
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("hybridops."):
                found.add(node.module.removeprefix("hybridops."))
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix("hybridops.")
                for alias in node.names
                if alias.name.startswith("hybridops.")
            )
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            first = node.args[0] if node.args else None
            text = first.value if isinstance(first, ast.Constant) else None
            if isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                text = first.values[0].value  # f"hybridops.cli.{name}": at least its package
            if isinstance(text, str) and text.startswith("hybridops."):
                found.add(text.removeprefix("hybridops.").rstrip("."))
    return {name for name in found if name}


def _top(unit: str) -> str:
    top = unit.split(".", 1)[0]
    return "__init__" if top == "__version__" else top


def _problems(modules: dict[str, set[str]]) -> list[str]:
    """Each import (module -> what it imports) that the table does not allow."""
    layers = _table()
    rank = {name: index for index, (_, names, _) in enumerate(layers) for name in names}
    foundation, sandbox, state = rank["errors"], rank["sandbox"], rank["state"]
    users = _sandbox_users()
    problems = []
    for unit, imported in sorted(modules.items()):
        mine = rank[_top(unit)]
        for name in sorted(imported):
            theirs = rank[_top(name)]
            if _top(name) == _top(unit):
                continue
            if theirs == sandbox:
                allowed = unit in users
            elif mine == sandbox:
                allowed = theirs in (state, foundation)
            elif mine == foundation:
                allowed = theirs == foundation
            else:
                allowed = theirs >= mine
            if not allowed:
                problems.append(
                    f"{unit} imports {name} ({layers[theirs][0]} is not below {layers[mine][0]})"
                )
    return problems


def test_the_table_names_every_package_once() -> None:
    named = [name for _, names, _ in _table() for name in names]
    assert len(named) == len(set(named)), "a package in two layers"
    present = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    present = {n for n in present if not n.startswith("__pycache__")} - {"py.typed"}
    assert present == set(named), (
        f"not in the table: {present - set(named)}; gone: {set(named) - present}"
    )
    assert _sandbox_users() == {"cli.sandbox", "cli.demo", "cli.drill"}


def test_no_package_imports_a_layer_above_it() -> None:
    modules = {_unit(path): _imports(path) for path in sorted(PACKAGE.rglob("*.py"))}
    assert not _problems(modules), "\n".join(_problems(modules))


def test_the_rules_can_fail(tmp_path: Path) -> None:
    """Upward imports of every form are found, and the table's rules refuse them."""
    module = tmp_path / "store.py"
    module.write_text(
        "from ..cli import render\n"
        "def f():\n    from hybridops.engine import matching\n"
        "    import importlib\n    importlib.import_module('hybridops.triage.run')\n"
    )
    imported = _imports(module, unit="state.store")
    assert imported == {"cli", "engine", "triage.run"}
    assert len(_problems({"state.store": imported})) == 3
    assert _problems({"errors": {"config"}, "health.verdict": {"proactive.alarms"}}) == []
    assert _problems({"engine.report": {"sandbox.server"}}) == [
        "engine.report imports sandbox.server (sandbox is not below engine)"
    ]
    assert _problems({"cli.demo": {"sandbox.demo"}, "sandbox.server": {"state.store"}}) == []
