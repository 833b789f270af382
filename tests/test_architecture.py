"""The layers of docs/architecture.md hold: no package imports one above it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).parent.parent
PACKAGE = REPO / "src" / "hybridops"
DOC = REPO / "docs" / "architecture.md"
# The commands that start, break and watch the sandbox: the only product code that imports it.
SANDBOX_USERS = {"cli.sandbox", "cli.demo", "cli.drill"}


def _layers() -> list[tuple[str, set[str]]]:
    """(layer, its top-level packages and modules), top first, from the doc's table."""
    section = DOC.read_text().split("## What each package may import", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    out = []
    for row in rows:
        layer, packages, _ = (cell.strip() for cell in row.strip("|").split("|"))
        out.append((layer, set(re.findall(r"`([\w.]+)`", packages.split("|")[0]))))
    return out


def _unit(path: Path) -> str:
    """`cli.main` for src/hybridops/cli/main.py; `errors` for src/hybridops/errors.py."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def _imports(path: Path) -> set[str]:
    """Every hybridops module it imports, at module level or in a function: `aws.session`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "hybridops":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("hybridops."):
                found.add(node.module.removeprefix("hybridops."))
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix("hybridops.")
                for alias in node.names
                if alias.name.startswith("hybridops.")
            )
    return found


def _top(unit: str) -> str:
    top = unit.split(".", 1)[0]
    return "__init__" if top == "__version__" else top


def test_the_table_names_every_package_once() -> None:
    named = [name for _, names in _layers() for name in names]
    assert len(named) == len(set(named)), "a package in two layers"
    present = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    present = {n for n in present if not n.startswith("__pycache__") and n != "py"} - {"py.typed"}
    assert present == set(named), (
        f"not in the table: {present - set(named)}; gone: {set(named) - present}"
    )


def test_no_package_imports_a_layer_above_it() -> None:
    layers = _layers()
    rank = {name: index for index, (_, names) in enumerate(layers) for name in names}
    foundation = next(i for i, (layer, _) in enumerate(layers) if layer == "foundation")
    sandbox = rank["sandbox"]
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        mine = rank[_top(unit)]
        for imported in sorted(_imports(path)):
            theirs = rank[_top(imported)]
            if _top(imported) == _top(unit):
                continue
            if theirs == sandbox:
                allowed = unit in SANDBOX_USERS
            elif mine == sandbox:
                allowed = theirs in (rank["state"], foundation)
            elif mine == foundation:
                allowed = theirs == foundation
            else:
                allowed = theirs >= mine
            if not allowed:
                problems.append(
                    f"{unit} imports {imported} ({layers[theirs][0]} is above {layers[mine][0]})"
                )
    assert not problems, "\n".join(problems)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rule can fail: an upward import, hidden in a function, is found."""
    module = tmp_path / "x.py"
    module.write_text("def f():\n    from hybridops.cli.render import emit_json\n")
    assert _imports(module) == {"cli.render"}
