"""`hybridops triage` as a library: gather, evaluate, and apply the first recommendation."""

from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybridops.engine.events import EventHandler
    from hybridops.engine.runner import RunResult
    from hybridops.engine.triggers import Trigger
    from hybridops.runtime import Runtime
    from hybridops.triage.rules import Outcome, Recommendation


@dataclass
class Triggered:
    """A runbook's name, its triggers and where it lives (its steps are loaded when needed)."""

    name: str
    triggers: list[Trigger]
    source: Path
    builtin: bool = True

    @property
    def target(self) -> str:
        """What `hybridops run` is given: a built-in's name, else the file that was judged."""
        return self.name if self.builtin else str(self.source.resolve())


def _builtin_triggers(path: Path) -> Triggered:
    """Only the triggers of a built-in runbook: its steps are validated by the test suite, and
    validating them here would cost ~0.3 s on the first command of every page."""
    import yaml

    from hybridops.engine.triggers import Trigger

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return Triggered(
        str(data["name"]),
        [Trigger.model_validate(t) for t in data.get("triggers") or []],
        path,
    )


def runbooks_with_triggers(extra: list[Path] | None = None) -> list[Triggered]:
    """The built-in runbooks' triggers, and those of the given files (or folders), validated."""
    from hybridops.engine.loader import builtin_runbooks, load_file

    loaded: dict[str, Triggered] = {}
    for path in builtin_runbooks().values():
        found = _builtin_triggers(path)
        loaded[found.name] = found
    for given in extra or []:
        for file in sorted(given.glob("*.y*ml")) if given.is_dir() else [given]:
            book = load_file(file)  # a team's runbook is checked whole: nothing trusts it yet
            # ...and one of a built-in's name replaces it.
            loaded[book.name] = Triggered(book.name, book.triggers, file, builtin=False)
    return [b for b in loaded.values() if b.triggers]


def triage(runtime: Runtime, extra: list[Path] | None = None) -> Outcome:
    """Gather the facts once (concurrently) and evaluate every runbook's triggers over them."""
    from concurrent.futures import ThreadPoolExecutor

    from hybridops.state.store import utcnow
    from hybridops.triage.facts import Gatherer

    env = runtime.env
    clients = runtime.clients
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Parsing the runbooks overlaps the reads: both sit on the first command of a page.
        books = pool.submit(runbooks_with_triggers, extra)
        gatherer = Gatherer(
            env.settings,
            lambda service, region: clients.client(service, region),
            runtime.store,
            now=utcnow(),
        )
        facts = gatherer.gather()
        runbooks = books.result()
    from hybridops.triage.rules import evaluate

    prefix = command_prefix(runtime)
    facts["env"] = env.name
    outcome = evaluate(runbooks, facts, env.name, env.as_template_scope(), prefix)
    if gatherer.current_arn and facts["primary"]["verdict"] == "healthy":
        _remember_known_good(runtime, gatherer.current_arn)
    skipped = {u.area for u in outcome.undecided if u.area in (facts.get("skipped") or {})}
    if skipped:
        # A trigger needs what the first rounds did not read (a team's trigger, usually):
        # read it now rather than call it unknown.
        facts = gatherer.read_skipped(skipped)
        facts["env"] = env.name
        outcome = evaluate(runbooks, facts, env.name, env.as_template_scope(), prefix)
    again = [*prefix, "triage", "--apply"]
    for path in extra or []:
        again += ["--runbook", str(path.resolve())]
    outcome.apply_command = " ".join(shlex.quote(w) for w in again)
    return outcome


def _remember_known_good(runtime: Runtime, arn: str) -> None:
    """As `health` does: a green verdict marks the running revision known-good (not in a dry
    run); a store that cannot take it does not fail triage."""
    from hybridops.health.verdict import record_known_good

    try:
        record_known_good(runtime.store, arn, dry_run=runtime.mode.dry_run)
    except Exception:  # evidence for later, never a reason to fail now
        import logging

        logging.getLogger(__name__).debug("known-good not recorded", exc_info=True)


def command_prefix(runtime: Runtime) -> list[str]:
    """`hybridops` and the global options that chose what was judged: a pasted command acts
    on the same environment, account and region."""
    import os

    o = runtime.options
    words = ["hybridops", "--env", runtime.env.name]
    config = str(Path(o.config).resolve()) if o.config else None
    for flag, value, variable in (
        ("--config", config, "HYBRIDOPS_CONFIG"),
        ("--profile", o.profile, "HYBRIDOPS_PROFILE"),
        ("--region", o.region, "HYBRIDOPS_REGION"),
        ("--endpoint-url", o.endpoint_url, "HYBRIDOPS_ENDPOINT_URL"),
    ):
        # A value the shell's variable gives holds for the pasted command too: said once.
        given = os.environ.get(variable)
        if value and str(value) != given and not (given and Path(given).resolve() == Path(value)):
            words += [flag, str(value)]
    return words


def apply(
    runtime: Runtime,
    recommendation: Recommendation,
    handlers: list[EventHandler],
) -> RunResult:
    """Run a recommendation through the normal path: plan, confirm, gate, audit, journal."""
    from hybridops.engine.runner import execute, prepare

    target = recommendation.target or recommendation.runbook
    # Exactly what was printed: a secret in a remote reason is masked on screen, and must not
    # reach AWS (the breaker's Description) either.
    shown = {k: runtime.redactor.text(str(v)) for k, v in recommendation.params.items()}
    loaded, params = prepare(runtime, target, shown)
    return execute(runtime, loaded, params, handlers)


def note_on_timeline(
    runtime: Runtime,
    outcome: Outcome,
    applied: Recommendation | None,
    result: str | None = None,
) -> None:
    """With an active incident, what triage recommended (and what applying it gave) goes on
    its timeline."""
    if runtime.mode.dry_run:
        return
    store = runtime.store
    incident_id = runtime.options.incident or store.active_incident()
    if not incident_id or store.get_incident(incident_id) is None:
        return
    from hybridops.incidents.lifecycle import add_entry

    top = outcome.recommendations[0] if outcome.recommendations else None
    if applied is not None and result and result.startswith(("succeeded", "planned")):
        text = f"triage: applied {applied.runbook} ({result}) — {applied.why}"
    elif applied is not None:
        text = f"triage: did not apply {applied.runbook} ({result}) — {applied.why}"
    elif top:
        text = f"triage: recommends {top.runbook} — {top.why}"
    else:
        text = f"triage: {outcome.status}, nothing to recommend"
    fields: dict[str, Any] = {"status": outcome.status}
    if top:
        fields["recommendation"] = top.command
    add_entry(store, incident_id, "triage", runtime.redactor.text(text), **fields)


@functools.lru_cache(maxsize=1)
def alarm_runbooks() -> dict[str, tuple[str, dict[str, Any]]]:
    """Metric name -> (runbook, parameters) of the built-in triggers that test an alarm on it.

    `alarms sync` names these in the alarms it creates, so an alarm and triage never disagree
    on what mends it.
    """
    # Cached: `alarms sync` and `alarms list` ask once per alarm; the files do not change.
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for book in runbooks_with_triggers():
        for trigger in sorted(book.triggers, key=lambda t: -t.priority):
            wanted = trigger.when.get("alarms.metrics")
            if isinstance(wanted, dict) and isinstance(wanted.get("contains"), str):
                found.setdefault(wanted["contains"], (book.name, dict(trigger.params)))
    return found
