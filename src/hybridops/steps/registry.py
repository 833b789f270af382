"""The registry of step kinds and actions: the engine dispatches through it, never by if/elif."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

if TYPE_CHECKING:
    from hybridops.engine.models import Step
    from hybridops.steps.base import StepContext


class StepKind(Protocol):
    """How one kind of step is classified, described and run."""

    name: ClassVar[str]

    def mutating(self, step: Step) -> bool:
        """Whether the step changes anything."""

    def waits(self, step: Step) -> bool:
        """Whether the step waits for a change (not polled in a dry run after a planned change)."""

    def describe(self, step: Step, body: dict[str, Any]) -> str:
        """One line for progress output and plans."""

    def run(self, step: Step, body: dict[str, Any], ctx: StepContext) -> Any:
        """Execute with a rendered body; return the step result (for outputs/expect)."""

    def shell(self, step: Step, body: dict[str, Any], ctx: Any) -> None:
        """Write the step as shell commands (body with references as variables)."""


KINDS: dict[str, StepKind] = {}


def register_kind(cls: type) -> type:
    """Class decorator: register a step kind under its `name`."""
    KINDS[cls.name] = cls()  # type: ignore[attr-defined]
    return cls


@dataclass
class ActionDefinition:
    """A Python-implemented step with typed inputs."""

    name: str
    func: Callable[[Any, StepContext], Any]
    inputs: type[BaseModel]
    mutating: bool
    description: str
    waits: bool = False
    # Its effect is on this process (credentials, say), not in AWS: a resumed run does it again
    # rather than reuse the outputs of the run it resumes.
    rerun_on_resume: bool = False
    # One line for progress output, from the rendered inputs (default: the inputs as JSON).
    describe: Callable[[dict[str, Any]], str] | None = None

    def check_inputs(self, raw: dict[str, Any]) -> None:
        """Check names and the literal (untemplated) values of inputs; raise ValueError."""
        fields = self.inputs.model_fields
        unknown = sorted(set(raw) - set(fields))
        if unknown:
            raise ValueError(
                f"action {self.name!r}: unknown input {unknown[0]!r} (inputs: {', '.join(fields)})"
            )
        for name, info in fields.items():
            if name not in raw:
                if info.is_required():
                    raise ValueError(f"action {self.name!r}: missing input {name!r}")
                continue
            value = raw[name]
            if isinstance(value, str) and "${{" in value:
                continue
            try:
                TypeAdapter(info.annotation or Any).validate_python(value)
            except PydanticValidationError as exc:
                msg = exc.errors(include_url=False)[0]["msg"]
                raise ValueError(f"action {self.name!r}: input {name!r}: {msg}") from None

    def parse_inputs(self, rendered: dict[str, Any]) -> BaseModel:
        """Validate fully rendered inputs."""
        from hybridops.errors import ValidationError

        try:
            return self.inputs.model_validate(rendered)
        except PydanticValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ValidationError(f"action {self.name!r}: input {where}: {err['msg']}") from None


ACTIONS: dict[str, ActionDefinition] = {}


def action(
    name: str,
    *,
    inputs: type[BaseModel],
    mutating: bool = False,
    waits: bool = False,
    rerun_on_resume: bool = False,
    describe: Callable[[dict[str, Any]], str] | None = None,
) -> Callable[[Callable[[Any, StepContext], Any]], Callable[[Any, StepContext], Any]]:
    """Decorator: register a function as the action `name`."""

    def wrap(func: Callable[[Any, StepContext], Any]) -> Callable[[Any, StepContext], Any]:
        doc = (func.__doc__ or "").strip().splitlines()
        ACTIONS[name] = ActionDefinition(
            name, func, inputs, mutating, doc[0] if doc else "", waits, rerun_on_resume, describe
        )
        return func

    return wrap


# name -> function(inputs, ScriptContext) -> {result field: shell expression}: how an action
# reads as `aws`/`curl` commands in `run --print-cli` and the generated runbook docs.
SHELL_EQUIVALENTS: dict[str, Callable[[dict[str, Any], Any], dict[str, str]]] = {}


def shell_equivalent(
    name: str,
) -> Callable[[Callable[[dict[str, Any], Any], dict[str, str]]], Callable[..., dict[str, str]]]:
    """Decorator: register the shell rendering of the action `name`."""

    def wrap(
        func: Callable[[dict[str, Any], Any], dict[str, str]],
    ) -> Callable[..., dict[str, str]]:
        SHELL_EQUIVALENTS[name] = func
        return func

    return wrap


BUILTIN_ACTION_MODULES = (
    "hybridops.steps.actions.health",
    "hybridops.steps.actions.ecs",
    "hybridops.steps.actions.lambda_",
    "hybridops.steps.actions.logs",
    "hybridops.steps.actions.failover",
    "hybridops.steps.actions.ssm",
)
BUILTIN_KIND_MODULES = ("hybridops.steps.kinds",)


def load_builtin_actions() -> None:
    """Import the modules that register built-in actions (idempotent)."""
    for module in BUILTIN_ACTION_MODULES:
        importlib.import_module(module)


def load_kinds() -> dict[str, StepKind]:
    """Import the step kinds (idempotent) and return the registry."""
    for module in BUILTIN_KIND_MODULES:
        importlib.import_module(module)
    return KINDS


def step_is_mutating(step: Step) -> bool:
    """The kind's classification of the step, raised (never lowered) by `mutating: true`."""
    from hybridops.gate.classify import effective

    return effective(load_kinds()[step.kind].mutating(step), step.mutating)
