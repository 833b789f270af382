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
    params = parameters.resolve(loaded.runbook, given, env_scope)
    for secret in parameters.secret_values(loaded.runbook, params):
        runtime.redactor.add(secret)
    return loaded, params


def execute(
    runtime: Runtime,
    loaded: LoadedRunbook,
    params: dict[str, Any],
    handlers: list[EventHandler] | None = None,
) -> RunResult:
    """Run a prepared runbook with the journal and the given handlers observing it."""
    bus = EventBus([JournalWriter(runtime.store, runtime.redactor), *(handlers or [])])
    executor = Executor(
        runbook=loaded.runbook,
        params=params,
        env_name=runtime.env.name,
        env_scope=runtime.env.as_template_scope(),
        services=Services(runtime.clients, runtime.http, runtime.gate, runtime.store),
        mode=runtime.mode,
        bus=bus,
        redactor=runtime.redactor,
        interactive=runtime.environment.interactive,
        ask=runtime.environment.ask,
        stop=runtime.stop,
    )
    return executor.run()
