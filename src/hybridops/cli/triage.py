"""`hybridops triage`: what is wrong, and the runbook to run first, with the evidence."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli.invocation import invocation_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from hybridops.triage.rules import Outcome

MARKS = {"fail": ("✗", "red"), "warn": ("!", "yellow"), "unknown": ("?", "magenta")}


def triage(
    ctx: typer.Context,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Run the first recommendation (plan, confirmation, gate, audit, journal as"
            " `run`); with --dry-run, plan it.",
        ),
    ] = False,
    runbook: Annotated[
        list[Path] | None,
        typer.Option(
            "--runbook",
            metavar="FILE|DIR",
            help="Also weigh the triggers of this runbook file, or of every runbook in this"
            " folder (repeatable).",
        ),
    ] = None,
) -> int:
    """Gather the facts once, weigh every runbook's triggers, print the ranked commands.

    Exit 0 when nothing needs doing, 1 when something does (or cannot be judged).
    """
    from hybridops.triage.run import note_on_timeline, triage

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    for path in runbook or []:
        if not path.exists():
            from hybridops.errors import BadInput

            raise BadInput(f"--runbook {path}: no such file or folder")
    outcome = triage(runtime, runbook)
    if not apply or not outcome.recommendations:
        note_on_timeline(runtime, outcome, None)

        def show(out: Console) -> None:
            print_outcome(out, outcome, runtime.redactor.text)
            if apply:
                out.print("nothing to apply", markup=False)

        invocation.emit(runtime.redactor(outcome.as_dict()), show)
        return outcome.exit_code
    from hybridops.cli.render import print_run_result
    from hybridops.errors import HybridOpsError
    from hybridops.triage.run import apply as apply_recommendation

    first = outcome.recommendations[0]
    if not invocation.json:
        print_outcome(invocation.err_console(), outcome, runtime.redactor.text)
        invocation.err_console().print(
            runtime.redactor.text(f"applying 1. {first.command}"), markup=False, highlight=False
        )
    try:
        result = apply_recommendation(runtime, first, [invocation.progress()])
    except HybridOpsError as exc:
        note_on_timeline(runtime, outcome, first, f"not run: {exc.message}")
        raise
    except KeyboardInterrupt:
        note_on_timeline(runtime, outcome, first, "interrupted")
        raise
    note_on_timeline(runtime, outcome, first, f"{result.status}, exit {result.exit_code}")
    doc = runtime.redactor(outcome.as_dict())
    doc["applied"] = runtime.redactor(result.to_dict())
    invocation.emit(doc, lambda out: print_run_result(out, result))
    return result.exit_code


def expected_words(expected: Any) -> str:
    """A matcher as a person reads it: `≥ 1`, `one of a, b`, `not x`."""
    from hybridops.engine.templating import _to_text

    if isinstance(expected, list):
        return "one of " + ", ".join(_to_text(v) for v in expected)
    if isinstance(expected, dict):
        parts = []
        if "min" in expected:
            parts.append(f"≥ {_to_text(expected['min'])}")
        if "max" in expected:
            parts.append(f"≤ {_to_text(expected['max'])}")
        if "exists" in expected:
            parts.append("present" if expected["exists"] else "absent")
        if "contains" in expected:
            parts.append(f"contains {_to_text(expected['contains'])}")
        if "regex" in expected:
            parts.append(f"matches /{expected['regex']}/")
        if "not" in expected:
            parts.append(f"not {expected_words(expected['not'])}")
        return ", ".join(parts)
    return _to_text(expected)


def grouped_evidence(evidence: list[dict[str, Any]]) -> list[tuple[str, Any, str]]:
    """One line per fact: several triggers testing one fact share its line."""
    lines: dict[str, tuple[Any, list[str]]] = {}
    for item in evidence:
        _value_seen, wanted = lines.setdefault(item["fact"], (item["value"], []))
        words = expected_words(item["expected"])
        if words not in wanted:
            wanted.append(words)
    return [(fact, value, "; ".join(wanted)) for fact, (value, wanted) in lines.items()]


def _value(value: Any) -> str:
    from hybridops.engine.templating import _to_text

    text = _to_text(value) if value is not None else "null"
    return text if len(text) <= 80 else text[:77] + "..."


def print_outcome(
    out: Console, outcome: Outcome, mask: Callable[[str], str] = lambda text: text
) -> None:
    """Findings, then the ranked commands with why/evidence/changes, then what is unknown.

    Every line passes `mask` (the redactor): an endpoint's reason could carry a secret.
    """
    out = _Masked(out, mask)  # type: ignore[assignment]
    facts = outcome.facts
    primary = facts.get("primary") or {}
    verdict = primary.get("verdict") or "unknown"
    out.print(
        f"triage · {facts.get('env')} ({primary.get('region')}) · health {verdict}"
        f" · {facts.get('collected_at')}",
        markup=False,
        highlight=False,
    )
    if outcome.findings:
        out.print("found:", markup=False)
        for finding in outcome.findings:
            mark, style = MARKS.get(finding.severity, ("·", ""))
            out.print(f"  {mark} ", style=style, end="", markup=False, highlight=False)
            out.print(finding.what, markup=False, highlight=False)
    absent = [a for a, why in (facts.get("absent") or {}).items() if not why.startswith("from ")]
    if absent:
        out.print(f"not configured, not judged: {', '.join(absent)}", markup=False)
    if outcome.recommendations:
        out.print("do, in this order:", markup=False)
        for index, rec in enumerate(outcome.recommendations, 1):
            out.print(f"  {index}. ", end="", markup=False)
            out.print(rec.command, style="bold", markup=False, highlight=False)
            out.print(f"     why:      {rec.why}", markup=False, highlight=False)
            for fact, value, wanted in grouped_evidence(rec.evidence):
                out.print(
                    f"     evidence: {fact} = {_value(value)} (trigger: {wanted})",
                    markup=False,
                    highlight=False,
                )
            out.print(f"     changes:  {rec.changes}", markup=False, highlight=False)
    if outcome.undecided:
        out.print("cannot judge:", markup=False)
        seen = set()
        for item in outcome.undecided:
            key = (item.runbook, item.area)
            if key in seen:
                continue
            seen.add(key)
            out.print(
                f"  ? {item.runbook} ({item.trigger}): {item.area} unknown: {item.why}",
                markup=False,
                highlight=False,
            )
    out.print(conclusion(outcome), markup=False, highlight=False)


class _Masked:
    """A console whose printed text passes the redactor first."""

    def __init__(self, console: Console, mask: Callable[[str], str]) -> None:
        self.console = console
        self.mask = mask

    def print(self, text: str, **kwargs: Any) -> None:
        self.console.print(self.mask(text), **kwargs)


def conclusion(outcome: Outcome) -> str:
    """The last line: what to do now."""
    if outcome.status == "ok":
        return "nothing needs doing: health is green and no trigger holds"
    if outcome.recommendations:
        return f"next: {outcome.recommendations[0].command}   (or: {outcome.apply_command})"
    if outcome.status == "unknown":
        return "no recommendation: what is unknown above must be read first"
    if any("/" in f.source for f in outcome.findings):
        return "no recommendation: a runbook applies but is blocked (the finding above says why)"
    return "no runbook's trigger matches what is found: read the findings above"


def next_line(outcome: Outcome) -> str | None:
    """`health` and `alarms list` end with this when something needs doing."""
    if outcome.recommendations:
        top = outcome.recommendations[0]
        return f"next (triage): {top.command} — {top.why}"
    if outcome.status == "ok":
        return None
    blocked = next((f for f in outcome.findings if "/" in f.source), None)
    if blocked is not None:  # evidence in hand comes before what could not be judged
        return f"next: {blocked.source.split('/')[0]} would apply, but {blocked.what}"
    triage = outcome.apply_command.removesuffix(" --apply")
    if outcome.undecided:
        first = outcome.undecided[0]
        return f"next: {triage} — cannot judge {first.runbook}: {first.area}: {first.why}"
    return f"next: {triage} ({conclusion(outcome)})"


def next_after(runtime: Any) -> str:
    """The line `health` and `alarms list --firing` end with: triage's first command."""
    from hybridops.errors import HybridOpsError
    from hybridops.triage.run import triage as run_triage

    try:
        line = next_line(run_triage(runtime))
    except HybridOpsError as exc:  # the command that asked must still answer
        return f"next: hybridops triage (could not weigh the runbooks: {exc.message})"
    return line or "next: nothing — triage finds nothing to do"
