"""Evaluate every runbook's triggers over the facts: findings, ranked recommendations, unknowns.

A condition over a fact that could not be read is neither true nor false: a trigger whose known
conditions all hold but that needs an unknown fact is undecided, and is said as such ("cannot
judge ...") instead of being recommended or dropped.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from hybridops.engine import matching
from hybridops.engine.triggers import Trigger

if TYPE_CHECKING:
    from hybridops.engine.models import Runbook
    from hybridops.triage.run import Triggered


@dataclass
class Recommendation:
    """One runbook to run, as a complete command, with the evidence for it."""

    runbook: str
    trigger: str
    priority: int
    command: str
    params: dict[str, str]
    why: str
    evidence: list[dict[str, Any]]
    changes: str
    # Other triggers of the same runbook that hold too (their evidence is in `evidence`).
    also: list[str] = field(default_factory=list)
    # What `run` is given: the built-in's name, or the team runbook file that was judged.
    target: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


@dataclass
class Finding:
    """Something found wrong (or blocked), whether or not a runbook mends it."""

    severity: str  # fail | warn
    what: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


@dataclass
class Undecided:
    """A trigger that could not be judged, and what was unknown."""

    runbook: str
    trigger: str
    area: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


@dataclass
class Outcome:
    """What triage concluded."""

    status: str  # ok | action | attention | unknown
    facts: dict[str, Any]
    findings: list[Finding]
    recommendations: list[Recommendation]
    undecided: list[Undecided]
    # `triage --apply` as this run was invoked (its global options and --runbook files).
    apply_command: str = "hybridops triage --apply"

    @property
    def exit_code(self) -> int:
        """0 when nothing needs doing (and everything could be judged), else 1."""
        return 0 if self.status == "ok" else 1

    def as_dict(self) -> dict[str, Any]:
        """JSON shape: {status, facts, findings, recommendations, unknown}."""
        return {
            "status": self.status,
            "facts": self.facts,
            "findings": [f.as_dict() for f in self.findings],
            "recommendations": [r.as_dict() for r in self.recommendations],
            "unknown": [u.as_dict() for u in self.undecided],
        }


def _unknown_area(facts: dict[str, Any], path: str) -> tuple[str, str] | None:
    """The unknown area (and why) a condition's path reads, if any."""
    from hybridops.engine.loader import root_paths

    unknown: dict[str, str] = {**(facts.get("skipped") or {}), **(facts.get("unknown") or {})}
    for chain in root_paths(path):
        for area, why in unknown.items():
            parts = tuple(area.split("."))
            if chain[: len(parts)] == parts or parts[: len(chain)] == chain:
                return area, why
    return None


def judge(facts: dict[str, Any], conditions: dict[str, Any]) -> tuple[bool | None, list[Any]]:
    """(True/False/None for undecided, evidence or the unknown (area, why) pairs)."""
    evidence: list[dict[str, Any]] = []
    missing: list[tuple[str, str]] = []
    for path, expected in conditions.items():
        area = _unknown_area(facts, path)
        if area is not None:
            missing.append(area)
            continue
        try:
            actual = matching.compile_path(path).search(facts)
        except Exception as exc:  # a type error in a team's expression: said, not a crash
            missing.append((path, f"the condition cannot be evaluated: {exc}"))
            continue
        if not matching.matches(actual, expected):
            return False, []
        evidence.append({"fact": path, "value": actual, "expected": expected})
    if missing:
        return None, missing
    return True, evidence


def _render(text: Any, scope: dict[str, Any]) -> Any:
    from hybridops.engine.templating import render
    from hybridops.errors import ValidationError

    try:
        return render(text, scope)
    except ValidationError:
        return text  # a fact missing from the words: the conditions held, say it as written


def _text(value: Any) -> str:
    from hybridops.engine.templating import _to_text

    return _to_text(value)


def command_words(words: list[str], params: dict[str, Any]) -> str:
    """`words` and `-p name=value` per parameter, shell-quoted."""
    out = list(words)
    for name, value in params.items():
        out += ["-p", f"{name}={_text(value)}"]
    return " ".join(shlex.quote(w) for w in out)


def command_for(prefix: list[str], target: str, params: dict[str, str]) -> str:
    """The complete command, shell-quoted: `prefix` is hybridops and the global options."""
    return command_words([*prefix, "run", target], params)


def default_changes(runbook: Runbook) -> str:
    """What a runbook changes, from its mutating steps, when its trigger does not say."""
    calls = []
    for step in runbook.mutating_steps:
        if step.aws is not None:
            calls.append(f"{step.aws.service}.{step.aws.operation}")
        elif step.action is not None:
            calls.append(step.action.name)
        else:
            calls.append(step.name)
    return ("calls " + ", ".join(dict.fromkeys(calls))) if calls else "nothing (read-only)"


def evaluate(
    runbooks: list[Triggered],
    facts: dict[str, Any],
    env_name: str,
    env_scope: dict[str, Any],
    prefix: list[str] | None = None,
) -> Outcome:
    """Every trigger of every runbook over the facts; the outcome, ranked.

    `prefix` starts each command (hybridops and the global options the facts were read with,
    so that a pasted command acts on what was judged); default `hybridops --env ENV`.
    """
    words = prefix or ["hybridops", "--env", env_name]
    blocked_any = False
    scope = {"facts": facts, "env": env_scope}
    held: dict[str, list[tuple[Trigger, list[dict[str, Any]]]]] = {}
    findings: list[Finding] = list(check_findings(facts))
    undecided: list[Undecided] = []
    for fallback in (False, True):
        if fallback and (held or blocked_any):
            break  # a blocked trigger explains what it found: its finding says why
        for runbook in runbooks:
            for trigger in runbook.triggers:
                if trigger.fallback != fallback:
                    continue
                verdict, found = judge(facts, trigger.when)
                if verdict is None:
                    for area, why in dict.fromkeys(found):
                        undecided.append(Undecided(runbook.name, trigger.name, area, why))
                    continue
                if not verdict:
                    continue
                blocked = False
                for blocker in trigger.unless:
                    stop, more = judge(facts, blocker.when)
                    if stop is None:
                        for area, why in dict.fromkeys(more):
                            undecided.append(Undecided(runbook.name, trigger.name, area, why))
                        blocked = True
                    elif stop:
                        said = _text(_render(blocker.says, scope))
                        findings.append(Finding("warn", said, f"{runbook.name}/{trigger.name}"))
                        blocked = blocked_any = True
                    if blocked:
                        break
                if blocked:
                    continue
                empty = [
                    k
                    for k, v in trigger.params.items()
                    if _render(v, scope) in (None, "") or "${{" in str(_render(v, scope))
                ]
                if empty:
                    # A command with a parameter the facts could not give is no command.
                    why = f"parameter {empty[0]} has no value from the facts"
                    undecided.append(Undecided(runbook.name, trigger.name, "params", why))
                    continue
                held.setdefault(runbook.name, []).append((trigger, found))
        if undecided and not fallback:
            break  # what could not be judged is said; a fallback would hide it
    by_name = {r.name: r for r in runbooks}
    priority_of = {(r.name, t.name): t.priority for r in runbooks for t in r.triggers}
    recommendations = []
    for name, fired in held.items():
        fired.sort(key=lambda pair: -pair[0].priority)
        top, evidence = fired[0]
        for _other, more in fired[1:]:
            evidence = evidence + [e for e in more if e not in evidence]
        params = {k: _text(_render(v, scope)) for k, v in top.params.items()}
        if top.changes:
            changes = _text(_render(top.changes, scope))
        else:
            from hybridops.engine.loader import load_file

            changes = default_changes(load_file(by_name[name].source))
        recommendations.append(
            Recommendation(
                runbook=name,
                trigger=top.name,
                priority=top.priority,
                command=command_for(words, by_name[name].target, params),
                params=params,
                why=_text(_render(top.why, scope)),
                evidence=evidence,
                changes=changes,
                also=[t.name for t, _ in fired[1:]],
                target=by_name[name].target,
            )
        )
    recommendations.sort(key=lambda r: (-r.priority, r.runbook))
    # A trigger that could not be judged outranks what comes after it: a bad deploy that might
    # be there is undone before scaling, so nothing below it is recommended on a guess.
    top_undecided = max(
        (
            priority_of[(u.runbook, u.trigger)]
            for u in undecided
            if (u.runbook, u.trigger) in priority_of and u.runbook not in held
        ),
        default=0,
    )
    kept = [r for r in recommendations if r.priority > top_undecided]
    for withheld in recommendations[len(kept) :]:
        undecided.append(
            Undecided(
                withheld.runbook,
                withheld.trigger,
                "order",
                f"withheld: a trigger of priority {top_undecided} could not be judged first",
            )
        )
    recommendations = kept
    if recommendations:
        status = "action"
    elif undecided:
        status = "unknown"
    elif any(f.severity in ("fail", "warn") for f in findings):
        status = "attention"
    else:
        status = "ok"  # an area not read (not configured, say) is said, but needs nothing
    return Outcome(status, facts, findings, recommendations, undecided)


def check_findings(facts: dict[str, Any]) -> list[Finding]:
    """What is wrong, from the facts: health's failing checks, the backup, unknown areas."""
    out: list[Finding] = []
    primary = facts.get("primary") or {}
    endpoint = primary.get("endpoint") or {}
    if endpoint and endpoint.get("status") != "pass":
        out.append(Finding(_sev(endpoint["status"]), f"/health: {endpoint['detail']}", "health"))
    for name, component in (primary.get("components") or {}).items():
        if component["status"] != "healthy":
            reason = f": {component['reason']}" if component.get("reason") else ""
            severity = "warn" if component["status"] == "degraded" else "fail"
            out.append(
                Finding(severity, f"component {name} {component['status']}{reason}", "health")
            )
    for key, label in (("ecs", "ECS service"), ("targets", "ALB targets")):
        check = primary.get(key) or {}
        if check and check.get("status") not in (None, "pass"):
            out.append(Finding(_sev(check["status"]), f"{label}: {check['detail']}", "health"))
    alarms = facts.get("alarms") or {}
    for alarm in alarms.get("firing") or []:
        metric = f" ({alarm['metric']})" if alarm.get("metric") else ""
        out.append(Finding("warn", f"alarm {alarm['name']} in ALARM{metric}", "alarms"))
    lam = facts.get("lambda") or {}
    if lam.get("throttles"):
        out.append(
            Finding(
                "warn",
                f"Lambda {lam['function']}: {lam['throttles']:g} throttles in"
                f" {lam['window_minutes']} min (provisioned concurrency {lam['provisioned']})",
                "lambda",
            )
        )
    for name, metric in (facts.get("metrics") or {}).items():
        if metric and metric.get("fired"):
            out.append(Finding("warn", f"{name}: {metric['detail']}", "metrics"))
    bedrock = facts.get("bedrock") or {}
    for key, label in (("model", "Bedrock model"), ("permission", "Bedrock permission")):
        if bedrock.get(key) in ("fail", "warn"):
            out.append(
                Finding(_sev(bedrock[key]), f"{label}: {bedrock[f'{key}_detail']}", "bedrock")
            )
    if bedrock.get("circuit") == "open":
        out.append(Finding("warn", "the Bedrock circuit breaker is open", "bedrock"))
    route53 = facts.get("route53") or {}
    if route53.get("serving") == "secondary":
        out.append(Finding("warn", "traffic is served by the secondary region", "route53"))
    secondary = facts.get("secondary") or {}
    if secondary and not secondary.get("able_to_serve"):
        out.append(
            Finding(
                "warn",
                f"failing over to the backup side ({secondary['region']}) is not possible now:"
                f" {secondary['why']}",
                "secondary",
            )
        )
    for area, why in (facts.get("unknown") or {}).items():
        if why.startswith("from "):
            continue  # computed from an unread area: that area is said already
        out.append(Finding("unknown", f"cannot judge {area}: {why}", area))
    return out


def _sev(status: str) -> str:
    return "fail" if status == "fail" else "warn"
