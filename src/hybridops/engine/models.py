"""The runbook format: typed models whose field names are the user-facing YAML API."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from hybridops.engine import matching
from hybridops.engine.templating import TemplateError, iter_references
from hybridops.engine.triggers import Trigger

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
PARAM_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_templates(value: Any) -> Any:
    try:
        for _ in iter_references(value):
            pass
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
    return value


def _check_expectations(value: dict[str, Any]) -> dict[str, Any]:
    for path, expected in value.items():
        matching.compile_path(path)
        matching.check_matcher(expected)
    return value


Expectations = Annotated[dict[str, Any], BeforeValidator(_check_templates)]


def _check_condition(value: str | None) -> str | None:
    """A `when`: a ${{ }} template, or JMESPath that compiles."""
    if value is not None:
        _check_templates(value)
        if "${{" not in value:
            matching.compile_path(value)
    return value


def _one_reference(value: str) -> str:
    from hybridops.engine.templating import TEMPLATE_RE

    if not TEMPLATE_RE.fullmatch(value.strip()):
        raise ValueError(
            "give a number of seconds, or one ${{ }} reference such as ${{ params.x }}"
        )
    return str(_check_templates(value))


# A number of seconds, or a parameter (or output) holding one: `${{ params.timeout_s }}`.
SecondsReference = Annotated[
    str, Field(pattern=r"^\s*\$\{\{.*\}\}\s*$"), AfterValidator(_one_reference)
]


class AwsCall(_Strict):
    """One boto3 call: `aws: {service, operation, region, params}`."""

    service: str = Field(description="boto3 service name, e.g. ecs")
    operation: str = Field(description="boto3 method name, snake_case, e.g. describe_services")
    region: str = Field(
        "primary",
        description="primary, secondary (the environment's regions) or an explicit region",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="API parameters")

    @model_validator(mode="after")
    def _known_operation(self) -> AwsCall:
        if "${{" in self.service or "${{" in self.operation:
            raise ValueError("service and operation cannot be templated")
        from hybridops.aws.classify import check_operation

        problem = check_operation(self.service, self.operation)
        if problem:
            raise ValueError(problem)
        _check_templates(self.params)
        _check_templates(self.region)
        return self


HttpMethod = Literal["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


class HttpCall(_Strict):
    """One HTTP request: result is `{status, headers, json, text, elapsed_ms}`."""

    method: HttpMethod = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(None, alias="json", description="JSON request body")
    body: str | None = None
    timeout_s: float = Field(10.0, gt=0, le=600)

    @model_validator(mode="after")
    def _templates(self) -> HttpCall:
        _check_templates([self.url, self.headers, self.json_body, self.body])
        if not self.url.startswith(("http://", "https://", "${{")):
            raise ValueError(f"url {self.url!r} must start with http:// or https://")
        return self


class Wait(_Strict):
    """Poll an aws or http call until every `until` expectation holds."""

    aws: AwsCall | None = None
    http: HttpCall | None = None
    until: Expectations
    interval_s: Annotated[float, Field(ge=0, le=3600)] | SecondsReference = Field(
        5.0, description="seconds between polls, or a ${{ }} reference to them"
    )
    timeout_s: Annotated[float, Field(gt=0, le=86400)] | SecondsReference = Field(
        600.0, description="seconds before giving up (exit 5), or a ${{ }} reference to them"
    )

    @model_validator(mode="after")
    def _one_call(self) -> Wait:
        if (self.aws is None) == (self.http is None):
            raise ValueError("wait needs exactly one of: aws, http")
        if not self.until:
            raise ValueError("wait needs at least one `until` expectation")
        _check_expectations(self.until)
        if self.aws is not None:
            from hybridops.gate.classify import aws_mutates

            if aws_mutates(self.aws.service, self.aws.operation):
                raise ValueError(
                    f"wait polls {self.aws.service}.{self.aws.operation}, which mutates;"
                    " a wait may only poll read-only operations"
                )
        from hybridops.gate.classify import http_mutates

        if self.http is not None and http_mutates(self.http.method):
            raise ValueError(f"wait polls with {self.http.method}; use GET or HEAD")
        return self


class Assert(_Strict):
    """Check values already known: JMESPath over `{params, steps, env}`."""

    that: Expectations
    message: str | None = None
    refuse: bool = Field(False, description="A guardrail: failing refuses the run (exit 3)")

    @model_validator(mode="after")
    def _shape(self) -> Assert:
        if not self.that:
            raise ValueError("assert needs at least one entry in `that`")
        _check_expectations(self.that)
        return self


class Confirm(_Strict):
    """Ask the operator before going on; `typed` demands the exact text be typed."""

    message: str = Field(description="the change in words, with its blast radius")
    table: str | None = Field(
        None,
        description="a ${{ }} value shown under the message as a small table: a list of rows, a"
        " mapping, or a from/to diff (one row per changed leaf)",
    )
    region: str | None = Field(
        None, description="where the change lands (primary, secondary or a region) for the header"
    )
    typed: str | None = Field(None, description="the exact text to type (e.g. ${{ run.env }})")
    typed_when: str | None = Field(
        None,
        description="JMESPath over {params, steps, env, run}: demand `typed` only when it holds"
        " (e.g. a change that removes all capacity); without it, `typed` is always demanded",
    )
    danger: str | None = Field(
        None, description="what the change breaks, shown when typed confirmation is demanded"
    )

    @model_validator(mode="after")
    def _typed(self) -> Confirm:
        if (self.typed_when or self.danger) and not self.typed:
            raise ValueError("typed_when and danger need `typed` (the text to type)")
        if self.typed_when and "${{" not in self.typed_when:
            matching.compile_path(self.typed_when)
        return self


def _seconds(value: Any) -> Any:
    return {"seconds": value} if isinstance(value, (int, float)) else value


class Sleep(_Strict):
    """Pause for a number of seconds."""

    seconds: float = Field(ge=0, le=3600)


class Action(_Strict):
    """A Python-implemented step from the registry, with typed `inputs`."""

    name: str
    inputs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> Action:
        from hybridops.steps.registry import ACTIONS, load_builtin_actions

        load_builtin_actions()
        definition = ACTIONS.get(self.name)
        if definition is None:
            known = ", ".join(sorted(ACTIONS)) or "none"
            raise ValueError(f"unknown action {self.name!r} (known: {known})")
        _check_templates(self.inputs)
        definition.check_inputs(self.inputs)
        return self


class Compensate(_Strict):
    """What undoes a completed step if a later step fails: one aws, http or action body.

    By default the undo is automatic. With `when`, it is automatic only while that expression
    is true; otherwise, with `ask`, an operator at a terminal is asked (never assumed by
    --yes), and without a terminal it is left undone and reported.
    """

    aws: AwsCall | None = None
    http: HttpCall | None = None
    action: Action | None = None
    when: str | None = None
    ask: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Compensate:
        given = [k for k in ("aws", "http", "action") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("compensate needs exactly one of: aws, http, action")
        return self

    @property
    def kind(self) -> str:
        """Which body is set."""
        return next(k for k in ("aws", "http", "action") if getattr(self, k) is not None)


STEP_KINDS = ("aws", "http", "wait", "assert", "confirm", "sleep", "action")
LOOP_LIMIT = 100


class Goto(_Strict):
    """A jump after a step: control goes to `step` (earlier: a loop) when `when` holds."""

    step: str = Field(pattern=NAME_PATTERN, description="the step control goes to")
    when: str | None = Field(
        None, description="JMESPath over {params, steps, env, run}; the jump is taken when truthy"
    )
    max: int = Field(
        LOOP_LIMIT,
        ge=1,
        le=10000,
        description="how many times a jump back may be taken each time its loop is entered;"
        " once more fails the step (a loop's bound; forward jumps are not counted)",
    )

    @field_validator("when")
    @classmethod
    def _when(cls, value: str | None) -> str | None:
        return _check_condition(value)


class Step(_Strict):
    """One step: exactly one kind (aws, http, wait, assert, confirm, sleep, action)."""

    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    description: str | None = None
    aws: AwsCall | None = None
    http: HttpCall | None = None
    wait: Wait | None = None
    assert_: Assert | None = Field(None, alias="assert")
    confirm: Confirm | None = None
    sleep: Annotated[Sleep | None, BeforeValidator(_seconds)] = None
    action: Action | None = None
    outputs: dict[str, str] = Field(
        default_factory=dict,
        description="output name -> JMESPath over the step result, or {path, secret: true}"
        " for a value masked wherever it is shown",
        json_schema_extra={
            "additionalProperties": {
                "anyOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "properties": {"path": {"type": "string"}, "secret": {"type": "boolean"}},
                        "required": ["path"],
                        "additionalProperties": False,
                    },
                ]
            }
        },
    )
    secret_outputs: list[str] = Field(
        default_factory=list,
        description="outputs masked in output, journal and audit (`secret: true` on an output)",
    )
    expect: Expectations = Field(default_factory=dict)
    when: str | None = Field(
        None, description="JMESPath over {params, steps, env}; the step runs when truthy"
    )
    retries: int = Field(0, ge=0, le=100)
    retry_delay_s: float = Field(1.0, ge=0, le=600)
    timeout_s: float | None = Field(None, gt=0, le=86400)
    on_failure: Literal["abort", "continue"] = "abort"
    critical: bool = Field(
        True,
        description="false: with on_failure continue, this step failing does not fail the run"
        " (said as a warning)",
    )
    on_cancel: list[Annotated[str, Field(pattern=NAME_PATTERN)]] | None = Field(
        None,
        description="later steps (one name or a list) to run, in order and under their `when`,"
        " when the run is interrupted (Ctrl-C, SIGTERM) during this one; nothing else runs"
        " after, and the run ends interrupted",
    )

    @field_validator("on_cancel", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    goto: list[Goto] | None = Field(
        None,
        description="after the step ran (not when skipped): the first jump whose `when` holds"
        " sends control to its step; a step name alone jumps always. Backward: a loop, bounded"
        " by `max`; a dry run goes through a loop once",
    )

    @field_validator("goto", mode="before")
    @classmethod
    def _jumps(cls, value: Any) -> Any:
        if isinstance(value, (str, dict)):
            value = [value]
        if isinstance(value, list):
            return [{"step": v} if isinstance(v, str) else v for v in value]
        return value

    compensate: Compensate | None = None
    mutating: bool | None = Field(None, description="override the read/mutate classification")

    @model_validator(mode="before")
    @classmethod
    def _output_forms(cls, data: Any) -> Any:
        """`name: {path: P, secret: true}` -> `name: P`, with the name in secret_outputs."""
        outputs = data.get("outputs") if isinstance(data, dict) else None
        if not isinstance(outputs, dict) or not any(isinstance(v, dict) for v in outputs.values()):
            return data
        plain: dict[str, Any] = {}
        secret = list(data.get("secret_outputs") or [])
        for name, spec in outputs.items():
            if isinstance(spec, dict):
                unknown = set(spec) - {"path", "secret"}
                if unknown or "path" not in spec:
                    raise ValueError(
                        f"output {name!r}: give a JMESPath string or {{path, secret}}"
                        + (f" (unknown: {', '.join(sorted(map(str, unknown)))})" if unknown else "")
                    )
                if spec.get("secret") is True:
                    secret.append(name)
                elif spec.get("secret") not in (None, False):
                    raise ValueError(f"output {name!r}: secret must be true or false")
                plain[name] = spec["path"]
            else:
                plain[name] = spec
        return {**data, "outputs": plain, "secret_outputs": secret}

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not re.match(PARAM_PATTERN, name):
                raise ValueError(f"output name {name!r} must match {PARAM_PATTERN}")
            matching.compile_path(path)
        return value

    @field_validator("when")
    @classmethod
    def _when(cls, value: str | None) -> str | None:
        return _check_condition(value)

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Step:
        given = [k for k in STEP_KINDS if getattr(self, _field(k)) is not None]
        if not given:
            raise ValueError(f"step needs exactly one kind: {', '.join(STEP_KINDS)}")
        if len(given) > 1:
            raise ValueError(f"step has several kinds ({', '.join(given)}); give exactly one")
        _check_expectations(self.expect)
        if self.expect and self.kind not in ("aws", "http", "action"):
            raise ValueError(f"expect is not supported on a {self.kind} step")
        if self.outputs and self.kind not in ("aws", "http", "wait", "action"):
            raise ValueError(f"outputs are not supported on a {self.kind} step")
        return self

    @property
    def kind(self) -> str:
        """The step kind, e.g. `aws`."""
        return next(k for k in STEP_KINDS if getattr(self, _field(k)) is not None)

    @property
    def body(self) -> Any:
        """The kind-specific body model."""
        return getattr(self, _field(self.kind))


def _field(kind: str) -> str:
    return "assert_" if kind == "assert" else kind


ParamType = Literal["string", "integer", "number", "boolean", "list", "object"]


class _UnquotedBool:
    """Stands in for a boolean YAML read from unquoted text (`off`) where a string is meant."""

    def __init__(self, text: str | None, value: bool) -> None:
        self.text = text or str(value).lower()
        self.value = value


def _no_unquoted_bool(value: Any) -> Any:
    if isinstance(value, _UnquotedBool):
        raise ValueError(
            f"{value.text} is read by YAML as the boolean {str(value.value).lower()}, not a"
            f' string: quote it ("{value.text}")'
        )
    return value


# Checked per value so that an error's location, and so its line, is the value itself.
_StringValue = Annotated[Any, AfterValidator(_no_unquoted_bool)]


class Parameter(_Strict):
    """A runbook parameter, given with `--param name=value`."""

    type: ParamType = "string"
    default: _StringValue = None
    required: bool = False
    description: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    enum: list[_StringValue] | None = None
    pattern: str | None = None
    min_length: int | None = Field(None, ge=0, description="fewest characters (each item's)")
    max_length: int | None = Field(None, ge=0, description="most characters (each item's)")
    min_items: int | None = Field(None, ge=0, description="a list's fewest items")
    max_items: int | None = Field(None, ge=0, description="a list's most items")
    secret: bool = Field(False, description="never shown in output, journals or audit records")

    @model_validator(mode="before")
    @classmethod
    def _unquoted_booleans(cls, data: Any) -> Any:
        # `default: off` on a string parameter is False to YAML and would quietly become the
        # string "False". Only the loader saw the text `off`, so it is looked up here.
        if not isinstance(data, dict) or data.get("type", "string") != "string":
            return data
        from hybridops.yamlsource import bool_text

        marked = dict(data)  # the caller's mapping, with its line marks, stays as it was
        if isinstance(data.get("default"), bool):
            marked["default"] = _UnquotedBool(bool_text(data, "default"), data["default"])
        enum = data.get("enum")
        if isinstance(enum, list) and any(isinstance(v, bool) for v in enum):
            marked["enum"] = [
                _UnquotedBool(bool_text(enum, i), v) if isinstance(v, bool) else v
                for i, v in enumerate(enum)
            ]
        return marked

    @model_validator(mode="after")
    def _consistent(self) -> Parameter:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"invalid pattern: {exc}") from None
        if self.default is not None and not (
            isinstance(self.default, str) and "${{" in self.default
        ):
            from hybridops.engine.parameters import coerce

            coerce("default", self, self.default)
        return self


def _check_value(value: str) -> str:
    """A report value: a `${{ }}` template, or else a JMESPath over {params, steps, env, run}."""
    _check_templates(value)
    if "${{" not in value:
        matching.compile_path(value)
    return value


ReportValue = Annotated[str, AfterValidator(_check_value)]
ReportText = Annotated[str, AfterValidator(_check_templates)]


class ReportEntry(_Strict):
    """One part of a runbook's report: a title and exactly one of fields, table or lines.

    Values are JMESPath over {params, steps, env, run} (as `when`) or `${{ }}` templates; what
    is unknown (a step that did not run) is left out.
    """

    title: ReportText = Field(min_length=1, max_length=200, description="the heading")
    fields: dict[str, ReportValue] | None = Field(
        None, description="label -> value, shown as `label: value` lines"
    )
    table: ReportValue | None = Field(
        None,
        description="a list of records shown as a table with `columns`; without them, records"
        " get a column per key, a mapping two columns, a from/to diff what/from/to",
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="table: header -> JMESPath over each record"
    )
    lines: ReportValue | None = Field(None, description="a list, shown one item a line")
    format: Literal["text", "log"] = Field(
        "text",
        description="lines: `log` prints {timestamp, group, stream, message} events as"
        " `logs search` does",
    )
    empty: ReportText | None = Field(
        None, description="shown when the table or lines are empty (default: the entry is left out)"
    )
    when: ReportValue | None = Field(
        None, description="JMESPath or ${{ }} over {params, steps, env, run}: shown when truthy"
    )

    @model_validator(mode="after")
    def _one(self) -> ReportEntry:
        given = [k for k in ("fields", "table", "lines") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a report entry needs exactly one of: fields, table, lines")
        if self.fields is not None and not self.fields:
            raise ValueError("fields needs at least one `label: value`")
        if self.columns and self.table is None:
            raise ValueError("columns apply to a table only")
        for path in self.columns.values():
            matching.compile_path(path)
        if self.format != "text" and self.lines is None:
            raise ValueError("format applies to lines only")
        return self


class Runbook(_Strict):
    """A runbook: name, parameters and ordered steps."""

    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    description: str = ""
    use_when: str = Field(
        "", description="When an on-call engineer should reach for this runbook (for the docs)"
    )
    severity: list[Literal["P0", "P1", "P2", "P3"]] = Field(
        default_factory=list, description="Incident severities this runbook answers (P0-P3)"
    )
    lock: str | None = Field(
        None,
        description="Name of a lock held (in the state store) for the whole run; a second run"
        " wanting it is refused, naming the holder",
        pattern=NAME_PATTERN,
    )
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    report: list[ReportEntry] = Field(
        default_factory=list,
        description="What the run found, for people: printed after the steps (and under"
        " `report` with -o json), secrets masked",
    )
    triggers: list[Trigger] = Field(
        default_factory=list,
        description="When this runbook applies, evaluated by `hybridops triage` over its facts",
    )

    @field_validator("parameters")
    @classmethod
    def _param_names(cls, value: dict[str, Parameter]) -> dict[str, Parameter]:
        for name in value:
            if not re.match(PARAM_PATTERN, name):
                raise ValueError(f"parameter name {name!r} must match {PARAM_PATTERN}")
        return value

    @model_validator(mode="after")
    def _trigger_parameters(self) -> Runbook:
        names = [t.name for t in self.triggers]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise ValueError(f"duplicate trigger name {duplicate!r}")
        for trigger in self.triggers:
            unknown = sorted(set(trigger.params) - set(self.parameters))
            if unknown:
                raise ValueError(f"trigger {trigger.name!r}: no such parameter {unknown[0]!r}")
            missing = [
                name
                for name, spec in self.parameters.items()
                if spec.required and spec.default is None and name not in trigger.params
            ]
            if missing:
                raise ValueError(
                    f"trigger {trigger.name!r} must give required parameter {missing[0]!r}"
                )
        return self

    @property
    def loop_steps(self) -> set[str]:
        """Steps inside a loop: from a backward jump's target to the step that jumps back."""
        index = {step.name: i for i, step in enumerate(self.steps)}
        inside: set[str] = set()
        for i, step in enumerate(self.steps):
            for jump in step.goto or []:
                start = index.get(jump.step, i + 1)
                inside.update(s.name for s in self.steps[start : i + 1])
        return inside

    def jump_words(self, step: Step) -> list[str]:
        """How a step's jumps read: `then back to X when C (at most N times)`."""
        names = [s.name for s in self.steps]
        out = []
        for jump in step.goto or []:
            back = names.index(jump.step) <= names.index(step.name)
            text = f"then {'back ' if back else ''}to {jump.step}"
            if jump.when:
                text += f" when {jump.when}"
            if back:
                text += f" (at most {jump.max} times)"
            out.append(text)
        return out

    @property
    def mutating_steps(self) -> list[Step]:
        """Steps that change something (for plans and listings)."""
        from hybridops.steps.registry import step_is_mutating

        return [s for s in self.steps if step_is_mutating(s)]
