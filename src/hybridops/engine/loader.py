"""Load runbooks from files or the built-in set, validate them, report file:line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from hybridops import paths
from hybridops.engine.models import Runbook
from hybridops.engine.templating import iter_references
from hybridops.errors import ValidationError
from hybridops.yamlsource import format_location, line_of, load_yaml_file, pydantic_error_message


@dataclass
class LoadedRunbook:
    """A validated runbook with where it came from."""

    runbook: Runbook
    source: Path
    builtin: bool


def builtin_runbooks() -> dict[str, Path]:
    """Built-in runbook names mapped to their files."""
    directory = paths.builtin_runbooks_dir()
    if not directory.is_dir():
        return {}
    return {p.stem: p for p in sorted(directory.glob("*.yaml"))}


def locate(name_or_path: str) -> tuple[Path, bool]:
    """A path to a file, or the name of a built-in runbook."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path or candidate.is_file():
        if not candidate.is_file():
            raise ValidationError(f"{name_or_path}: no such runbook file")
        return candidate, False
    builtins = builtin_runbooks()
    if name_or_path in builtins:
        return builtins[name_or_path], True
    known = ", ".join(builtins) or "none"
    raise ValidationError(f"unknown runbook {name_or_path!r} (built-in: {known})")


def load(name_or_path: str) -> LoadedRunbook:
    """Locate, parse and validate a runbook."""
    path, builtin = locate(name_or_path)
    return LoadedRunbook(load_file(path), path, builtin)


def load_file(path: Path) -> Runbook:
    """Parse and validate one runbook file; raise ValidationError naming file:line and field."""
    data = load_yaml_file(path)
    return validate_data(data, str(path))


def validate_data(data: Any, source: str) -> Runbook:
    """Validate parsed YAML as a runbook, including references between steps."""
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: a runbook must be a mapping with name and steps")
    try:
        runbook = Runbook.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError(pydantic_error_message(source, data, exc)) from None
    check_references(runbook, data, source)
    return runbook


def _fail(source: str, data: Any, loc: list[Any], message: str) -> ValidationError:
    line = line_of(data, loc)
    where = f"{source}:{line}" if line else source
    return ValidationError(f"{where}: {format_location(loc)}: {message}")


def check_references(runbook: Runbook, data: Any, source: str) -> None:
    """Every `${{ }}` must name a declared parameter or an earlier step's declared output."""
    seen: dict[str, set[str]] = {}
    for index, step in enumerate(runbook.steps):
        if step.name in seen:
            raise _fail(
                source, data, ["steps", index, "name"], f"duplicate step name {step.name!r}"
            )
        raw_step = data["steps"][index]
        for key in raw_step:
            loc = ["steps", index, key]
            for ref in iter_references(raw_step[key]):
                problem = _reference_problem(runbook, seen, step.name, ref, key)
                if problem:
                    raise _fail(source, data, loc, problem)
        seen[step.name] = set(step.outputs)
    for name, spec in runbook.parameters.items():
        for ref in iter_references(spec.default):
            if ref[0] != "env":
                raise _fail(
                    source,
                    data,
                    ["parameters", name, "default"],
                    "a parameter default may only refer to env.*",
                )


def _reference_problem(
    runbook: Runbook, seen: dict[str, set[str]], current: str, ref: tuple[Any, ...], key: str
) -> str | None:
    text = ".".join(str(p) for p in ref)
    root = ref[0]
    if root == "params":
        if len(ref) < 2 or ref[1] not in runbook.parameters:
            return f"${{{{ {text} }}}}: no such parameter"
    elif root == "steps":
        if len(ref) < 2:
            return f"${{{{ {text} }}}}: name a step"
        step_name = ref[1]
        if step_name == current and key != "compensate":
            return f"${{{{ {text} }}}}: a step cannot refer to its own outputs"
        if step_name not in seen and not (step_name == current and key == "compensate"):
            later = any(s.name == step_name for s in runbook.steps)
            why = "runs later" if later else "does not exist"
            return f"${{{{ {text} }}}}: step {step_name!r} {why}"
        if len(ref) < 4 or ref[2] != "outputs":
            return f"${{{{ {text} }}}}: use steps.{step_name}.outputs.NAME"
        outputs = seen.get(step_name)
        if outputs is None:
            outputs = next(set(s.outputs) for s in runbook.steps if s.name == step_name)
        if ref[3] not in outputs:
            return f"${{{{ {text} }}}}: step {step_name!r} declares no output {ref[3]!r}"
    elif root == "env":
        from hybridops.config import EnvironmentConfig

        if len(ref) < 2 or ref[1] not in {*EnvironmentConfig.model_fields, "name"}:
            return f"${{{{ {text} }}}}: no such environment setting"
    elif root == "run" and (len(ref) != 2 or ref[1] not in ("id", "runbook", "env")):
        return f"${{{{ {text} }}}}: use run.id, run.runbook or run.env"
    return None
