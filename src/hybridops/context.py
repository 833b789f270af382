"""The terminal a command runs with, injectable: streams, tty facts, colour, width, prompt."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Terminal:
    """Streams and terminal facts; tests pass their own instead of patching globals."""

    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool | None = None
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    no_color: bool | None = None
    width: int | None = None
    prompt: Callable[[str], str] | None = None
    # Set once a JSON document went to stdout: an error after it must not add a second one.
    json_written: bool = False

    def __post_init__(self) -> None:
        if self.stdin_isatty is None:
            self.stdin_isatty = _is_tty(self.stdin)
        if self.stdout_isatty is None:
            self.stdout_isatty = _is_tty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _is_tty(self.stderr)
        if self.no_color is None:
            self.no_color = _env_flag("NO_COLOR")

    @property
    def interactive(self) -> bool:
        """True when a human can answer a prompt."""
        return bool(self.stdin_isatty and self.stderr_isatty)

    def ask(self, question: str) -> str:
        """Ask the operator a question on stderr and read one line ("" at end of input)."""
        if self.prompt is not None:
            return self.prompt(question)
        self.stderr.write(question)
        self.stderr.flush()
        line = self.stdin.readline()
        if not line:
            # End of input (Ctrl-D, a closed pipe) answers nothing: every question reads it
            # as "no", which is the safe answer to all of them.
            self.stderr.write("\n")
            return ""
        return line.strip()

    def colour(self, *, stderr: bool = True) -> bool:
        """Whether to colour a stream: a terminal, or FORCE_COLOR; never with NO_COLOR."""
        if self.no_color:
            return False
        tty = self.stderr_isatty if stderr else self.stdout_isatty
        return bool(tty) or _env_flag("FORCE_COLOR")

    def console(self, *, stderr: bool = True, quiet: bool = False) -> Console:
        """A rich Console bound to stderr (progress) or stdout (results).

        On a terminal it is as wide as the terminal (or COLUMNS). Off one (a pipe, a file),
        lines are never wrapped and tables are laid out at their natural width, so a cell is
        never cut (`…`) or wrapped: `health | grep fail` finds whole rows.
        """
        from rich.console import Console

        stream = self.stderr if stderr else self.stdout
        tty = bool(self.stderr_isatty if stderr else self.stdout_isatty)
        colour = self.colour(stderr=stderr)
        console = Console(
            file=stream,
            force_terminal=tty and colour,
            no_color=not colour,
            # Forced colour off a terminal: the 16 standard colours every pager shows (less -R).
            color_system=("auto" if tty else "standard") if colour else None,
            width=self.width or _columns() or (None if tty else 100),
            quiet=quiet,
            highlight=False,
            soft_wrap=not tty,
        )
        if not tty:
            console.push_render_hook(_whole_tables())
        return console


def _env_flag(name: str) -> bool:
    """A NO_COLOR/FORCE_COLOR style variable: set and not empty (no-color.org, force-color.org)."""
    return bool(os.environ.get(name))


def _columns() -> int | None:
    """COLUMNS, when it is a positive number."""
    text = os.environ.get("COLUMNS", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


# Wider than any table: tables are measured at this width to find their natural one.
_UNBOUNDED = 1_000_000


@functools.cache
def _whole_tables() -> Any:
    """A rich render hook: tables printed off a terminal get their natural width.

    Built on first use (rich is imported only by commands that print through it); it keeps no
    state, so every console shares it.
    """
    from rich.console import RenderHook
    from rich.measure import Measurement
    from rich.padding import Padding
    from rich.segment import Segment
    from rich.table import Table

    class Natural:
        """Renders a table at max(its natural width, the console's): nothing cut or wrapped."""

        def __init__(self, table: Any) -> None:
            self.table = table

        def __rich_console__(self, console: Any, options: Any) -> Any:
            natural = Measurement.get(console, options.update_width(_UNBOUNDED), self.table)
            width = max(options.max_width, natural.maximum)
            # print() does not crop off a terminal (soft wrap), so the wider lines stay whole.
            lines = console.render_lines(self.table, options.update_width(width), pad=False)
            for line in lines:
                # A cell is padded to its column's width: a line's trailing blanks are noise in
                # a pipe (grep, diff, a file).
                while line and not line[-1].control and not line[-1].text.strip():
                    line.pop()
                if line and not line[-1].control:
                    last = line[-1]
                    line[-1] = Segment(last.text.rstrip(), last.style)
                yield from line
                yield Segment.line()

    def tabular(renderable: Any) -> bool:
        if isinstance(renderable, Padding):
            renderable = renderable.renderable
        return isinstance(renderable, Table)

    class Hook(RenderHook):
        def process_renderables(self, renderables: list[Any]) -> list[Any]:
            return [Natural(r) if tabular(r) else r for r in renderables]

    return Hook()
