"""The injectable environment a command runs in: streams, terminal, colour, clock."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Environment:
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
            self.no_color = "NO_COLOR" in os.environ

    @property
    def interactive(self) -> bool:
        """True when a human can answer a prompt."""
        return bool(self.stdin_isatty and self.stderr_isatty)

    def ask(self, question: str) -> str:
        """Ask the operator a question on stderr and read one line."""
        if self.prompt is not None:
            return self.prompt(question)
        self.stderr.write(question)
        self.stderr.flush()
        line = self.stdin.readline()
        if not line:
            raise EOFError
        return line.strip()

    def console(self, *, stderr: bool = True, quiet: bool = False) -> Console:
        """A rich Console bound to stderr (progress) or stdout (results)."""
        from rich.console import Console

        stream = self.stderr if stderr else self.stdout
        tty = self.stderr_isatty if stderr else self.stdout_isatty
        return Console(
            file=stream,
            force_terminal=bool(tty) and not self.no_color,
            no_color=bool(self.no_color),
            color_system=None if self.no_color or not tty else "auto",
            width=self.width or (None if tty else 100),
            quiet=quiet,
            highlight=False,
            soft_wrap=not tty,
        )
