"""Accumulates the lines of a shell script: commands, captures, checks, comments."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

from hybridops.shell.words import SENTINEL, Ref, dq, quote, scalar_text, word

# Every script starts with these: strict mode, and what a failure means.
STRICT = r"""set -Eeuo pipefail
# A command that fails (aws, curl, jq) stops the script with exit 4, as an AWS or HTTP error
# stops hybridops; a failed check stops it with 1, a refusal with 3, a timeout with 5.
trap 'exit 4' ERR
# fail CODE MESSAGE: stop with hybridops' exit code.
fail() { echo "$2" >&2; exit "$1"; }"""

_NUMBER = 'n = "^ *[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)? *$"'

# name -> the helper's definition, with a comment saying what it does. A script carries the ones
# it uses.
HELPERS: dict[str, str] = {
    "field": r"""# field JSON NAME: one member of a JSON object: text as text, null as nothing,
# anything else as JSON.
field() {
  jq -r --arg k "$2" '.[$k] | if . == null then "" elif type == "string" then . else tojson end' \
    <<<"$1"
}""",
    "jqv": r"""# jqv JSON PROGRAM: the value of a jq program over a JSON document (as field
# gives a member).
jqv() {
  jq -r "($2)"' | if . == null then "" elif type == "string" then . else tojson end' <<<"$1"
}""",
    "http_result": r"""# http_result "CODE SECONDS" BODY HEADERS: curl's answer as hybridops sees an
# HTTP result: {status, headers, json, text, elapsed_ms}.
http_result() {
  jq -nc --arg w "$1" --rawfile text "$2" --rawfile head "$3" '($w | split(" ")) as [$code, $time]
    | {status: ($code | tonumber), elapsed_ms: ($time | tonumber * 10000 | round / 10), text: $text,
       json: (try ($text | fromjson) catch null),
       headers: ([$head | split("\r\n")[] | capture("^(?<k>[^:]+):\\s*(?<v>.*)$")?
         | {(.k | ascii_downcase): .v}] | add // {})}'
}""",
    "truthy": r"""# truthy VALUE: false for nothing, false, 0, no, off, none, null and empty
# collections, as hybridops reads a condition.
truthy() {
  case "$(tr '[:upper:]' '[:lower:]' <<<"${1-}" | tr -d '[:space:]')" in
    "" | false | 0 | 0.0 | no | off | none | null | "[]" | "{}") return 1 ;;
  esac
}""",
    "jtruthy": r"""# jtruthy VALUE: JMESPath's truth inside !, && and || (only nothing, false, null
# and empty collections are false).
jtruthy() { case "${1-}" in "" | false | null | "[]" | "{}") return 1 ;; esac; }""",
    "holds": r"""# holds PROGRAM JSON: whether the value of a jq program over JSON is true, as
# truthy reads it.
holds() {
  jq -e "($1)"' | if type == "string" then (test("^\\s*(false|0|no|off|none|null)?\\s*$"; "i")
    | not) elif type == "number" then . != 0 elif type == "array" or type == "object"
    then length > 0 else . == true end' <<<"$2" >/dev/null
}""",
    "same": rf"""# same A B: equal as text, or as numbers (2 and 2.0), as hybridops compares.
same() {{
  [ "$1" = "$2" ] ||
    awk -v a="$1" -v b="$2" 'BEGIN {{ {_NUMBER}; exit !(a ~ n && b ~ n && a + 0 == b + 0) }}'
}}""",
    "num_ge": rf"""# num_ge A B: A is a number, at least B.
num_ge() {{ awk -v a="$1" -v b="$2" 'BEGIN {{ {_NUMBER}; exit !(a ~ n && a + 0 >= b + 0) }}'; }}""",
    "num_le": rf"""# num_le A B: A is a number, at most B.
num_le() {{ awk -v a="$1" -v b="$2" 'BEGIN {{ {_NUMBER}; exit !(a ~ n && a + 0 <= b + 0) }}'; }}""",
    "num_lt": rf"""# num_lt A B: A is a number, less than B.
num_lt() {{ awk -v a="$1" -v b="$2" 'BEGIN {{ {_NUMBER}; exit !(a ~ n && a + 0 < b + 0) }}'; }}""",
    "num_gt": rf"""# num_gt A B: A is a number, more than B.
num_gt() {{ awk -v a="$1" -v b="$2" 'BEGIN {{ {_NUMBER}; exit !(a ~ n && a + 0 > b + 0) }}'; }}""",
    "secs": r"""# secs SECONDS: whole seconds, rounded up (for deadlines).
secs() { awk -v s="$1" 'BEGIN { i = int(s); printf "%d", (s > i) ? i + 1 : i }'; }""",
    "ask": r"""# ask QUESTION: yes or no on the terminal (y or yes is yes).
ask() {
  local answer=""
  printf '%s [y/N] ' "$1" >&2
  read -r answer || true
  [ -t 0 ] || echo "$answer" >&2  # an answer from a pipe, shown as typed
  [[ "$answer" =~ ^(y|yes)$ ]]
}""",
    "ask_value": r"""# ask_value NAME WHAT: a value only hybridops computes (a custom action), from
# the operator.
ask_value() {
  local value=""
  printf '%s (%s): ' "$1" "$2" >&2
  read -r value || true
  printf -v "$1" '%s' "$value"
}""",
    "run_step": r"""# run_step TRIES DELAY stop|continue STEP OUTPUT...: run the function STEP in a
# subshell (a failed check ends only the subshell), again after DELAY seconds while it fails
# with a check (1) or an AWS or HTTP error (4), as hybridops retries; its OUTPUT variables come
# back whatever happened (hybridops keeps a step's outputs when an expectation then fails). Out
# of tries, `stop` ends the script with the step's exit code; `continue` keeps the first such
# code in _FAILED (the script's exit code at the end) and goes on. A refusal (3), a timeout (5)
# or an interrupt always ends the script.
run_step() {
  local tries="$1" delay="$2" then="$3" step="$4" out rc=0 try
  shift 4
  local -a _outputs=("$@")
  out=$(mktemp)
  for ((try = 1; try <= tries; try++)); do
    # The subshell's exit code is read here, not trapped.
    trap - ERR
    set +e
    (
      # shellcheck disable=SC2154  # _name is the trap's own loop variable
      trap 'for _name in ${_outputs[@]+"${_outputs[@]}"}; do
        printf "%s=%q\n" "$_name" "${!_name-}"; done >"$out"' EXIT
      trap 'exit 4' ERR
      set -e
      "$step"
    )
    rc=$?
    set -e
    trap 'exit 4' ERR
    case "$rc" in 0 | 1 | 3 | 5 | 129 | 130 | 143) ;; *) rc=4 ;; esac
    [ "$rc" -ne 0 ] || break
    case "$rc" in 3 | 5 | 129 | 130 | 143) rm -f "$out" && exit "$rc" ;; esac
    if [ "$try" -lt "$tries" ]; then
      echo "  $step failed (exit $rc): again in ${delay}s" >&2
      sleep "$delay"
    fi
  done
  # shellcheck disable=SC1090  # the step's outputs, written as it ended
  . "$out"
  rm -f "$out"
  [ "$rc" -ne 0 ] || return 0
  [ "$then" = continue ] || exit "$rc"
  echo "  $step failed (exit $rc); the runbook goes on, as hybridops does" >&2
  _FAILED="${_FAILED:-$rc}"
}""",
}


def helper(name: str, definition: str) -> None:
    """Register a helper function (an action's shell equivalent may bring its own)."""
    HELPERS.setdefault(name, definition)


def prelude(body: str) -> str:
    """Strict mode and the helpers the body uses (and the ones those use)."""
    used: list[str] = []
    pending = [body]
    while pending:
        text = pending.pop()
        for name, definition in HELPERS.items():
            if name not in used and re.search(rf"(^|[\s;(|&!{{]){name}(\s|$)", text, re.M):
                used.append(name)
                pending.append(definition)
    helpers = [HELPERS[name] for name in HELPERS if name in used]
    return "\n".join([STRICT, *helpers])


@dataclass
class ShellWriter:
    """The body of a script being written."""

    lines: list[str] = field(default_factory=list)
    indent: int = 0
    counter: list[int] = field(default_factory=lambda: [0])

    def temp(self, prefix: str) -> str:
        """A fresh variable name (underscore first: never a runbook's P_, S_ or ENV_ name)."""
        self.counter[0] += 1
        return f"_{prefix}{self.counter[0]}"

    def line(self, text: str = "") -> None:
        """One raw line at the current indentation."""
        if SENTINEL in text:
            raise ValueError(f"a reference marker reached the script: {text!r}")
        self.lines.append(("  " * self.indent + text) if text else "")

    def comment(self, text: str, width: int = 96) -> None:
        """A comment, wrapped; references read as ${VAR}."""
        text = re.sub("\x00([A-Za-z0-9_]+)\x00", r"${\1}", text)
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

    def check(self, what: str, test: str, actual: str, code: int = 1) -> None:
        """Stop (exit `code`, 1: a failed check) unless the bash test holds."""
        shown = actual[1:-1] if actual.startswith('"') and actual.endswith('"') else actual
        self.line(f'{test} || fail {code} "check failed: {dq(what)} (got {shown})"')

    def block(self, opener: str, closer: str) -> _Block:
        """An indented block (if/for/while)."""
        return _Block(self, opener, closer)

    def sub(self) -> ShellWriter:
        """A writer for lines kept apart (a compensation shown as comments), same temps."""
        return ShellWriter(counter=self.counter)


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


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return SENTINEL not in str(value)


def equal_test(actual: str, expected: Any) -> str:
    """`actual` (a shell word) equals `expected` as hybridops compares (numbers as numbers)."""
    if isinstance(expected, Ref) or SENTINEL in str(expected) or _numeric(expected):
        return f"same {actual} {word(expected)}"
    return f"[ {actual} = {quote(scalar_text(expected))} ]"


def expectation_test(actual: str, expected: Any) -> str:
    """A bash test that `actual` (a shell word) satisfies a runbook expectation."""
    if isinstance(expected, list):
        return "{ " + " || ".join(equal_test(actual, e) for e in expected) + "; }"
    if isinstance(expected, dict):
        tests = []
        if "exists" in expected:
            # Null reads as nothing in the script: present means not empty.
            present = f"[ -n {actual} ]"
            tests.append(present if expected["exists"] else f"[ -z {actual} ]")
        if expected.get("min") is not None:
            tests.append(f"num_ge {actual} {word(expected['min'])}")
        if expected.get("max") is not None:
            tests.append(f"num_le {actual} {word(expected['max'])}")
        if "regex" in expected:
            tests.append(f"grep -Eq -- {word(str(expected['regex']))} <<<{actual}")
        if "contains" in expected:
            tests.append(f"grep -Fq -- {word(expected['contains'])} <<<{actual}")
        if "not" in expected:
            tests.append(f"! {expectation_test(actual, expected['not'])}")
        return "{ " + " && ".join(tests or ["true"]) + "; }"
    return equal_test(actual, expected)


def expectation_words(expected: Any) -> str:
    """An expectation in words, for comments and failure messages (references as markers)."""
    if isinstance(expected, list):
        return " or ".join(_text(e) for e in expected)
    if isinstance(expected, dict):
        return ", ".join(f"{k} {_text(v)}" for k, v in expected.items())
    return _text(expected)


def _text(value: Any) -> str:
    return str(value) if isinstance(value, Ref) else scalar_text(value)
