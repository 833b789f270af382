"""A runbook as a bash script of `aws` and `curl` commands.

Used two ways: `hybridops run NAME --print-cli` (the values of one environment and the given
parameters, for the night hybridops itself is broken) and the generated runbook docs (the
built-in defaults, every value overridable from the environment of the shell).

Variables live in their own namespaces, so they never meet each other or the environment's:
P_NAME for parameters, S_STEP_OUTPUT for step outputs, ENV_KEY for environment settings, RUN_KEY
for the run, and _NAME1 for the script's own temporaries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hybridops.config import SIDES as ENV_SIDES
from hybridops.engine.templating import TEMPLATE_RE, parse_reference
from hybridops.shell.condition import bash_condition, bash_value
from hybridops.shell.jq import Untranslatable
from hybridops.shell.words import (
    SENTINEL,
    Names,
    Ref,
    dq,
    literal,
    quote,
    sanitize,
    scalar_text,
    word,
)
from hybridops.shell.writer import ShellWriter, prelude

if TYPE_CHECKING:
    from hybridops.engine.models import Runbook, Step

# `primary`/`secondary` as a region: the env.* setting it reads.
SIDES = {side: ("env", fields["region"]) for side, fields in ENV_SIDES.items()}


@dataclass
class ScriptContext:
    """What step renderers need: references as variables, the writer, the environment."""

    writer: ShellWriter
    env_scope: dict[str, Any]
    runbook: Runbook | None = None
    names: Names = field(default_factory=Names)
    # Which reference parts each variable stands for, in first-use order (for the header).
    origins: dict[str, tuple[str | int, ...]] = field(default_factory=dict)
    region_params: dict[str, str] = field(default_factory=dict)
    # What the script asks the operator because it cannot compute it: (step, why).
    asks: list[tuple[str, str]] = field(default_factory=list)
    step_name: str = ""

    def __post_init__(self) -> None:
        # Parameters and outputs get their names first, in the runbook's order, so a name
        # never depends on where a value is first used.
        if self.runbook is None:
            return
        for name in self.runbook.parameters:
            self.ref(("params", name))
        for step in self.runbook.steps:
            for output in step.outputs:
                self.ref(("steps", step.name, "outputs", output))

    def ref(self, parts: tuple[str | int, ...]) -> Ref:
        """The variable for a reference such as ("steps", "plan", "outputs", "to")."""
        root = parts[0]
        if root == "steps" and len(parts) >= 4:
            key: tuple[Any, ...] = ("steps", parts[1], parts[3])
            var = self.names.get(key, f"S_{sanitize(str(parts[1]))}_{sanitize(str(parts[3]))}")
            if len(parts) > 4:
                return self._derived(var, parts[:4], parts[4:])
        elif root == "params" and len(parts) >= 2:
            key = ("params", parts[1])
            var = self.names.get(key, f"P_{sanitize(str(parts[1]))}")
            if len(parts) > 2:
                return self._derived(var, parts[:2], parts[2:])
        elif root == "env":
            key = tuple(parts)
            var = self.names.get(key, "ENV_" + "_".join(sanitize(str(p)) for p in parts[1:]))
        else:
            key = tuple(parts)
            var = self.names.get(key, "_".join(sanitize(str(p)) for p in parts))
        self.origins.setdefault(var, tuple(parts))
        return Ref(var, json=self._json_typed(parts))

    def _json_typed(self, parts: tuple[str | int, ...]) -> bool:
        """A parameter or setting known to hold a list, object, number or boolean."""
        if parts[0] == "params" and self.runbook is not None and len(parts) == 2:
            spec = self.runbook.parameters.get(str(parts[1]))
            return spec is not None and spec.type != "string"
        if parts[0] == "env":
            value = _lookup(self.env_scope, parts[1:])
            return value is not None and not isinstance(value, (str, list))
        return False

    def _derived(
        self, var: str, whole: tuple[str | int, ...], inside: tuple[str | int, ...]
    ) -> Ref:
        """A value inside a parameter or output (outputs.x[0].y): read from its JSON by jq."""
        self.origins.setdefault(var, whole)
        path = "".join(f"[{p}]" if isinstance(p, int) else f"[{json.dumps(p)}]" for p in inside)
        derived = self.writer.temp("VALUE")
        self.writer.line(f'{derived}=$(jqv "${var}" {quote("." + path)})')
        return Ref(derived)

    def symbolic(self, value: Any) -> Any:
        """The value with every ${{ reference }} replaced by its variable."""
        if isinstance(value, str):
            if "${{" not in value:
                return value
            whole = TEMPLATE_RE.fullmatch(value.strip())
            if whole:
                return self.ref(parse_reference(whole.group(1)))
            return TEMPLATE_RE.sub(lambda m: str(self.ref(parse_reference(m.group(1)))), value)
        if isinstance(value, dict):
            return {self.symbolic(k): self.symbolic(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.symbolic(v) for v in value]
        return value

    def region(self, value: Any) -> Any:
        """An aws call's region: primary/secondary become the environment's regions."""
        if value is None or value == "primary":
            return self.ref(SIDES["primary"])
        if value == "secondary":
            return self.ref(SIDES["secondary"])
        if isinstance(value, Ref) and self.origins.get(value.var, ("",))[0] == "params":
            # The parameter says primary/secondary (or a region): a derived variable holds the
            # region name, the parameter keeps its meaning for conditions and inputs.
            region_var = self.names.get(("region", value.var), f"{value.var}_REGION")
            self.ref(SIDES["primary"])
            self.ref(SIDES["secondary"])
            self.region_params[value.var] = region_var
            return Ref(region_var)
        return value

    def output_var(self, step: Step, name: str) -> str:
        """The variable holding one output of a step."""
        return self.ref(("steps", step.name, "outputs", name)).var

    def condition(self, expression: str) -> str:
        """A `when:` as a bash test (a ${{ }} template is read as truthy text)."""
        if "${{" in expression:
            return f"truthy {word(self.symbolic(expression))}"
        try:
            return bash_condition(expression, self._path_ref, self.scope_word)
        except (Untranslatable, ValueError) as exc:
            return self.ask(f"Does this hold: {expression}?", f"condition {expression}: {exc}")

    def boolean(self, expression: str) -> str:
        """A bash test for a comparison (Untranslatable for anything else)."""
        from hybridops.shell.condition import bash_bool

        return bash_bool(expression, self._path_ref)

    def value(self, expression: str) -> str:
        """A shell word with the value of a JMESPath over {params, steps, env, run}."""
        return bash_value(expression, self._path_ref, self.scope_word)

    def ask(self, question: str, why: str) -> str:
        """A yes/no question for the operator (noted: `runbooks validate --strict` reports it)."""
        self.asks.append((self.step_name, why))
        return f"ask {word(question)}"

    def _path_ref(self, path: tuple[str, ...]) -> Ref:
        return self.ref(path)

    def scope_word(self, chains: list[tuple[str, ...]]) -> str:
        """A shell word with the JSON of {params, steps, env, run}: the values `chains` read."""
        # Typed as hybridops holds them: parameters by their type, outputs as the JSON they are.
        tree: dict[str, Any] = {}
        args: list[str] = []
        for chain in dict.fromkeys(chains):
            full = chain[:4] if chain[0] == "steps" else chain
            if (chain[0] == "steps" and len(chain) < 4) or len(chain) < 2:
                raise Untranslatable(f"{'.'.join(chain)} is not one value")
            var = self.ref(full).var
            arg = f"v{len(args)}"
            args.append(f'--arg {arg} "${var}"')
            node = tree
            for part in full[:-1]:
                node = node.setdefault(str(part), {})
            node[str(full[-1])] = f"(${arg} | {self._typed(full)})"
        return f'"$(jq -nc {" ".join(args)} {quote(_jq_object(tree))})"'

    def _typed(self, chain: tuple[str | int, ...]) -> str:
        """jq turning a variable's text back into the value hybridops holds."""
        kind = "json"
        if chain[0] == "params" and self.runbook is not None:
            spec = self.runbook.parameters.get(str(chain[1]))
            kind = spec.type if spec is not None else "string"
        elif chain[0] == "env":
            value = _lookup(self.env_scope, chain[1:])
            kind = {bool: "boolean", int: "number", float: "number", list: "list"}.get(
                type(value), "json" if isinstance(value, dict) else "string"
            )
            if kind == "list":
                return 'if . == "" then [] else split(" ") end'
        elif chain[0] == "run":
            kind = "string"
        return {
            "string": ".",
            "integer": 'if . == "" then null else tonumber end',
            "number": 'if . == "" then null else tonumber end',
            "boolean": 'if . == "" then null else . == "true" end',
        }.get(kind, 'if . == "" then null else (try fromjson catch .) end')


def _jq_object(tree: dict[str, Any]) -> str:
    items = ", ".join(
        f"{json.dumps(k)}: {_jq_object(v) if isinstance(v, dict) else v}" for k, v in tree.items()
    )
    return "{" + items + "}"


def runbook_script(
    runbook: Runbook,
    env_name: str,
    env_scope: dict[str, Any],
    params: dict[str, Any] | None = None,
    *,
    source: str = "",
) -> str:
    """The whole script; `params` None writes the defaults as overridable variables (docs)."""
    ctx = render_steps(runbook, env_scope)
    body = ctx.writer.lines
    tail = [""]
    first_failure: list[str] = []
    if any(line.lstrip().startswith("run_step ") and " continue " in line for line in body):
        first_failure = [
            "# hybridops ends with the exit code of its first failure, and a step that lets the",
            "# runbook go on may have failed before the one that stops it.",
            'trap \'_RC=$?; [ "$_RC" -eq 0 ] || exit "${_FAILED:-$_RC}"\' EXIT',
        ]
        tail.append(
            f'[ -z "${{_FAILED:-}}" ] || fail "$_FAILED"'
            f' "{runbook.name}: a step failed (see above); the script went on, as hybridops'
            ' does, and ends with its exit code ($_FAILED)"'
        )
    tail.append(f'echo "{runbook.name}: done" >&2')
    lines = [
        "#!/usr/bin/env bash",
        f"# {runbook.name}: {' '.join(runbook.description.split())}".rstrip(": "),
        f"# Generated by hybridops from {source or runbook.name} for environment {env_name!r}.",
        *_what_it_does(runbook),
        "",
        prelude("\n".join(body + tail)),
        *first_failure,
        "",
        *_header(ctx, runbook, params),
        *body,
        *tail,
    ]
    script = "\n".join(lines).rstrip() + "\n"
    if SENTINEL in script:
        raise AssertionError("a reference marker reached the script")
    return script


def _what_it_does(runbook: Runbook) -> list[str]:
    """The header's promise: what the script changes, and what it does not do."""
    from hybridops.steps.registry import step_is_mutating

    if any(step_is_mutating(step) for step in runbook.steps):
        return [
            "# Needs: the aws CLI, curl, jq. Review before running: it changes what the runbook",
            "# changes, without hybridops' locks, audit trail or automatic compensation.",
        ]
    return ["# Needs: the aws CLI, curl, jq. Read-only: like the runbook, it changes nothing."]


def render_steps(runbook: Runbook, env_scope: dict[str, Any]) -> ScriptContext:
    """Every step as shell lines (the body of the script), with what the script must ask."""
    from hybridops.steps.registry import load_kinds

    kinds = load_kinds()
    ctx = ScriptContext(ShellWriter(), env_scope, runbook)
    for number, step in enumerate(runbook.steps, 1):
        ctx.step_name = step.name
        _step(ctx, kinds[step.kind], step, number, len(runbook.steps))
    return ctx


def _step(ctx: ScriptContext, kind: Any, step: Step, number: int, total: int) -> None:
    from hybridops.steps.registry import step_is_mutating

    w = ctx.writer
    body = step.body.model_dump(by_alias=True, exclude_none=True)
    w.line()
    w.comment(
        f"--- {number}/{total} {step.name}" + (f": {step.description}" if step.description else "")
    )
    notes = []
    if step.when:
        notes.append(f"Runs only when {step.when} (skipped, its outputs stay empty).")
    if step_is_mutating(step):
        notes.append("CHANGES the estate.")
    tries = step.retries + 1
    wrapped = tries > 1 or step.on_failure == "continue"
    if tries > 1:
        notes.append(
            f"Tried up to {tries} times, {step.retry_delay_s:g}s apart, while a check fails or an"
            " AWS or HTTP call errs, as hybridops retries it."
        )
    if step.on_failure == "continue":
        notes.append(
            "A failure here is reported and the script goes on, as hybridops does; the script"
            " then ends with this step's exit code."
        )
    else:
        notes.append("A failure here stops the script.")
    w.comment(" ".join(notes))
    opener = f"if {ctx.condition(step.when)}; then" if step.when else None
    if opener:
        w.line(opener)
        w.indent += 1
    outputs = [ctx.output_var(step, name) for name in step.outputs]
    function = ctx.names.get(("function", step.name), f"step_{sanitize(step.name)}").lower()
    if wrapped:
        w.line(f"{function}() {{")
        w.indent += 1
    w.line(f'echo "{number}/{total} {step.name}" >&2')
    start = len(w.lines)
    kind.shell(step, ctx.symbolic(body), ctx)
    if outputs:
        _show_outputs(w, step, outputs, start)
    if wrapped:
        w.indent -= 1
        w.line("}")
        then = "continue" if step.on_failure == "continue" else "stop"
        w.line(
            " ".join(["run_step", str(tries), f"{step.retry_delay_s:g}", then, function, *outputs])
        )
    if step.compensate is not None:
        _compensation(ctx, step)
    if step.goto and ctx.runbook is not None:
        # A script runs each step once, in order: where hybridops would jump, a person decides.
        for words in ctx.runbook.jump_words(step):
            w.comment(f"hybridops goes on from here {words}; this script does not jump.")
            question = ctx.ask(
                f"{step.name}: hybridops would now go {words.removeprefix('then ')}. Go on with"
                " the next step instead?",
                "a goto: the script runs each step once, in order",
            )
            w.line(f'{question} || fail 3 "stopped at {dq(step.name)}: jump by hand"')
    if opener:
        w.indent -= 1
        w.line(f'else echo "{number}/{total} {step.name}: skipped" >&2')
        w.line("fi")


def _show_outputs(w: ShellWriter, step: Step, outputs: list[str], start: int) -> None:
    """Print the outputs right after they are set, before the checks that may stop the step."""
    # hybridops keeps (and shows) a step's outputs when one of its expectations then fails.
    assigned = [
        i
        for i in range(start, len(w.lines))
        if any(w.lines[i].lstrip().startswith(f"{var}=") for var in outputs)
    ]
    at = (max(assigned) + 1) if assigned else len(w.lines)
    indent = w.lines[at - 1][: len(w.lines[at - 1]) - len(w.lines[at - 1].lstrip())]
    printer = ShellWriter(indent=len(indent) // 2, counter=w.counter)
    shown = [f'"${var}"' for var in outputs]
    if len(outputs) == 1:
        printer.line(f"printf '  {next(iter(step.outputs))}: %s\\n' {shown[0]} >&2")
    else:
        printer.command(
            [
                "printf",
                quote("  %s: %s\\n"),
                *(f"{name} {value}" for name, value in zip(step.outputs, shown, strict=True)),
                ">&2",
            ]
        )
    w.lines[at:at] = printer.lines


def _compensation(ctx: ScriptContext, step: Step) -> None:
    """hybridops undoes this step when a later one fails; the script says how, commented."""
    from hybridops.steps.registry import load_kinds

    assert step.compensate is not None
    comp = step.compensate
    kind_name = comp.kind
    body = getattr(comp, kind_name).model_dump(by_alias=True, exclude_none=True)
    undo = ScriptContext(
        ctx.writer.sub(), ctx.env_scope, None, ctx.names, ctx.origins, ctx.region_params, ctx.asks
    )
    undo.step_name = ctx.step_name
    fake = _compensation_step_named(f"{step.name}-undo", kind_name, body)
    load_kinds()[kind_name].shell(fake, ctx.symbolic(body), undo)
    w = ctx.writer
    when = f" (when {comp.when})" if comp.when else ""
    w.comment(
        f"If a later step fails, hybridops undoes this step{when}; this script does not. The"
        " undo, to run by hand:"
    )
    for text in undo.writer.lines:
        w.line(f"#   {text}" if text else "#")


def _header(ctx: ScriptContext, runbook: Runbook, params: dict[str, Any] | None) -> list[str]:
    """Variables for the environment settings, parameters and outputs the steps use."""
    docs = params is None
    settings = ctx.env_scope
    param_lines: list[str] = []
    for name, spec in runbook.parameters.items():
        var = ctx.ref(("params", name)).var
        if not _used(ctx, var) and var not in ctx.region_params:
            continue
        note = f"  # {' '.join(spec.description.split())}" if spec.description else ""
        if spec.secret:
            param_lines.append(f'{var}="${{{var}:?export {var} first: a secret, never printed}}"')
        elif docs:
            if spec.default is None:
                fill = f":?set {var}" if spec.required else ":-"
                param_lines.append(f'{var}="${{{var}{fill}}}"{note}')
            else:
                default = dq(ctx.symbolic(spec.default))
                param_lines.append(f'{var}="${{{var}:-{default}}}"{note}')
        else:
            value = (params or {}).get(name)
            param_lines.append(f"{var}={literal(value)}{note}")
        if var in ctx.region_params:
            primary, secondary = ctx.ref(SIDES["primary"]).var, ctx.ref(SIDES["secondary"]).var
            region_var = ctx.region_params[var]
            param_lines.append(
                f'case "${var}" in primary) {region_var}="${primary}" ;;'
                f' secondary) {region_var}="${secondary}" ;; *) {region_var}="${var}" ;; esac'
            )
    env_lines: list[str] = []
    if not docs and settings.get("endpoint_url"):
        env_lines.append(f"export AWS_ENDPOINT_URL={literal(settings['endpoint_url'])}")
    if not docs and settings.get("profile"):
        env_lines.append(f"export AWS_PROFILE={literal(settings['profile'])}")
    # The aws CLI retries as hybridops' clients do (a value already exported wins).
    attempts = scalar_text(settings.get("aws_max_attempts") or 5)
    env_lines.append(
        'export AWS_RETRY_MODE="${AWS_RETRY_MODE:-adaptive}"'
        f' AWS_MAX_ATTEMPTS="${{AWS_MAX_ATTEMPTS:-{attempts}}}"'
    )
    run_lines: list[str] = []
    for var, parts in list(ctx.origins.items()):
        if parts[0] == "env":
            value = _lookup(settings, parts[1:])
            text = (
                " ".join(map(scalar_text, value)) if isinstance(value, list) else scalar_text(value)
            )
            if not docs:
                env_lines.append(f"{var}={literal(text)}")
            elif text:
                env_lines.append(f'{var}="${{{var}:-{dq(text)}}}"')
            else:
                where = ".".join(map(str, parts))
                env_lines.append(f'{var}="${{{var}:-}}"  # no default: {where} in hybridops.yaml')
        elif parts[0] == "run":
            what = str(parts[1]) if len(parts) > 1 else "id"
            value = {
                "id": '"$(date -u +%Y%m%dT%H%M%SZ)-shell"',
                "runbook": literal(runbook.name),
                "env": '"${HYBRIDOPS_ENV:-}"' if docs else literal(settings.get("name", "")),
            }.get(what, "''")
            run_lines.append(f"{var}={value}")
    outputs = [
        ctx.ref(("steps", step.name, "outputs", name)).var
        for step in runbook.steps
        for name in step.outputs
    ]
    out: list[str] = []
    if env_lines:
        label = "defaults of" if docs else "values of"
        out += [f"# {label} the environment", *env_lines]
    if param_lines:
        out += ["# parameters", *param_lines]
    out += run_lines
    if outputs:
        out.append("# step outputs: empty until their step runs (and when it is skipped)")
        line = ""
        for var in outputs:
            piece = f"{var}=''"
            if line and len(line) + len(piece) >= 99:
                out.append(line)
                line = ""
            line = f"{line} {piece}".strip()
        out.append(line)
    return out


def _used(ctx: ScriptContext, var: str) -> bool:
    """Whether the body reads a variable."""
    needle = "$" + var
    braced = "${" + var
    return any(
        (needle in line and not line[line.index(needle) + len(needle) :][:1].isalnum())
        or braced + "}" in line
        or braced + ":" in line
        for line in ctx.writer.lines
    )


def _lookup(scope: dict[str, Any], parts: tuple[str | int, ...]) -> Any:
    node: Any = scope
    for part in parts:
        if isinstance(node, dict):
            node = node.get(str(part))
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def untranslated(runbook: Runbook, env_scope: dict[str, Any]) -> list[tuple[str, str]]:
    """Steps whose script would ask the operator for what hybridops computes: (step, why)."""
    return render_steps(runbook, env_scope).asks


def undo_command(step_name: str, kind: str, body: dict[str, Any], env_scope: dict[str, Any]) -> str:
    """A rendered compensation as one command line to paste (values filled in)."""
    import shlex

    from hybridops.steps.registry import load_kinds

    ctx = ScriptContext(ShellWriter(), env_scope)
    step = _compensation_step_named(f"{step_name}-undo", kind, body)
    load_kinds()[kind].shell(step, body, ctx)
    text = " ".join(
        line.strip().removesuffix("\\").strip()
        for line in ctx.writer.lines
        if line.strip() and not line.lstrip().startswith("#")
    )
    for var, parts in ctx.origins.items():
        value: Any = env_scope if parts[0] == "env" else None
        for part in parts[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            text = text.replace(f'"${{{var}}}"', shlex.quote(str(value)))
    return text


def _compensation_step_named(name: str, kind: str, body: dict[str, Any]) -> Step:
    from hybridops.engine.models import Step as StepModel

    return StepModel.model_validate({"name": name, kind: body})
