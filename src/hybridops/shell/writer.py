"""Accumulates the lines of a shell script: commands, captures, checks, comments."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from hybridops.shell.words import Ref, quote, scalar_text, word

# Small helpers every script starts with: the script reads like the runbook, not like bash.
PRELUDE = r"""set -euo pipefail

# field JSON NAME: one member of a JSON object, text as text and anything else as JSON.
field() { jq -r --arg k "$2" '.[$k] | if type == "string" then . else tojson end' <<<"$1"; }
# truthy VALUE: JMESPath truthiness (empty, false, null and empty collections are false).
truthy() { case "${1-}" in "" | false | False | null | None | "[]" | "{}") return 1 ;; esac; }
num_ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
num_le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
# fail CODE MESSAGE: stop like hybridops would (1 check failed, 3 refused, 5 timed out).
fail() { echo "$2" >&2; exit "$1"; }
# ask QUESTION: yes or no on the terminal.
ask() { local answer; read -r -p "$1 [y/N] " answer; [[ "$answer" =~ ^(y|yes)$ ]]; }
# ask_value NAME WHAT: a value hybridops computes, read from the operator instead.
ask_value() { local value; read -r -p "$1 ($2): " value; printf -v "$1" '%s' "$value"; }"""


@dataclass
class ShellWriter:
    """The body of a script being written; remembers which references it used."""

    lines: list[str] = field(default_factory=list)
    indent: int = 0
    used: dict[str, Ref] = field(default_factory=dict)
    _counter: int = 0

    def temp(self, prefix: str) -> str:
        """A fresh variable name."""
        self._counter += 1
        return f"_{prefix}{self._counter}"

    def line(self, text: str = "") -> None:
        """One raw line at the current indentation."""
        self.lines.append(("  " * self.indent + text) if text else "")

    def comment(self, text: str, width: int = 96) -> None:
        """A comment, wrapped."""
        for chunk in textwrap.wrap(text, width - 2 * self.indent - 2) or [""]:
            self.line(f"# {chunk}")

    def command(self, words: list[str], *, capture: str | None = None) -> None:
        """A command line (continued over lines when long); `capture` assigns its output."""
        text = " ".join(words)
        if capture:
            text = f"{capture}=$({text})"
        if len(text) + 2 * self.indent <= 100:
            self.line(text)
            return
        head, *rest = words
        lines = [f"{capture}=$({head}" if capture else head]
        for w in rest:
            if w.startswith("--") or len(lines[-1]) + len(w) > 90:
                lines.append("    " + w)
            else:
                lines[-1] += " " + w
        if capture:
            lines[-1] += ")"
        for i, piece in enumerate(lines):
            self.line(piece + (" \\" if i < len(lines) - 1 else ""))

    def assign(self, var: str, value: Any) -> None:
        """VAR=value."""
        self.line(f"{var}={word(value)}")

    def check(self, what: str, test: str, actual: str) -> None:
        """Fail (exit 1) unless the bash test holds."""
        message = quote(f"check failed: {what} (got ") + actual + quote(")")
        self.line(f"{test} || fail 1 {message}")

    def block(self, opener: str, closer: str) -> _Block:
        """An indented block (if/for/while)."""
        return _Block(self, opener, closer)


class _Block:
    def __init__(self, writer: ShellWriter, opener: str, closer: str) -> None:
        self.writer, self.opener, self.closer = writer, opener, closer

    def __enter__(self) -> ShellWriter:
        self.writer.line(self.opener)
        self.writer.indent += 1
        return self.writer

    def __exit__(self, *exc: object) -> None:
        self.writer.indent -= 1
        self.writer.line(self.closer)


def expectation_test(actual: str, expected: Any) -> str:
    """A bash test that `actual` (a shell expression) satisfies a runbook expectation."""
    if isinstance(expected, list):
        return (
            "{ " + " || ".join(f"[ {actual} = {quote(scalar_text(e))} ]" for e in expected) + "; }"
        )
    if isinstance(expected, dict):
        tests = []
        if "exists" in expected:
            present = f"truthy {actual}"
            tests.append(present if expected["exists"] else f"! {present}")
        if expected.get("min") is not None:
            tests.append(f"num_ge {actual} {quote(scalar_text(expected['min']))}")
        if expected.get("max") is not None:
            tests.append(f"num_le {actual} {quote(scalar_text(expected['max']))}")
        if "regex" in expected:
            pattern = quote(str(expected["regex"]))
            tests.append(f"grep -Eq {pattern} <<<{actual}")
        if "contains" in expected:
            tests.append(f"grep -Fq {quote(scalar_text(expected['contains']))} <<<{actual}")
        if "not" in expected:
            tests.append(f"! {expectation_test(actual, expected['not'])}")
        return "{ " + " && ".join(tests or ["true"]) + "; }"
    return f"[ {actual} = {quote(scalar_text(expected))} ]"


def expectation_words(expected: Any) -> str:
    """An expectation in words, for comments and failure messages."""
    if isinstance(expected, list):
        return " or ".join(scalar_text(e) for e in expected)
    if isinstance(expected, dict):
        return ", ".join(f"{k} {scalar_text(v)}" for k, v in expected.items())
    return scalar_text(expected)
