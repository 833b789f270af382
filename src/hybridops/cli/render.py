"""Rendering: one JSON document on stdout, tables for people, progress on stderr."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

from hybridops.engine.events import (
    CompensationFinished,
    CompensationStarted,
    Event,
    RunFinished,
    RunResult,
    RunStarted,
    StepFinished,
    StepNote,
    StepRecord,
    StepStarted,
    WaitProgress,
)

if TYPE_CHECKING:
    from rich.console import Console

    from hybridops.context import Terminal

STATUS_STYLE = {
    "succeeded": "green",
    "pass": "green",
    "healthy": "green",
    "planned": "cyan",
    "skipped": "dim",
    "not_run": "dim",
    "unverified": "yellow",
    "warn": "yellow",
    "degraded": "yellow",
    "refused": "magenta",
    "failed": "red",
    "fail": "red",
    "unhealthy": "red",
    "timed_out": "red",
    "interrupted": "red",
}
STATUS_MARK = {
    "succeeded": "✓",
    "planned": "◌",
    "skipped": "-",
    "unverified": "?",
    "refused": "⊘",
    "failed": "✗",
    "timed_out": "✗",
}


# A skipped step's condition is shown up to this many characters (all of it in -o json).
WHEN_SHOWN = 160


def emit_json(terminal: Terminal, document: Any) -> None:
    """Write exactly one JSON document to stdout."""
    terminal.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    terminal.stdout.flush()
    terminal.json_written = True


def emit_json_line(terminal: Terminal, document: Any) -> None:
    """Write one JSON document as one line (JSON Lines) and flush it; Ctrl-C waits for it."""
    import signal
    import threading

    line = json.dumps(document, default=str, separators=(",", ":")) + "\n"
    previous = (
        signal.getsignal(signal.SIGINT)
        if threading.current_thread() is threading.main_thread()
        else None
    )
    if previous is None:  # not the main thread, or a handler Python did not install
        terminal.stdout.write(line)
        terminal.stdout.flush()
        terminal.json_written = True
        return
    caught: list[int] = []
    # A SIGINT during the write is held until the line is out: a reader never gets half a line.
    signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        terminal.stdout.write(line)
        terminal.stdout.flush()
    finally:
        signal.signal(signal.SIGINT, previous)
    # Lines went out: an error after them must not add a (multi-line) document of its own.
    terminal.json_written = True
    if caught and callable(previous):
        previous(signal.SIGINT, None)
    elif caught and previous == signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)


def styled(status: str) -> str:
    """A status word with its colour as rich markup."""
    style = STATUS_STYLE.get(status, "white")
    return f"[{style}]{status}[/{style}]"


# The markup RunProgress writes: [bold], [dim], [yellow], [bold red], and their closings.
_MARKUP_TAG = re.compile(r"\[/?[a-z][a-z ]*\]")


class PlainConsole:
    """The part of rich's Console RunProgress uses, for a stream that is not a terminal.

    Same lines as rich writes there (no colour, no wrapping), without importing rich: ~20 ms
    of every `run`, `rollback` or `scale` in CI and scripts.
    """

    is_terminal = False

    def __init__(self, stream: Any, *, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet

    def print(self, text: str = "", *, end: str = "\n", markup: bool = True, **_: Any) -> None:
        """Write text (markup tags removed) and end."""
        if self.quiet:
            return
        self.stream.write((_MARKUP_TAG.sub("", text) if markup else text) + end)
        self.stream.flush()


class RunProgress:
    """Event handler that narrates a run on stderr; a live status while waiting."""

    def __init__(self, console: Console | PlainConsole) -> None:
        self.console: Any = console
        self._status: Any = None
        self._started = time.monotonic()
        self._last_detail: str | None = None

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def handle(self, event: Event) -> None:
        """Print one line per step, and keep a spinner alive during waits."""
        c = self.console
        if isinstance(event, RunStarted):
            r = event.result
            mode = " (dry run)" if r.dry_run else ""
            c.print(f"[bold]run {r.runbook}[/bold] on {r.env}{mode} · {r.run_id}")
        elif isinstance(event, StepStarted):
            rec = event.record
            retry = f" (attempt {rec.attempts})" if rec.attempts > 1 else ""
            flag = " [yellow]mutating[/yellow]" if rec.mutating else ""
            c.print(f"[dim]{event.index + 1}/{event.total}[/dim] {rec.name}{flag}: ", end="")
            c.print(f"{event.description}{retry}", markup=False, highlight=False)
        elif isinstance(event, WaitProgress):
            waited = f"{event.elapsed_s:.0f}s/{event.timeout_s:.0f}s"
            text = f"{event.step}: waiting {waited} — {event.detail}"
            if c.is_terminal:
                if self._status is None:
                    self._status = c.status(text)
                    self._status.start()
                else:
                    self._status.update(text)
            elif event.detail != self._last_detail:
                # Without a terminal, print a wait line only when something changed.
                self._last_detail = event.detail
                c.print(f"  … {text}", markup=False, highlight=False)
        elif isinstance(event, StepFinished):
            self._stop_status()
            rec = event.record
            mark = STATUS_MARK.get(rec.status, "·")
            extra = ""
            if rec.error:
                extra = f" — {rec.error['message']}"
                if rec.error.get("hint"):
                    extra += f"\n    hint: {rec.error['hint']}"
            elif rec.detail:
                extra = f" — {_short_when(rec.detail)}"
            c.print(
                f"  {mark} {rec.name} {styled(rec.status)} [dim]{rec.duration_s:.2f}s[/dim]",
                highlight=False,
                end="",
            )
            c.print(extra, markup=False, highlight=False)
        elif isinstance(event, StepNote):
            self._stop_status()
            for line in event.text.splitlines():
                c.print(f"    {line}", markup=False, highlight=False)
        elif isinstance(event, CompensationStarted):
            c.print(f"[yellow]↶ compensating {event.step}[/yellow]: ", end="")
            c.print(event.description, markup=False, highlight=False)
        elif isinstance(event, CompensationFinished):
            extra = f" — {event.error}" if event.error else ""
            c.print(f"  ↶ {event.step} {styled(event.status)}", end="")
            c.print(extra, markup=False, highlight=False)
        elif isinstance(event, RunFinished):
            self._stop_status()


def _short_when(detail: str) -> str:
    """A skip's condition as a line a person reads (an imported document's can be pages)."""
    if not detail.startswith("when: ") or len(detail) <= WHEN_SHOWN:
        return detail
    return f"{detail[:WHEN_SHOWN].rstrip()}… (not met; the whole condition is in -o json)"


def _ran_times(step: StepRecord) -> str:
    """How often a step ran, where its status alone would not say (a loop)."""
    if step.passes > 1 or (step.passes and step.status in ("skipped", "not_run")):
        return f" (ran {'once' if step.passes == 1 else f'{step.passes} times'})"
    return ""


def print_run_result(console: Console, result: RunResult) -> None:
    """The final summary of a run, for people."""
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("step")
    table.add_column("status")
    table.add_column("mutating")
    table.add_column("time", justify="right")
    for step in result.steps:
        table.add_row(
            step.name,
            styled(step.status) + _ran_times(step),
            "yes" if step.mutating else "",
            f"{step.duration_s:.2f}s",
        )
    console.print(table)
    if result.report:
        print_report(console, result.report)
        console.print()
    planned = [c for c in result.calls if not c["sent"]]
    if planned:
        console.print("[bold]planned calls (not sent):[/bold]")
        for call in planned:
            params = json.dumps(call["params"], default=str, separators=(",", ":"))
            console.print(
                f"  {call['step']}: {call['service']}.{call['operation']} {params}",
                markup=False,
                highlight=False,
            )
    for step in result.steps:
        comp = step.compensation or {}
        if comp.get("status") == "succeeded":
            # The report above shows what the run found and changed; this change was undone.
            console.print("[yellow]undone:[/yellow] ", end="")
            console.print(f"{step.name} — {comp.get('call') or 'compensated'}", markup=False)
        if comp.get("status") in ("skipped", "failed"):
            why = comp.get("reason") or comp.get("error") or ""
            console.print("[yellow]left changed:[/yellow] ", end="")
            console.print(f"{step.name} — {why}", markup=False, highlight=False)
            if comp.get("undo"):
                console.print(f"  undo with: {comp['undo']}", markup=False, highlight=False)
    for warning in result.warnings:
        console.print("[yellow]warning:[/yellow] ", end="")
        console.print(warning, markup=False, highlight=False)
    console.print(f"{styled(result.status)} · run {result.run_id} · {result.duration_s:.2f}s")
    if result.error:
        console.print(f"[red]error:[/red] {result.error['message']}", highlight=False)
        if result.error.get("hint"):
            console.print(f"hint: {result.error['hint']}", markup=False, highlight=False)


def print_report(console: Console, report: list[dict[str, Any]]) -> None:
    """A run's resolved `report:` for people: a title, then fields, a table or lines."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from hybridops.plaintext import scalar as plain
    from hybridops.plaintext import short_arns

    def scalar(value: Any) -> str:
        # Region and account are on the header already: family:revision reads at a glance.
        return short_arns(plain(value))

    for entry in report:
        console.print()
        console.print(Text(entry["title"], style="bold"))
        fields = entry.get("fields") or {}
        width = max((len(label) for label in fields), default=0) + 1
        for label, value in fields.items():
            console.print(f"  {label + ':':<{width}} {scalar(value)}", markup=False)
        if entry.get("rows"):
            table = Table(
                box=None, header_style="bold", pad_edge=False, show_header=any(entry["columns"])
            )
            for column in entry["columns"]:
                table.add_column(column)
            for row in entry["rows"]:
                table.add_row(*(Text(scalar(cell)) for cell in row))
            console.print(Padding(table, (0, 0, 0, 2), expand=False))
        for line in entry.get("lines") or []:
            console.print(f"  {short_arns(line)}", markup=False)
        if entry.get("note"):
            console.print(f"  {entry['note']}", markup=False, style="dim")


def print_error(terminal: Terminal, message: str, hint: str | None) -> None:
    """One line on stderr (plus a hint line), no traceback."""
    terminal.stderr.write(f"error: {message}\n")
    if hint:
        terminal.stderr.write(f"hint: {hint}\n")
    terminal.stderr.flush()
