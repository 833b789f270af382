"""SSM Automation documents (schemaVersion 0.3) as native runbooks.

An Automation document runs through the same engine as a hybridops runbook — plan, gate,
confirmation, audit, journal, undo — by converting it, step by step, into the native format.
What this converter cannot express is refused by name before anything runs (exit 2), never
half-run or silently dropped.

Supported: parameters (String, Integer, Boolean, StringList, StringMap, MapList with
`allowedValues`, `allowedPattern`, `default`), `aws:executeAwsApi` (Selector outputs),
`aws:waitForAwsResourceProperty`, `aws:assertAwsResourceProperty`, `aws:sleep` (ISO 8601),
`aws:approve`/`aws:pause` (the confirmation gate), `onFailure: Abort|Continue`, `maxAttempts`,
`timeoutSeconds`, `{{ Param }}`, `{{ Step.Output }}`, `{{ global:REGION }}`,
`{{ automation:EXECUTION_ID }}`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hybridops.errors import ValidationError

SUPPORTED_ACTIONS = (
    "aws:branch",
    "aws:executeAutomation",
    "aws:executeAwsApi",
    "aws:executeScript",
    "aws:waitForAwsResourceProperty",
    "aws:assertAwsResourceProperty",
    "aws:sleep",
    "aws:approve",
    "aws:pause",
)
PARAM_TYPES = {
    "String": "string",
    "Integer": "integer",
    "Boolean": "boolean",
    "StringList": "list",
    "StringMap": "object",
    "MapList": "list",
}
_TEMPLATE_RE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,128}$")
# What a `{{ }}` may name: a parameter, Step.Output, or a global (nothing that could escape a
# quoted JMESPath name or a template).
_REFERENCE_RE = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?$|^(global|automation):[A-Z_]+$")
_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
# `{{ global:X }}` read through one first step (`ssm.globals`): its outputs.
GLOBALS = {"global:ACCOUNT_ID": "account_id", "global:DATE_TIME": "date_time"}
GLOBALS_STEP = "ssm-globals"
# Botocore's service names for the namespaces SSM documents use.
SERVICE_NAMES = {"elasticloadbalancingv2": "elbv2", "elasticloadbalancing": "elb"}


def _literal(value: Any) -> str:
    """A JMESPath literal: `"text"` as a raw string, numbers and booleans as JSON."""
    import json

    return "`" + json.dumps(value).replace("`", "\\`") + "`"


def _number(path: str) -> str:
    return f"to_number({path})"


def _text(expr: str) -> str:
    return f"to_string({expr})"


# SSM's comparators as JMESPath, given the variable and the value (both JMESPath expressions:
# a literal, or the path of a `{{ reference }}`). SSM compares text as text, numbers as numbers.
COMPARATORS: dict[str, Any] = {
    "StringEquals": lambda v, x: f"{_text(v)} == {_text(x)}",
    "EqualsIgnoreCase": lambda v, x: f"lower({_text(v)}) == lower({_text(x)})",
    "StartsWith": lambda v, x: f"starts_with({_text(v)}, {_text(x)})",
    "EndsWith": lambda v, x: f"ends_with({_text(v)}, {_text(x)})",
    "Contains": lambda v, x: f"contains({v}, {x})",
    "NumericEquals": lambda v, x: f"{_number(v)} == {_number(x)}",
    "NumericGreater": lambda v, x: f"{_number(v)} > {_number(x)}",
    "NumericLesser": lambda v, x: f"{_number(v)} < {_number(x)}",
    "NumericGreaterOrEquals": lambda v, x: f"{_number(v)} >= {_number(x)}",
    "NumericLesserOrEquals": lambda v, x: f"{_number(v)} <= {_number(x)}",
    "BooleanEquals": lambda v, x: f"{v} == {x}",
}


def _as_path(value: str) -> str:
    """A bound value (a `${{ }}` reference or a literal) as a JMESPath expression."""
    whole = re.fullmatch(r"\$\{\{\s*(params|steps)\.([^{}]+?)\s*\}\}", value)
    if whole:
        parts = whole.group(2).split(".")
        return whole.group(1) + "".join(f'."{p}"' for p in parts)
    return _literal(value)


def _either(old: list[str] | None, new: list[str] | None) -> list[str] | None:
    """One more way to reach a step."""
    if old is None or new is None:
        return None
    return [*old, *new]


def is_automation(data: Any) -> bool:
    """Whether parsed YAML/JSON is an SSM Automation document."""
    return (
        isinstance(data, dict)
        and str(data.get("schemaVersion")) == "0.3"
        and isinstance(data.get("mainSteps"), list)
    )


def runbook_name(stem: str) -> str:
    """`AWS-RestartECSService` -> `aws-restartecsservice` (the native name pattern)."""
    name = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-_")
    return (name or "automation")[:64]


def step_name(name: str) -> str:
    """`ChangeTaskDefinition` -> `change-task-definition`."""
    kebab = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", str(name))
    return runbook_name(kebab)


def snake(api: str) -> str:
    """`UpdateService` -> `update_service` (boto3's method name)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", api).lower()


def selector_path(selector: str, where: str) -> str:
    """`$.Services[0].DesiredCount` -> `Services[0].DesiredCount` (JMESPath).

    SSM also takes a PropertySelector without `$.` (`Attributes.KmsMasterKeyId`, as AWS's own
    documents write it): the same path.
    """
    text = str(selector).strip()
    if text.startswith("$.."):
        name = text[3:]
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ValidationError(f"{where}: recursive selector {text!r} is not supported")
        return f"descendants(@, '{name}')"  # every {name} at any depth, as JSONPath gives them
    if text == "$":
        return "@"
    if text.startswith("$.") and ".." in text[2:]:
        # `$.A..B.C`: every B at any depth under A, and of each its C (as JSONPath has it).
        found = re.fullmatch(r"\$\.(.+?)\.\.([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)", text)
        if not found:
            raise ValidationError(f"{where}: recursive selector {text!r} is not supported")
        base = selector_path("$." + found.group(1), where)
        rest = f"[].{found.group(3)[1:]}" if found.group(3) else ""
        return f"descendants({base}, '{found.group(2)}'){rest}"
    if text.startswith("$."):
        text = text[2:]
    if not re.fullmatch(r"[A-Za-z_][\w-]*(\[\d+\]|\.[A-Za-z_][\w-]*)*", text):
        raise ValidationError(f"{where}: selector {selector!r} is not a $.a.b[0].c path")
    return ".".join(
        part if re.fullmatch(r"[A-Za-z_]\w*(\[\d+\])*", part) else _quoted(part)
        for part in text.split(".")
    )


def _quoted(part: str) -> str:
    """`dash-name[0]` -> `"dash-name"[0]` (JMESPath quotes names with other characters)."""
    name, _, rest = part.partition("[")
    return f'"{name}"' + (f"[{rest}" if rest else "")


def python_pattern(pattern: str, where: str) -> str:
    """An allowedPattern (Java's regex syntax, as SSM reads it) as Python's.

    Java writes a character beyond U+FFFF as a UTF-16 surrogate pair (`\\uD800\\uDC00`);
    Python reads each half as a character of its own (and a range between halves as reversed).
    """

    def pair(match: re.Match[str]) -> str:
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"

    def posix(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in _JAVA_CLASSES:
            raise ValidationError(
                f"{where}: allowedPattern {pattern!r}: \\p{{{name}}} is not supported"
            )
        inner = _JAVA_CLASSES[name]
        return f"[^{inner}]" if match.group(1) == "P" else f"[{inner}]"

    if "&&" in pattern:
        raise ValidationError(
            f"{where}: allowedPattern {pattern!r}: Java's class intersection (&&) is not"
            " supported; nothing was run"
        )
    text = re.sub(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", pair, pattern, flags=re.I)
    text = re.sub(r"\\Q(.*?)(?:\\E|$)", lambda m: re.escape(m.group(1)), text)
    text = re.sub(r"\\([pP])\{(\w+)\}", posix, text)
    text = re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", text)
    # Java's \w, \d, \s are ASCII; Python's are Unicode unless told.
    text = "(?a)" + text
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a construct Python reads otherwise than Java
            re.compile(text)
    except (re.error, FutureWarning) as exc:
        raise ValidationError(
            f"{where}: allowedPattern {pattern!r} is not a regex hybridops reads as SSM does"
            f" ({exc})"
        ) from None
    return text


# Java's POSIX classes (\p{Alpha}) as the contents of a Python character class.
_JAVA_CLASSES = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7F",
    "Alpha": "A-Za-z",
    "Digit": "0-9",
    "Alnum": "A-Za-z0-9",
    "Punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0B\\f\\r",
    "Blank": " \\t",
}


DOCUMENTS_ENV = "HYBRIDOPS_SSM_DOCUMENTS"


def find_document(name: str, here: Path, where: str) -> Path:
    """aws:executeAutomation's DocumentName: a path (relative to the document running it), or a
    name looked up beside it, then in the folders of $HYBRIDOPS_SSM_DOCUMENTS (os.pathsep)."""
    import os

    if "/" in name or name.endswith((".yaml", ".yml", ".json")):
        path = (here / name).resolve()
        if not path.is_file():
            raise ValidationError(f"{where}: document {name} not found ({path}); nothing was run")
        return path
    if not _NAME_RE.match(name.replace("-", "_").replace(".", "_")):
        raise ValidationError(f"{where}: DocumentName {name!r} is not a document name")
    folders = [here, *(Path(d) for d in os.environ.get(DOCUMENTS_ENV, "").split(os.pathsep) if d)]
    for folder in folders:
        for ext in (".yaml", ".yml", ".json"):
            if (folder / f"{name}{ext}").is_file():
                return folder / f"{name}{ext}"
    raise ValidationError(
        f"{where}: document {name} not found beside {here} or in ${DOCUMENTS_ENV}"
        " (.yaml, .yml or .json; SSM's own documents are not fetched); nothing was run"
    )


def param_type(ssm_type: str) -> str | None:
    """SSM's parameter type as the native one (`AWS::IAM::Role::Arn`: a string)."""
    if ssm_type in PARAM_TYPES:
        return PARAM_TYPES[ssm_type]
    # SSM checks these resources exist before it runs; hybridops passes them as text.
    if re.fullmatch(r"AWS::[A-Za-z0-9:]+", ssm_type):
        return "string"
    if re.fullmatch(r"List<AWS::[A-Za-z0-9:]+>", ssm_type):
        return "list"
    return None


def flag(value: Any, *, default: bool) -> bool:
    """isEnd/isCritical: true, false, or the text 'true'/'false' (as some documents write it)."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def desired_values(values: list[Any]) -> list[Any]:
    """DesiredValues, compared as SSM does: a JSON true is the text 'True' too."""
    out = list(values)
    for value in values:
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            out.append(value.strip().lower() == "true")
    return out


def seconds(duration: str, where: str) -> float:
    """ISO 8601 `PT5M` -> 300.0."""
    found = _DURATION_RE.match(str(duration).strip())
    if not found or not any(found.groupdict().values()):
        raise ValidationError(f"{where}: Duration {duration!r} is not an ISO 8601 duration")
    parts = {k: float(v or 0) for k, v in found.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


class Converter:
    """One document's conversion: its parameters and step names decide its templates."""

    def __init__(
        self,
        data: dict[str, Any],
        source: str,
        *,
        prefix: str = "",
        bindings: dict[str, Any] | None = None,
        parent: Converter | None = None,
    ) -> None:
        self.data = data
        self.source = source
        # A nested document (aws:executeAutomation) is inlined: its steps are named under the
        # step that runs it, and its parameters are what that step passes (else their defaults).
        self.prefix = prefix
        self.bindings = bindings
        self.parent = parent
        self.params = set((data.get("parameters") or {}).keys())
        # Native names are unique across the whole run (nested documents too): `ReadA` and
        # `readA` are two SSM steps, so one of them gets a suffix.
        self.used: set[str] = (
            parent.used if parent else {"assume-role", GLOBALS_STEP, "check-parameters"}
        )
        self.steps: dict[str, str] = {}
        for raw in data["mainSteps"]:
            base = prefix + step_name(raw.get("name", ""))
            name, n = base, 1
            while name in self.used:
                n += 1
                name = f"{base[:60]}-{n}"
            self.used.add(name)
            self.steps[str(raw.get("name"))] = name
        self.globals_used: set[str] = parent.globals_used if parent else set()
        self.gotos: dict[str, list[dict[str, Any]]] = {}  # backward jumps: see flow()
        self.child_loops = False  # the nested document just inlined has a loop (at any depth)
        self.nested_loops = False  # some nested document, at any depth, has a loop
        self.stack: tuple[str, ...] = (*(parent.stack if parent else ()), source)

    def template(self, value: Any, where: str) -> Any:
        """`{{ X }}` references as `${{ ... }}`, recursively."""
        if isinstance(value, dict):
            return {k: self.template(v, where) for k, v in value.items()}
        if isinstance(value, list):
            return [self.template(v, where) for v in value]
        if not isinstance(value, str):
            return value
        if "${{" in value:
            # Read as a native reference, it could pull env.* (a webhook URL, say) into a call.
            raise ValidationError(
                f"{where}: {value!r} contains '${{{{', which hybridops would read as a reference"
            )
        whole = _TEMPLATE_RE.fullmatch(value.strip())
        if whole and self.bindings is not None and whole.group(1) in self.params:
            return self.bound(whole.group(1), where, typed=True)  # keeps an Integer an integer
        return _TEMPLATE_RE.sub(lambda m: self._reference(m.group(1), where), value)

    def _reference(self, ref: str, where: str) -> str:
        if not _REFERENCE_RE.match(ref):
            raise ValidationError(f"{where}: {{{{ {ref} }}}} is not a reference SSM allows")
        if ref in self.params:
            if self.bindings is not None:
                return self.bound(ref, where)
            return f"${{{{ params.{ref} }}}}"
        if ref == "global:REGION":
            return "${{ env.region }}"
        if ref == "automation:EXECUTION_ID":
            return "${{ run.id }}"
        if ref in GLOBALS:
            self.globals_used.add(ref)
            return f"${{{{ steps.{GLOBALS_STEP}.outputs.{GLOBALS[ref]} }}}}"
        step, _, output = ref.partition(".")
        if output and step in self.steps:
            return f"${{{{ steps.{self.steps[step]}.outputs.{output} }}}}"
        raise ValidationError(f"{where}: {{{{ {ref} }}}} is not supported or names nothing")

    def bound(self, name: str, where: str, *, typed: bool = False) -> Any:
        """A nested document's parameter: what the running step passes, else its default.

        `typed`: the value as it is (an Integer stays an integer), for a value that is exactly
        the reference; otherwise its text, for a reference inside a longer string.
        """
        assert self.bindings is not None
        if name in self.bindings:
            value = self.bindings[name]
            if isinstance(value, list) and len(value) == 1:
                value = value[0]  # SSM passes RuntimeParameters as lists
        else:
            spec = (self.data.get("parameters") or {}).get(name) or {}
            if "default" not in spec:
                raise ValidationError(f"{where}: parameter {name} is required and not passed")
            value = spec["default"]
        if typed or isinstance(value, str):
            return value
        import json

        return json.dumps(value)

    def nested(self, raw: dict[str, Any], where: str) -> list[dict[str, Any]]:
        """aws:executeAutomation: the document it names (see find_document), inlined."""
        from pathlib import Path as _Path

        from hybridops.yamlsource import load_yaml_file

        inputs = raw.get("inputs") or {}
        name = str(inputs.get("DocumentName", ""))
        others = sorted(set(inputs) - {"DocumentName", "RuntimeParameters"})
        if others:
            # Other accounts and regions, rate control, a document version: not what a local
            # inlined run does, so not silently dropped.
            raise ValidationError(
                f"{where}: {', '.join(others)} on aws:executeAutomation is not supported (the"
                " nested document runs inlined, here, once); nothing was run"
            )
        found = find_document(name, _Path(self.source).parent, where)
        if found.resolve() in {_Path(x).resolve() for x in self.stack} or len(self.stack) > 3:
            raise ValidationError(f"{where}: {name} runs itself (or nests too deep)")
        data = load_yaml_file(found)
        if not is_automation(data):
            raise ValidationError(f"{where}: {found} is not an Automation document")
        check_shape(data, str(found))
        bindings = {
            str(k): self.template(v, where)
            for k, v in (inputs.get("RuntimeParameters") or {}).items()
        }
        child = Converter(
            data,
            str(found),
            prefix=f"{self.steps[str(raw.get('name'))]}-",
            bindings=bindings,
            parent=self,
        )
        unknown = sorted(set(bindings) - child.params)
        if unknown:
            raise ValidationError(f"{where}: {name} has no parameter {unknown[0]}")
        # Credentials are the run's: a nested document runs as its parent does, or not at all.
        role = str(data.get("assumeRole") or "").strip()
        mine = str(self.root().data.get("assumeRole") or "").strip()
        if role:
            as_child = child.template(role, where)
            as_parent = self.root().template(mine, where) if mine else ""
            if as_child not in ("", as_parent):
                raise ValidationError(
                    f"{where}: {name} assumes a role of its own ({role}), which is not"
                    " supported: pass it the parent's role, or leave it empty; nothing was run"
                )
        body = child.body()
        # Any loop at any depth below this step (not only the last nested document's).
        self.child_loops = bool(child.gotos) or child.nested_loops
        self.nested_loops = self.nested_loops or self.child_loops
        rules = child.all_rules()
        if rules:
            # What the child's parameters allow, checked on what this step passes (SSM checks
            # a nested execution's parameters too).
            check = f"{self.steps[str(raw.get('name'))]}-check-parameters"
            while check in self.used:
                check += "-2"
            self.used.add(check)
            values = {n: child.bound(n, where, typed=True) for n in rules}
            body.insert(
                0,
                {
                    "name": check,
                    "description": f"{name}'s parameter rules, on what is passed",
                    "action": {
                        "name": "ssm.check_parameters",
                        "inputs": {"rules": rules, "values": values},
                    },
                },
            )
        return body

    def all_rules(self) -> dict[str, dict[str, Any]]:
        """Every parameter rule (for a nested document, whose parameters are not native ones)."""
        out = self.list_rules()
        for name, spec in (self.data.get("parameters") or {}).items():
            where = f"{self.source}: parameter {name}"
            rules = out.setdefault(str(name), {})
            if spec.get("allowedValues"):
                rules["allowedValues"] = list(spec["allowedValues"])
            if spec.get("allowedPattern"):
                rules["allowedPattern"] = python_pattern(str(spec["allowedPattern"]), where)
            if not rules:
                del out[str(name)]
        return out

    def root(self) -> Converter:
        """The document the run started from."""
        return self.parent.root() if self.parent else self

    def list_rules(self) -> dict[str, dict[str, Any]]:
        """What the native parameter checks do not say: per item, lengths, item counts."""
        out: dict[str, dict[str, Any]] = {}
        for name, spec in (self.data.get("parameters") or {}).items():
            where = f"{self.source}: parameter {name}"
            rules = {
                k: spec[k] for k in ("minChars", "maxChars", "minItems", "maxItems") if k in spec
            }
            if param_type(str(spec.get("type", "String"))) == "list":
                if spec.get("allowedValues"):
                    rules["allowedValues"] = list(spec["allowedValues"])
                if spec.get("allowedPattern"):
                    rules["allowedPattern"] = python_pattern(str(spec["allowedPattern"]), where)
            if rules:
                out[str(name)] = rules
        return out

    def parameters(self) -> dict[str, Any]:
        """SSM parameters as native ones (typed and checked the same way)."""
        out: dict[str, Any] = {}
        for name, spec in (self.data.get("parameters") or {}).items():
            where = f"{self.source}: parameter {name}"
            kind = param_type(str(spec.get("type", "String")))
            if kind is None:
                raise ValidationError(f"{where}: type {spec.get('type')!r} is not supported")
            native: dict[str, Any] = {"type": kind}
            if spec.get("description"):
                native["description"] = " ".join(str(spec["description"]).split())
            if "default" in spec:
                if "${{" in repr(spec["default"]):
                    raise ValidationError(f"{where}: the default contains '${{{{'")
                native["default"] = spec["default"]
            else:
                native["required"] = True
            if spec.get("allowedValues") and kind in ("string", "integer", "list"):
                native["enum"] = list(spec["allowedValues"])
            for ssm_key, native_key in (
                ("minChars", "min_length"),
                ("maxChars", "max_length"),
                ("minItems", "min_items"),
                ("maxItems", "max_items"),
            ):
                if ssm_key in spec:
                    native[native_key] = int(spec[ssm_key])
            if spec.get("allowedPattern") and kind in ("string", "list"):
                pattern = python_pattern(str(spec["allowedPattern"]), where)
                default = spec.get("default")
                if isinstance(default, str) and not re.fullmatch(pattern, default):
                    # SSM checks the pattern against values given, never against the default.
                    inner = pattern.removeprefix("(?a)")
                    pattern = f"(?a)(?:{inner})|\\A{re.escape(default)}\\Z"
                native["pattern"] = pattern
            out[name] = native
        return out

    def api_call(self, inputs: dict[str, Any], where: str) -> dict[str, Any]:
        """Service/Api/parameters as a native `aws` call."""
        service = str(inputs.get("Service", "")).lower()
        api = str(inputs.get("Api", ""))
        if not service or not api:
            raise ValidationError(f"{where}: inputs need Service and Api")
        skip = {"Service", "Api", "PropertySelector", "DesiredValues"}
        params = {k: self.template(v, where) for k, v in inputs.items() if k not in skip}
        return {
            "service": SERVICE_NAMES.get(service, service),
            "operation": snake(api),
            "params": params,
        }

    def step(self, raw: dict[str, Any]) -> dict[str, Any]:
        """One mainStep as one native step."""
        name = str(raw.get("name", ""))
        action = str(raw.get("action", ""))
        where = f"{self.source}: step {name} ({action})"
        if action not in SUPPORTED_ACTIONS:
            raise ValidationError(
                f"{where}: action {action} is not supported (supported: "
                f"{', '.join(SUPPORTED_ACTIONS)}); nothing was run"
            )
        failure = str(raw.get("onFailure", "Abort"))
        if action in ("aws:approve", "aws:pause") and failure != "Abort":
            # A declined confirmation ends a hybridops run refused (exit 3): never a branch.
            raise ValidationError(
                f"{where}: onFailure {failure} on an approval is not supported (declined, the"
                " run ends refused); nothing was run"
            )
        inputs = raw.get("inputs") or {}
        step: dict[str, Any] = {"name": self.steps[name]}
        if raw.get("description"):
            step["description"] = " ".join(str(raw["description"]).split())
        if failure == "Continue" or failure.startswith("step:"):
            # step:X: the run goes on, and flow() sends control to X when this step failed.
            step["on_failure"] = "continue"
            if not flag(raw.get("isCritical"), default=True):
                step["critical"] = False
        cancel = self._jump(raw.get("onCancel"), "onCancel", where)
        names = [str(r.get("name")) for r in self.data["mainSteps"]]
        if cancel is not None and names.index(cancel) <= names.index(name):
            # Interrupted, the run does its cleanup and ends: it never goes round again.
            raise ValidationError(
                f"{where}: onCancel step:{cancel} goes back to an earlier step, which is not"
                " supported (a cancelled run does not loop); nothing was run"
            )
        if cancel is not None:
            step["on_cancel"] = "\0" + cancel  # the steps reachable from it: see body()
        attempts = int(raw.get("maxAttempts", 1))
        if attempts > 1:
            if attempts > 101:
                raise ValidationError(
                    f"{where}: maxAttempts {attempts} is over 101; nothing was run"
                )
            step["retries"] = attempts - 1
        timeout = raw.get("timeoutSeconds")
        if action == "aws:executeAwsApi":
            step["aws"] = self.api_call(inputs, where)
            outputs = {}
            for output in raw.get("outputs") or []:
                outputs[str(output["Name"])] = selector_path(output["Selector"], where)
            if outputs:
                step["outputs"] = outputs
            if timeout:
                step["timeout_s"] = float(timeout)
        elif action in ("aws:waitForAwsResourceProperty", "aws:assertAwsResourceProperty"):
            path = selector_path(inputs.get("PropertySelector", ""), where)
            wanted = desired_values(self.template(list(inputs.get("DesiredValues") or []), where))
            call = self.api_call(inputs, where)
            if action == "aws:assertAwsResourceProperty":
                step["aws"] = call
                step["expect"] = {path: wanted}
            else:
                step["wait"] = {
                    "aws": call,
                    "until": {path: wanted},
                    "timeout_s": float(timeout or 3600),
                    "interval_s": 5,
                }
        elif action == "aws:executeScript":
            step["action"] = self.script(inputs, timeout, where)
            # What the script printed goes with the step's outputs: to the journal and -o json.
            outputs = {"printed": "output"}
            for output in raw.get("outputs") or []:
                outputs[str(output["Name"])] = selector_path(output["Selector"], where)
            if outputs:
                step["outputs"] = outputs
        elif action == "aws:branch":
            # The choice itself is made by the `when` of the steps it leads to (see flow()).
            step["sleep"] = {"seconds": 0}
            step.setdefault("description", "aws:branch: the steps it leads to run, the others not")
        elif action == "aws:sleep":
            duration = inputs.get("Duration", "")
            if "{{" in str(duration):
                # Known when the run gets there: parsed then (a bad value fails the step).
                templated = self.template(str(duration), where)
                step["action"] = {"name": "ssm.sleep", "inputs": {"duration": templated}}
            elif seconds(duration, where) > 7 * 86400:
                raise ValidationError(f"{where}: Duration {duration} is over SSM's 7 days")
            elif seconds(duration, where) > 3600:
                # Past the native sleep's hour: the action, which takes up to SSM's 7 days.
                step["action"] = {"name": "ssm.sleep", "inputs": {"duration": str(duration)}}
            else:
                step["sleep"] = {"seconds": seconds(duration, where)}
        else:  # aws:approve, aws:pause: a person says go
            message = inputs.get("Message") or f"{name}: approve to continue"
            step["confirm"] = {"message": self.template(str(message), where)}
        return step

    def runbook(self, name: str) -> dict[str, Any]:
        """The native runbook (a mapping, validated by the loader like any runbook)."""
        role = str(self.data.get("assumeRole") or "")
        out: dict[str, Any] = {
            "name": name,
            "description": " ".join(str(self.data.get("description") or "").split())
            or f"SSM Automation document {name}",
        }
        parameters = self.parameters()
        if parameters:
            out["parameters"] = parameters
        steps = []
        if role.strip():
            # Run as the document says: AssumeRole first (an empty value: the environment's
            # own credentials, said in the step's outputs).
            steps.append(
                {
                    "name": "assume-role",
                    "description": "Run as the document's assumeRole (empty: as yourself)",
                    "action": {
                        "name": "ssm.assume_role",
                        "inputs": {
                            "role": self.template(role.strip(), f"{self.source}: assumeRole")
                        },
                    },
                    "outputs": {"runs_as": "runs_as"},
                }
            )
        converted = self.body()
        if self.globals_used:
            steps.insert(
                0,
                {
                    "name": GLOBALS_STEP,
                    "description": "What the document reads as {{ global:... }}",
                    "action": {
                        "name": "ssm.globals",
                        "inputs": {"account_id": "global:ACCOUNT_ID" in self.globals_used},
                    },
                    "outputs": {"account_id": "account_id", "date_time": "date_time"},
                },
            )
        steps += converted
        out["steps"] = steps
        outputs = self.outputs()
        if role.strip():
            # Said after the run, to a person too: whose credentials made the changes.
            outputs = {"runs as": 'steps."assume-role".outputs.runs_as', **outputs}
        if outputs:
            out["report"] = [{"title": "Outputs", "fields": outputs}]
        return out

    def script(self, inputs: dict[str, Any], timeout: Any, where: str) -> dict[str, Any]:
        """aws:executeScript as the `ssm.execute_script` action (Python runtimes only)."""
        runtime = str(inputs.get("Runtime", ""))
        if not runtime.startswith("python"):
            raise ValidationError(f"{where}: Runtime {runtime!r} is not supported (Python only)")
        script = inputs.get("Script")
        if not isinstance(script, str) or not script.strip():
            raise ValidationError(f"{where}: a Script in the document is needed (attachments are"
                                  " not supported)")  # fmt: skip
        if "${{" in script:
            raise ValidationError(f"{where}: the Script contains '${{{{', which hybridops reads"
                                  " as a reference")  # fmt: skip
        return {
            "name": "ssm.execute_script",
            "inputs": {
                "script": script,
                "handler": str(inputs.get("Handler", "")),
                "payload": self.template(inputs.get("InputPayload") or {}, where),
                "timeout_s": float(timeout or 600),
            },
        }

    # -- control flow: aws:branch, nextStep, isEnd ------------------------------------------
    def flow(self) -> list[str | None]:
        """Each step's `when`: the condition under which control reaches it (None: always).

        A forward jump is a condition on the steps it leads to: what a step's choice depends
        on (parameters, earlier outputs) does not change after it, so the choice can be made
        again where it leads. A jump backward (a loop) is the step's `goto` (in self.gotos),
        taken after it ran; the step it goes to runs when `run.jumped_to` names it.
        """
        raws = self.data["mainSteps"]
        index = {str(r.get("name")): i for i, r in enumerate(raws)}
        reach: list[list[str] | None] = [[] for _ in raws]  # None: always reached
        reach[0] = None
        back: list[tuple[int, int, str | None]] = []  # (from, to, condition)
        for i, raw in enumerate(raws):
            where = f"{self.source}: step {raw.get('name')} ({raw.get('action')})"
            for target, condition in self._edges(raw, i, index, where):
                if target > i:
                    continue
                if raws[target].get("action") == "aws:executeAutomation":
                    raise ValidationError(
                        f"{where}: a jump back to {raws[target].get('name')}, an"
                        " aws:executeAutomation step, is not supported; nothing was run"
                    )
                back.append((i, target, condition))
                jumped = f"run.jumped_to == {_literal(self.steps[str(raws[target].get('name'))])}"
                reach[target] = _either(reach[target], [jumped])
        self.gotos = {}
        for source, target, condition in back:
            jump: dict[str, Any] = {"step": self.steps[str(raws[target].get("name"))]}
            if condition is not None:
                jump["when"] = condition
            self.gotos.setdefault(str(raws[source].get("name")), []).append(jump)
        for i, raw in enumerate(raws):
            here = reach[i]
            if here == []:
                continue  # never reached
            where = f"{self.source}: step {raw.get('name')} ({raw.get('action')})"
            for target, condition in self._edges(raw, i, index, where):
                if target <= i:
                    continue  # a goto (above)
                # With a loop, "always reached" holds for the first pass only: after a jump
                # back, control comes from the steps run since, so every way says which.
                always = here is None and not self.gotos
                if always and condition is None:
                    way = None
                else:
                    # "Step i ran" stands for every way to reach it: the formulas stay linear
                    # in the number of steps however many branches meet.
                    ran = self._ran(str(raw.get("name")))
                    parts = ([] if always else [ran]) + ([condition] if condition else [])
                    way = [" && ".join(f"({part})" for part in parts)]
                reach[target] = _either(reach[target], way)
        out: list[str | None] = []
        for i, formula in enumerate(reach):
            if formula is None:
                out.append(None)
            elif formula == []:
                out.append("`false`")  # no path leads here
            else:
                text = " || ".join(f"({part})" for part in formula)
                if len(text) > 4000:
                    raise ValidationError(
                        f"{self.source}: step {raws[i].get('name')}: the branches leading to it"
                        " are too many to express; nothing was run"
                    )
                out.append(text)
        return out

    def _ran(self, name: str) -> str:
        """A JMESPath true once the step ran (whatever its outcome), false if it was skipped.

        In a document with a loop: ran since the last jump, as control never comes again from
        a step run before a jump back (until the loop runs that step again).
        """
        statuses = "'succeeded', 'failed', 'timed_out', 'planned', 'unverified', 'interrupted'"
        step = f'steps."{self.steps[name]}"'
        ran = f"contains([{statuses}], {step}.status)"
        return f"{ran} && {step}.jumps == run.jumps" if self.gotos else ran

    def _jump(self, value: Any, key: str, where: str) -> str | None:
        """`onFailure`/`onCancel`: the step `step:X` names (None for Abort, Continue)."""
        text = str(value or "Abort").strip()
        if text in ("Abort", "Continue") and not (key == "onCancel" and text == "Continue"):
            return None
        if not text.startswith("step:") or text[5:] not in self.steps:
            allowed = "Abort or step:NAME" if key == "onCancel" else "Abort, Continue or step:NAME"
            raise ValidationError(f"{where}: {key} {text!r} is not {allowed} naming a step")
        return text[5:]

    def _edges(
        self, raw: dict[str, Any], i: int, index: dict[str, int], where: str, cancel: bool = True
    ) -> list[tuple[int, str | None]]:
        """(target step, condition or None) for each way control leaves step i."""

        def target(name: Any) -> int:
            if str(name) not in index:
                raise ValidationError(f"{where}: nextStep {name!r} names no step")
            return index[str(name)]

        status = f'steps."{self.steps[str(raw.get("name"))]}".status'
        extra: list[tuple[int, str | None]] = []
        on_failure = self._jump(raw.get("onFailure"), "onFailure", where)
        on_cancel = self._jump(raw.get("onCancel"), "onCancel", where)
        guards: list[str] = []  # what the normal ways out need: the step ended as it should
        if on_cancel is not None and cancel:
            extra.append((target(on_cancel), f"{status} == 'interrupted'"))
            guards.append(f"{status} != 'interrupted'")
        if on_failure is not None:
            failed = f"contains(['failed', 'timed_out'], {status})"
            extra.append((target(on_failure), failed))
            guards.append(f"!({failed})")
        normal = self._normal_edges(raw, i, index, where, target)
        if guards:
            guard = " && ".join(guards)
            normal = [(t, guard if c is None else f"({guard}) && ({c})") for t, c in normal]
        return normal + extra

    def _normal_edges(
        self, raw: dict[str, Any], i: int, index: dict[str, int], where: str, target: Any
    ) -> list[tuple[int, str | None]]:
        """Where control goes when step i ends as it should."""
        if raw.get("action") == "aws:branch":
            inputs = raw.get("inputs") or {}
            edges: list[tuple[int, str | None]] = []
            taken: list[str] = []
            for choice in inputs.get("Choices") or []:
                condition = self.choice(choice, where)
                guard = " && ".join([f"!({t})" for t in taken] + [f"({condition})"])
                edges.append((target(choice.get("NextStep")), guard))
                taken.append(condition)
            rest = " && ".join(f"!({t})" for t in taken) or None
            if inputs.get("Default"):
                edges.append((target(inputs["Default"]), rest))
            elif not flag(raw.get("isEnd"), default=False) and i + 1 < len(self.data["mainSteps"]):
                # No choice holds and no Default: SSM goes on with the next step.
                edges.append((i + 1, rest))
            return edges
        if flag(raw.get("isEnd"), default=False):
            return []
        if raw.get("nextStep"):
            return [(target(raw["nextStep"]), None)]
        return [(i + 1, None)] if i + 1 < len(self.data["mainSteps"]) else []

    def choice(self, choice: dict[str, Any], where: str) -> str:
        """One of aws:branch's Choices (And/Or/Not or a typed comparison) as JMESPath."""
        if "And" in choice:
            return " && ".join(f"({self.choice(c, where)})" for c in choice["And"])
        if "Or" in choice:
            return " || ".join(f"({self.choice(c, where)})" for c in choice["Or"])
        if "Not" in choice:
            return f"!({self.choice(choice['Not'], where)})"
        variable = self.variable(choice.get("Variable"), where)
        for operator, value in choice.items():
            if operator in ("Variable", "NextStep"):
                continue
            if operator not in COMPARATORS:
                raise ValidationError(f"{where}: comparator {operator} is not supported")
            return COMPARATORS[operator](variable, self.operand(operator, value, where))
        raise ValidationError(f"{where}: a choice needs a comparator")

    def operand(self, operator: str, value: Any, where: str) -> str:
        """A choice's value as JMESPath: a typed literal, or what a `{{ reference }}` names."""
        if isinstance(value, str) and "{{" in value:
            if _TEMPLATE_RE.fullmatch(value.strip()):
                return self.variable(value, where)
            # Text around references: joined, as SSM renders it.
            parts: list[str] = []
            last = 0
            for found in _TEMPLATE_RE.finditer(value):
                if found.start() > last:
                    parts.append(_literal(value[last : found.start()]))
                parts.append(_text(self.variable(found.group(0), where)))
                last = found.end()
            if last < len(value):
                parts.append(_literal(value[last:]))
            return f"join('', [{', '.join(parts)}])"
        if operator.startswith("Numeric"):
            return _literal(float(value))
        if operator == "BooleanEquals":
            text = str(value).strip().lower()
            return _literal(value if isinstance(value, bool) else text == "true")
        if operator == "Contains":
            return _literal(value)
        return _literal(str(value))

    def variable(self, text: Any, where: str) -> str:
        """`{{ Step.Output }}` or `{{ Param }}` as a JMESPath over {params, steps}."""
        found = _TEMPLATE_RE.fullmatch(str(text or "").strip())
        if not found:
            raise ValidationError(f"{where}: Variable {text!r} must be one {{{{ }}}} reference")
        ref = found.group(1)
        if not _REFERENCE_RE.match(ref):
            raise ValidationError(f"{where}: Variable {{{{ {ref} }}}} is not a reference")
        if ref in self.params:
            if self.bindings is not None:
                bound = self.bound(ref, where, typed=True)
                return _as_path(bound) if isinstance(bound, str) else _literal(bound)
            return f'params."{ref}"'
        if ref == "global:REGION":
            return "env.region"
        if ref == "automation:EXECUTION_ID":
            return "run.id"
        if ref in GLOBALS:
            self.globals_used.add(ref)
            return f'steps."{GLOBALS_STEP}".outputs."{GLOBALS[ref]}"'
        step, _, output = ref.partition(".")
        if output and step in self.steps:
            return f'steps."{self.steps[step]}".outputs."{output}"'
        raise ValidationError(f"{where}: Variable {{{{ {ref} }}}} names nothing")

    def body(self) -> list[dict[str, Any]]:
        """Every step, nested documents inlined, each under the condition control reaches it."""
        out: list[dict[str, Any]] = []
        natives_of: dict[str, list[str]] = {}
        for raw, reach in zip(self.data["mainSteps"], self.flow(), strict=True):
            where = f"{self.source}: step {raw.get('name')} ({raw.get('action')})"
            if raw.get("action") == "aws:executeAutomation":
                unsupported = [
                    key
                    for key in ("onCancel", "maxAttempts", "timeoutSeconds", "isCritical")
                    if key in raw
                ]
                if str(raw.get("onFailure", "Abort")) != "Abort":
                    unsupported.insert(0, "onFailure")
                if unsupported:
                    # The nested steps are inlined: a failure inside is the parent's failure
                    # (Abort), and there is no single step to retry, time or cancel.
                    raise ValidationError(
                        f"{where}: {', '.join(unsupported)} on aws:executeAutomation is not"
                        " supported (the nested document is inlined); nothing was run"
                    )
                inlined = self.nested(raw, where)
                if self.child_loops and self.gotos and reach is not None:
                    # Its steps would carry this document's "ran since the last jump", which
                    # the nested loop's own jumps make false.
                    raise ValidationError(
                        f"{where}: a nested document with a loop, run under a condition in a"
                        " document with a loop, is not supported; nothing was run"
                    )
                # Its steps, then a marker with its own name: what follows tests that it ran.
                natives = [
                    *inlined,
                    {
                        "name": self.steps[str(raw.get("name"))],
                        "description": f"{raw.get('name')}: the nested document ran",
                        "sleep": {"seconds": 0},
                    },
                ]
            else:
                natives = [self.step(raw)]
            natives_of[str(raw.get("name"))] = [n["name"] for n in natives]
            if str(raw.get("name")) in self.gotos:
                # Taken after the step (a nested document: after its last step) ran.
                natives[-1]["goto"] = self.gotos[str(raw.get("name"))]
            for native in natives:
                inner = native.get("when")
                if reach is not None and inner is not None:
                    native["when"] = f"({reach}) && ({inner})"
                elif reach is not None:
                    native["when"] = reach
                out.append(native)
        # onCancel step:X: X and every step control can reach from it, in order (each under
        # its `when`) — and nothing else, as SSM goes on from X.
        for native in out:
            target = native.get("on_cancel")
            if isinstance(target, str) and target.startswith("\0"):
                reachable = self.reachable(target[1:])
                native["on_cancel"] = [n for raw in reachable for n in natives_of[raw]]
        return out

    def reachable(self, start: str) -> list[str]:
        """The steps control can reach from `start` (itself included), in document order."""
        raws = self.data["mainSteps"]
        index = {str(r.get("name")): i for i, r in enumerate(raws)}
        seen: set[int] = set()
        stack = [index[start]]
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            where = f"{self.source}: step {raws[i].get('name')}"
            stack.extend(t for t, _ in self._edges(raws[i], i, index, where, cancel=False))
        return [str(raws[i].get("name")) for i in sorted(seen)]

    def outputs(self) -> dict[str, str]:
        """Document-level `outputs` (`Step.Output`) as the run's report fields."""
        fields: dict[str, str] = {}
        declared = {
            str(raw.get("name")): {str(o.get("Name")) for o in raw.get("outputs") or []}
            for raw in self.data["mainSteps"]
        }
        for ref in self.data.get("outputs") or []:
            step, _, output = str(ref).partition(".")
            if step not in self.steps or not output:
                raise ValidationError(f"{self.source}: output {ref!r} names no step output")
            if output not in declared.get(step, set()):
                raise ValidationError(
                    f"{self.source}: output {ref!r}: step {step} declares no output {output}"
                    " (its outputs: Name and Selector)"
                )
            fields[str(ref)] = f"${{{{ steps.{self.steps[step]}.outputs.{output} }}}}"
        return fields


def convert(data: dict[str, Any], source: str, stem: str) -> dict[str, Any]:
    """An Automation document as a native runbook mapping; ValidationError names what not."""
    check_shape(data, source)
    try:
        return Converter(data, source).runbook(runbook_name(stem))
    except ValidationError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        # A document of the wrong shape somewhere the checks above do not look: one line.
        raise ValidationError(
            f"{source}: malformed Automation document ({type(exc).__name__}: {exc})"
        ) from None


def check_shape(data: dict[str, Any], source: str) -> None:
    """The shapes the converter relies on, named when they are wrong (exit 2, nothing run)."""
    steps = data.get("mainSteps")
    if not isinstance(steps, list) or not steps:
        raise ValidationError(f"{source}: mainSteps must be a non-empty list of steps")
    names = [raw.get("name") for raw in steps if isinstance(raw, dict)]
    twice = sorted({str(n) for n in names if names.count(n) > 1})
    if twice:
        raise ValidationError(f"{source}: two steps are named {twice[0]}; nothing was run")
    for index, raw in enumerate(steps):
        if not isinstance(raw, dict):
            raise ValidationError(f"{source}: mainSteps[{index}] must be a mapping")
        if not isinstance(raw.get("name"), str) or not _NAME_RE.match(raw["name"]):
            raise ValidationError(f"{source}: mainSteps[{index}] needs a name of [A-Za-z0-9_]")
        for key in ("inputs",):
            if key in raw and not isinstance(raw[key], dict):
                raise ValidationError(f"{source}: step {raw['name']}: {key} must be a mapping")
        for key in ("maxAttempts", "timeoutSeconds"):
            if key in raw and not (isinstance(raw[key], int) and not isinstance(raw[key], bool)):
                raise ValidationError(f"{source}: step {raw['name']}: {key} must be an integer")
        for output in raw.get("outputs") or []:
            if not isinstance(output, dict) or not {"Name", "Selector"} <= set(output):
                raise ValidationError(
                    f"{source}: step {raw['name']}: each output needs Name and Selector"
                )
    params = data.get("parameters") or {}
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        raise ValidationError(f"{source}: parameters must map names to mappings")
    outputs = data.get("outputs") or []
    if not isinstance(outputs, list):
        raise ValidationError(f"{source}: outputs must be a list of Step.Output")


def native_yaml(path: Path) -> str:
    """The native runbook YAML of an Automation document file (validated first)."""
    import yaml

    from hybridops.engine.loader import validate_data
    from hybridops.yamlsource import load_yaml_file

    data = load_yaml_file(path)
    if not is_automation(data):
        raise ValidationError(f"{path}: not an SSM Automation document (schemaVersion 0.3)")
    native = convert(data, str(path), path.stem)
    validate_data(native, str(path))
    header = f"# Converted by `hybridops runbooks import` from {path.name}.\n"
    return header + yaml.safe_dump(native, sort_keys=False, allow_unicode=True, width=100)
