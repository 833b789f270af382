"""Library entry points: prepare and run a runbook for an environment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hybridops.engine import loader, parameters
from hybridops.engine.events import EventBus, EventHandler, RunResult
from hybridops.engine.execute import Executor, Services
from hybridops.engine.journal import JournalWriter
from hybridops.engine.templating import iter_references
from hybridops.errors import ValidationError

if TYPE_CHECKING:
    from hybridops.engine.loader import LoadedRunbook
    from hybridops.runtime import Runtime


def check_environment_references(
    loaded: LoadedRunbook, env_scope: dict[str, Any], env: str
) -> None:
    """Every `env.X` a runbook uses must be set in the selected environment."""
    runbook = loaded.runbook
    raw = [s.model_dump(by_alias=True) for s in runbook.steps]
    raw.extend(p.default for p in runbook.parameters.values())
    for ref in iter_references(raw):
        if ref[0] == "env" and len(ref) > 1 and env_scope.get(str(ref[1])) is None:
            raise ValidationError(
                f"{loaded.source}: uses env.{ref[1]}, which environment {env!r} does not set",
                hint=f"set environments.{env}.{ref[1]} in hybridops.yaml",
            )


def prepare(
    runtime: Runtime, name_or_path: str, given: dict[str, Any]
) -> tuple[LoadedRunbook, dict[str, Any]]:
    """Load and validate a runbook and its parameters; nothing is called yet."""
    loaded = loader.load(name_or_path)
    env_scope = runtime.env.as_template_scope()
    check_environment_references(loaded, env_scope, runtime.env.name)
    # Known before they are checked: a secret that fails its check must not reach the timeline.
    for secret in parameters.secret_values(loaded.runbook, given):
        runtime.redactor.add(secret)
    params = parameters.resolve(loaded.runbook, given, env_scope)
    for secret in parameters.secret_values(loaded.runbook, params):
        runtime.redactor.add(secret)
    return loaded, params


def shell_script(runtime: Runtime, loaded: LoadedRunbook, params: dict[str, Any]) -> str:
    """The prepared runbook as a bash script of aws/curl commands (secrets left as variables)."""
    from hybridops.shell.script import runbook_script

    return runbook_script(
        loaded.runbook,
        runtime.env.name,
        runtime.env.as_template_scope(),
        params,
        source=loaded.runbook.name if loaded.builtin else str(loaded.source),
    )


def execute(
    runtime: Runtime,
    loaded: LoadedRunbook,
    params: dict[str, Any],
    handlers: list[EventHandler] | None = None,
    *,
    reuse: dict[str, dict[str, Any]] | None = None,
    resumed_from: str | None = None,
) -> RunResult:
    """Run a prepared runbook with the journal and the given handlers observing it."""
    # A dry run writes nothing, not even its journal: the plan is printed, not kept.
    journal = [] if runtime.mode.dry_run else [JournalWriter(runtime.store, runtime.redactor)]
    bus = EventBus([*journal, *(handlers or [])])
    executor = Executor(
        runbook=loaded.runbook,
        params=params,
        env_name=runtime.env.name,
        env_scope=runtime.env.as_template_scope(),
        services=Services(runtime.clients, runtime.http, runtime.gate, runtime.store),
        mode=runtime.mode,
        bus=bus,
        redactor=runtime.redactor,
        interactive=runtime.terminal.interactive,
        terminal=lambda: runtime.terminal.interactive,
        ask=runtime.terminal.ask,
        stop=runtime.stop,
        reuse=reuse or {},
        resumed_from=resumed_from,
    )
    return executor.run()


def resumed(
    runtime: Runtime, runbook: str, run_id: str, given: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """What `run --resume RUN_ID` runs with: the recorded parameters (given ones win) and the
    outputs to reuse. A change in flight when the run stopped is done again only if confirmed."""
    from hybridops.engine.loader import load
    from hybridops.errors import BadInput, Refused
    from hybridops.plaintext import said_yes

    recorded, reuse, in_flight = resume_plan(runtime, run_id, load(runbook).runbook.name)
    masked = masked_parameters(recorded)
    missing = [k for k in masked if k not in given]
    if missing:
        raise BadInput(
            f"run {run_id} recorded {', '.join(missing)} redacted: pass them again with -p"
        )
    params = {k: v for k, v in recorded.items() if k not in masked} | given
    if in_flight:
        # The change of a step in flight may or may not have been made: doing it again must
        # be a decision, not a default.
        question = (
            f"run {run_id} stopped during {', '.join(in_flight)}: the change may already"
            " be made. Run those steps again?"
        )
        terminal = runtime.terminal
        if runtime.mode.assume_yes:
            answer = "y"
        else:
            answer = terminal.ask(f"{question} [y/N] ") if terminal.interactive else ""
        if not said_yes(answer):
            raise Refused(f"{question} Not confirmed (pass --yes after checking)")
    return params, reuse


def resume_plan(
    runtime: Runtime, run_id: str, runbook_name: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[str]]:
    """From an earlier run's journal: its parameters, the outputs of the steps that succeeded,
    and the steps that were in flight when it stopped (their change may or may not be made)."""
    import json

    from hybridops.errors import BadInput

    path = runtime.store.journal_dir / f"{run_id}.json"
    try:
        journal = json.loads(path.read_text())
    except FileNotFoundError:
        raise BadInput(f"no journal for run {run_id!r} in {path.parent}") from None
    except ValueError as exc:
        raise BadInput(f"{path}: unreadable journal: {exc}") from None
    if journal.get("runbook") != runbook_name:
        raise BadInput(f"run {run_id} was runbook {journal.get('runbook')!r}, not {runbook_name!r}")
    if journal.get("status") in ("succeeded", "planned"):
        raise BadInput(f"run {run_id} {journal['status']}: nothing to resume")
    reuse: dict[str, dict[str, Any]] = {}
    in_flight: list[str] = []
    for step in journal.get("steps", []):
        if step.get("status") == "succeeded" and _masked(step.get("outputs")):
            # Its outputs were secrets, kept only as "***": they cannot be reused. A read is
            # simply run again; a change is not repeated behind the operator's back.
            if step.get("mutating"):
                raise BadInput(
                    f"run {run_id}: step {step['name']!r} made a change whose outputs were"
                    " secret (not kept): it cannot be resumed; start a new run"
                )
            continue
        if step.get("status") == "succeeded":
            reuse[step["name"]] = step.get("outputs") or {}
        elif step.get("status") in ("running", "interrupted") and step.get("mutating"):
            in_flight.append(step["name"])
        else:
            break  # everything from the first unfinished step runs again
    # The audit trail is written before and after every change, journal or not: a change with
    # an intent record and no outcome was in flight when the run died.
    phases: dict[str, set[str]] = {}
    for record in runtime.store.list_audit():
        if record.get("run_id") == run_id and record.get("step"):
            phases.setdefault(record["step"], set()).add(record.get("phase", ""))
    for step_name, seen in phases.items():
        if "before" in seen and "after" not in seen and step_name not in in_flight:
            in_flight.append(step_name)
            reuse.pop(step_name, None)
    params = journal.get("params") or {}
    return params, reuse, in_flight


def _masked(value: Any) -> bool:
    """Whether a recorded value holds a masked secret anywhere inside."""
    from hybridops.gate.redact import MASK

    if isinstance(value, dict):
        return any(_masked(v) for v in value.values())
    if isinstance(value, list):
        return any(_masked(v) for v in value)
    return isinstance(value, str) and MASK in value


def masked_parameters(params: dict[str, Any]) -> list[str]:
    """Parameters whose recorded value is redacted (they must be given again)."""
    from hybridops.gate.redact import MASK

    return [k for k, v in params.items() if isinstance(v, str) and MASK in v]
