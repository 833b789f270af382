"""Every command's --help ends with one or two examples, and each example parses."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
import typer

from hybridops.cli.examples import EXAMPLES
from hybridops.cli.main import build_app, hoist_global_options
from tests.support import Cli


def _tree() -> dict[str, Any]:
    root = typer.main.get_command(build_app())
    found: dict[str, Any] = {}

    def walk(command: Any, path: str) -> None:
        found[path] = command
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(root, "")
    return found


def test_every_command_has_examples() -> None:
    missing = sorted(path for path in _tree() if not EXAMPLES.get(path))
    assert missing == []
    assert all(1 <= len(lines) <= 2 for lines in EXAMPLES.values())
    assert set(EXAMPLES) <= set(_tree()), "examples for commands that do not exist"


def _parse(argv: list[str]) -> None:
    """Parse an example as click would, level by level, without running anything."""
    root = typer.main.get_command(build_app())
    # Global options may follow the command, as `main` allows.
    argv = hoist_global_options(root, list(argv))
    ctx = root.make_context("hybridops", argv, resilient_parsing=False)
    while hasattr(ctx.command, "commands"):
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            return
        name, *rest = rest
        sub = ctx.command.get_command(ctx, name)  # type: ignore[attr-defined]
        assert sub is not None, f"no command {name!r}"
        ctx = sub.make_context(name, rest, parent=ctx, resilient_parsing=False)


@pytest.mark.parametrize("line", sorted({line for lines in EXAMPLES.values() for line in lines}))
def test_each_example_is_a_valid_command_line(line: str) -> None:
    words = shlex.split(line.split(" | ")[0])
    assert words[0] == "hybridops"
    _parse(words[1:])


def test_help_shows_the_examples_as_written(cli: Cli) -> None:
    out = cli("incident", "note", "--help").out
    assert "Examples:\n\n    hybridops incident note 'cache saturated'\n" in out
