"""Load runbooks from files or the built-in set, validate them, report file:line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from hybridops import paths
from hybridops.engine.matching import root_paths
from hybridops.engine.models import Runbook
from hybridops.engine.report import check_report
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
    if candidate.suffix in (".yaml", ".yml", ".json") or "/" in name_or_path or candidate.is_file():
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
    """Parse and validate one runbook file; raise ValidationError naming file:line and field.

    An SSM Automation document (schemaVersion 0.3) is converted to the native format first.
    """
    data = load_yaml_file(path)
    from hybridops.ssm.automation import convert, is_automation

    if is_automation(data):
        data = convert(data, str(path), path.stem)
    elif isinstance(data, dict) and "schemaVersion" in data and "name" not in data:
        # An SSM document of another kind: said as such, not as a native runbook's errors.
        raise ValidationError(
            f"{path}: an SSM document with schemaVersion {data['schemaVersion']!r} (Command"
            " documents run on managed instances); hybridops runs Automation documents"
            " (schemaVersion '0.3' with mainSteps)"
        )
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
    check_report(runbook, data, source)
    return runbook


# Read after the step ran, so they may read its own outputs and status.
AFTER_THE_STEP = ("compensate", "goto")
# What `run.` offers: `jumped_to` is the step the last `goto` jumped to, `jumps` how many
# jumps the run has taken (an imported SSM document's flow reads both).
RUN_FIELDS = ("id", "runbook", "env", "jumped_to", "jumps")


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
        for loc, expression in _jmespath_conditions(step, index):
            for chain in root_paths(expression):
                problem = _reference_problem(runbook, seen, step.name, chain, loc[2], path=True)
                if problem:
                    raise _fail(source, data, loc, problem)
        problem = _lowered_class(step)
        if problem:
            raise _fail(source, data, ["steps", index, "mutating"], problem)
        later = {s.name for s in runbook.steps[index + 1 :]}
        for target in step.on_cancel or []:
            if target not in later:
                raise _fail(
                    source,
                    data,
                    ["steps", index, "on_cancel"],
                    f"{target!r} is not a step after this one",
                )
        for number, jump in enumerate(step.goto or []):
            problem = _jump_problem(runbook, index, jump.step)
            if problem:
                raise _fail(source, data, ["steps", index, "goto", number, "step"], problem)
        if not step.critical and step.on_failure != "continue":
            raise _fail(
                source,
                data,
                ["steps", index, "critical"],
                "critical: false needs on_failure: continue (an aborted run has failed)",
            )
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


def _jump_problem(runbook: Runbook, index: int, target: str) -> str | None:
    """What is wrong with a jump from step `index` to `target` (None: nothing)."""
    names = [s.name for s in runbook.steps]
    if target not in names:
        return f"goto {target!r}: no such step"
    start = names.index(target)
    if start > index:
        return None
    # Each pass of a loop would change again what one undo record can undo once.
    undone = next((s.name for s in runbook.steps[start : index + 1] if s.compensate), None)
    if undone:
        return (
            f"goto {target!r}: step {undone!r} inside the loop has compensate (each pass would"
            " need its own undo); move the change out of the loop"
        )
    return None


def _lowered_class(step: Any) -> str | None:
    """`mutating: false` on a step whose operation writes: the gate classifies, not the author."""
    if step.mutating is not False:
        return None
    from hybridops.steps.registry import load_kinds

    if not load_kinds()[step.kind].mutating(step):
        return None
    what = {
        "aws": lambda: f"{step.aws.service}.{step.aws.operation} writes",
        "http": lambda: f"HTTP {step.http.method} is not a safe method (GET, HEAD, OPTIONS)",
        "action": lambda: f"action {step.action.name!r} makes changes",
    }.get(step.kind, lambda: f"a {step.kind} step makes changes")()
    return (
        f"cannot lower a step's class: {what}; "
        "the gate decides from the operation (remove `mutating:`)"
    )


def _jmespath_conditions(step: Any, index: int) -> list[tuple[list[Any], str]]:
    """Plain JMESPath expressions evaluated over {params, steps, env, run}, with their place."""
    found: list[tuple[list[Any], str]] = []
    for number, jump in enumerate(step.goto or []):
        if jump.when and "${{" not in jump.when:
            found.append((["steps", index, "goto", number, "when"], jump.when))
    if step.when and "${{" not in step.when:
        found.append((["steps", index, "when"], step.when))
    if step.compensate is not None and step.compensate.when and "${{" not in step.compensate.when:
        found.append((["steps", index, "compensate"], step.compensate.when))
    if step.assert_ is not None:
        found.extend((["steps", index, "assert"], key) for key in step.assert_.that)
    if (
        step.confirm is not None
        and step.confirm.typed_when
        and "${{" not in step.confirm.typed_when
    ):
        found.append((["steps", index, "confirm"], step.confirm.typed_when))
    return found


def _reference_problem(
    runbook: Runbook,
    seen: dict[str, set[str]],
    current: str,
    ref: tuple[Any, ...],
    key: str,
    *,
    path: bool = False,
) -> str | None:
    if path:
        # A JMESPath condition may test a prefix (`steps.x.outputs`), never an unknown name.
        problem = _path_problem(runbook, seen, current, ref, key)
        return f"{key}: {problem}" if problem else None
    text = ".".join(str(p) for p in ref)
    root = ref[0]
    if root == "params":
        if len(ref) < 2 or ref[1] not in runbook.parameters:
            return f"${{{{ {text} }}}}: no such parameter"
    elif root == "steps":
        if len(ref) < 2:
            return f"${{{{ {text} }}}}: name a step"
        step_name = ref[1]
        # Compensation and jumps come after the step ran: they may read its outputs.
        if step_name == current and key not in AFTER_THE_STEP:
            return f"${{{{ {text} }}}}: a step cannot refer to its own outputs"
        if step_name not in seen and not (step_name == current and key in AFTER_THE_STEP):
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
    elif root == "run" and (len(ref) != 2 or ref[1] not in RUN_FIELDS):
        return f"${{{{ {text} }}}}: use run.id, run.runbook, run.env, run.jumped_to or run.jumps"
    elif root == "facts":
        return f"${{{{ {text} }}}}: facts.* is read by triggers only, not by steps"
    return None


def _path_problem(
    runbook: Runbook, seen: dict[str, set[str]], current: str, ref: tuple[Any, ...], key: str
) -> str | None:
    text = ".".join(ref)
    root = ref[0]
    if root not in ("params", "steps", "env", "run"):
        return f"{text}: no such name (use params., steps., env. or run.)"
    if len(ref) == 1:
        # Always truthy (a whole namespace), or the sign of `!params.x`, which JMESPath reads
        # as `(!params).x`: always false.
        return (
            f"{text} alone names no value: use {text}.NAME (and `!({text}.NAME)` to negate:"
            f" `!{text}.NAME` reads as `(!{text}).NAME`)"
        )
    if root == "steps":
        name = ref[1]
        if name == current and key not in AFTER_THE_STEP:
            return f"{text}: a step cannot test its own outputs"
        if name not in seen and not (name == current and key in AFTER_THE_STEP):
            later = any(s.name == name for s in runbook.steps)
            return f"{text}: step {name!r} {'runs later' if later else 'does not exist'}"
        if len(ref) >= 3 and ref[2] in ("status", "jumps"):
            # How the step ended (succeeded, failed, skipped, planned...): a branch on failure;
            # after how many jumps (goto) it did: whether it ran in this pass of a loop.
            return None if len(ref) == 3 else f"{text}: {ref[2]} has no fields"
        if len(ref) >= 3 and ref[2] != "outputs":
            return f"{text}: use steps.{name}.outputs.NAME (or steps.{name}.status)"
        outputs = seen.get(name)
        if outputs is None:
            outputs = next(set(s.outputs) for s in runbook.steps if s.name == name)
        if len(ref) >= 4 and ref[3] not in outputs:
            return f"{text}: step {name!r} declares no output {ref[3]!r}"
        return None
    problem = _reference_problem(runbook, seen, current, ref[:2], key)
    # Said as the path the author wrote, not as a ${{ }} template.
    return problem.replace("${{ ", "").replace(" }}", "", 1) if problem else None


# -- warnings: valid, but probably not what the author meant ---------------------------------


def runbook_warnings(loaded: LoadedRunbook) -> list[str]:
    """Warnings (errors under --strict), by file:line: unused parameters, steps the script asks."""
    from hybridops.shell.script import untranslated

    runbook = loaded.runbook
    data = load_yaml_file(loaded.source)
    source = str(loaded.source)
    out: list[str] = []
    used = used_parameters(runbook)
    for name in runbook.parameters:
        if name not in used:
            out.append(
                _where(source, data, ["parameters", name])
                + f"parameters.{name}: never used (no step, condition or report reads it)"
            )
    index = {step.name: i for i, step in enumerate(runbook.steps)}
    try:
        asks = untranslated(runbook, {})
    except Exception as exc:  # a bug in the shell translation must not hide the verdict
        return [*out, f"{source}: `run --print-cli` cannot print this runbook: {exc!r}"]
    for step_name, why in dict.fromkeys(asks):
        loc: list[Any] = ["steps", index[step_name]] if step_name in index else []
        out.append(
            _where(source, data, loc)
            + f"step {step_name!r}: `run --print-cli` asks the operator instead ({why})"
        )
    return out


def _where(source: str, data: Any, loc: list[Any]) -> str:
    line = line_of(data, loc) if loc else None
    return f"{source}:{line}: " if line else f"{source}: "


def used_parameters(runbook: Runbook) -> set[str]:
    """The parameters a runbook reads: in ${{ }}, conditions, assertions or its report."""
    from hybridops.engine.report import _expressions

    found: set[str] = set()
    raw: list[Any] = [step.model_dump(by_alias=True, exclude_none=True) for step in runbook.steps]
    raw += [entry.model_dump(exclude_none=True) for entry in runbook.report]
    chains = [tuple(str(p) for p in ref) for ref in iter_references(raw)]
    for index, step in enumerate(runbook.steps):
        chains += [c for _, e in _jmespath_conditions(step, index) for c in root_paths(e)]
    for entry in runbook.report:
        for _, value in _expressions(entry):
            if "${{" not in value:
                chains += root_paths(value)
    found.update(chain[1] for chain in chains if len(chain) > 1 and chain[0] == "params")
    return found
