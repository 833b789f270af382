"""The per-invocation object every command receives through the Typer context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hybridops.context import Terminal
from hybridops.options import Options

if TYPE_CHECKING:
    from collections.abc import Callable

    import typer
    from rich.console import Console

    from hybridops.cli.render import RunProgress
    from hybridops.runtime import Runtime


@dataclass
class Invocation:
    """Options, the injected environment and the lazily built runtime."""

    terminal: Terminal
    options: Options = field(default_factory=Options)
    argv: list[str] = field(default_factory=list)
    _runtime: Runtime | None = None

    @property
    def json(self) -> bool:
        """True when stdout carries one JSON document."""
        return self.options.output == "json"

    @property
    def built_runtime(self) -> Runtime | None:
        """The runtime if the command built one (errors and the timeline use what exists)."""
        return self._runtime

    def runtime(self) -> Runtime:
        """Build (once) the services the command needs."""
        if self._runtime is None:
            from hybridops.cli.prompts import make_confirmer
            from hybridops.runtime import Runtime

            self._runtime = Runtime(self.options, self.terminal)
            runtime = self._runtime
            runtime.confirmer = make_confirmer(
                self.terminal,
                runtime.redactor,
                where=lambda region: runtime.gate.where(region),
                env_name=lambda: runtime.env.name,
            )
        return self._runtime

    def emit(
        self,
        doc: Any,
        text: str | Callable[[Console], None] | None = None,
        *,
        otherwise: Callable[[], object] | None = None,
    ) -> None:
        """A command's result: `doc` as the one JSON document of -o json, else `text` for people
        (words printed as they are, or a function that renders onto the stdout console), or
        `otherwise`: what people get somewhere else (a script as it is, notes on stderr)."""
        if self.json:
            from hybridops.cli.render import emit_json

            emit_json(self.terminal, doc)
        elif callable(text):
            text(self.out_console())
        elif text is not None:
            self.out_console().print(text, markup=False, highlight=False)
        if otherwise is not None and not self.json:
            otherwise()

    def err_console(self) -> Console:
        """Progress and messages: stderr, silenced by --quiet."""
        return self.terminal.console(stderr=True, quiet=self.options.quiet)

    def progress(self) -> RunProgress:
        """The run narrator on stderr: rich on a terminal, plain lines otherwise."""
        from hybridops.cli.render import PlainConsole, RunProgress

        terminal = self.terminal
        if terminal.stderr_isatty:
            return RunProgress(self.err_console())
        return RunProgress(PlainConsole(terminal.stderr, quiet=self.options.quiet))

    def out_console(self) -> Console:
        """Results in text mode: stdout."""
        return self.terminal.console(stderr=False)

    def close(self) -> None:
        """Release the runtime's resources."""
        if self._runtime is not None:
            self._runtime.close()


def invocation_of(ctx: typer.Context) -> Invocation:
    """The Invocation of the root context."""
    root: Any = ctx.find_root().obj
    assert isinstance(root, Invocation)
    return root
