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
    "aws:executeAwsApi",
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
_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
# `{{ global:X }}` read through one first step (`ssm.globals`): its outputs.
GLOBALS = {"global:ACCOUNT_ID": "account_id", "global:DATE_TIME": "date_time"}
GLOBALS_STEP = "ssm-globals"
# Botocore's service names for the namespaces SSM documents use.
SERVICE_NAMES = {"elasticloadbalancingv2": "elbv2", "elasticloadbalancing": "elb"}


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
    """`$.Services[0].DesiredCount` -> `Services[0].DesiredCount` (JMESPath)."""
    text = str(selector).strip()
    if text.startswith("$.."):
        raise ValidationError(f"{where}: recursive selector {text!r} is not supported")
    if text == "$":
        return "@"
    if not text.startswith("$."):
        raise ValidationError(f"{where}: selector {text!r} must start with $.")
    return text[2:]


def seconds(duration: str, where: str) -> float:
    """ISO 8601 `PT5M` -> 300.0."""
    found = _DURATION_RE.match(str(duration).strip())
    if not found or not any(found.groupdict().values()):
        raise ValidationError(f"{where}: Duration {duration!r} is not an ISO 8601 duration")
    parts = {k: float(v or 0) for k, v in found.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


class Converter:
    """One document's conversion: its parameters and step names decide its templates."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source
        self.params = set((data.get("parameters") or {}).keys())
        self.steps = {str(s.get("name")): step_name(s.get("name", "")) for s in data["mainSteps"]}
        self.globals_used: set[str] = set()

    def template(self, value: Any, where: str) -> Any:
        """`{{ X }}` references as `${{ ... }}`, recursively."""
        if isinstance(value, dict):
            return {k: self.template(v, where) for k, v in value.items()}
        if isinstance(value, list):
            return [self.template(v, where) for v in value]
        if not isinstance(value, str):
            return value
        return _TEMPLATE_RE.sub(lambda m: self._reference(m.group(1), where), value)

    def _reference(self, ref: str, where: str) -> str:
        if ref in self.params:
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

    def parameters(self) -> dict[str, Any]:
        """SSM parameters as native ones (typed and checked the same way)."""
        out: dict[str, Any] = {}
        for name, spec in (self.data.get("parameters") or {}).items():
            where = f"{self.source}: parameter {name}"
            kind = PARAM_TYPES.get(str(spec.get("type", "String")))
            if kind is None:
                raise ValidationError(f"{where}: type {spec.get('type')!r} is not supported")
            native: dict[str, Any] = {"type": kind}
            if spec.get("description"):
                native["description"] = " ".join(str(spec["description"]).split())
            if "default" in spec:
                native["default"] = spec["default"]
            else:
                native["required"] = True
            if spec.get("allowedValues") and kind in ("string", "integer"):
                native["enum"] = list(spec["allowedValues"])
            if spec.get("allowedPattern") and kind == "string":
                native["pattern"] = str(spec["allowedPattern"])
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
        for key in ("nextStep", "onCancel"):
            if key in raw:
                raise ValidationError(f"{where}: {key} is not supported; nothing was run")
        failure = str(raw.get("onFailure", "Abort"))
        if failure not in ("Abort", "Continue"):
            raise ValidationError(f"{where}: onFailure {failure} is not supported")
        inputs = raw.get("inputs") or {}
        step: dict[str, Any] = {"name": self.steps[name]}
        if raw.get("description"):
            step["description"] = " ".join(str(raw["description"]).split())
        if failure == "Continue":
            step["on_failure"] = "continue"
        attempts = int(raw.get("maxAttempts", 1))
        if attempts > 1:
            step["retries"] = min(attempts - 1, 10)
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
            wanted = self.template(list(inputs.get("DesiredValues") or []), where)
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
        elif action == "aws:sleep":
            step["sleep"] = {"seconds": seconds(inputs.get("Duration", ""), where)}
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
        role_ref = _TEMPLATE_RE.fullmatch(role.strip())
        if role.strip() and not (role_ref and role_ref.group(1) in self.params):
            raise ValidationError(
                f"{self.source}: assumeRole {role!r} is not supported yet: run with the"
                " credentials of the environment (leave assumeRole empty)"
            )
        if role_ref:
            # Assuming the role is not built yet: a run given one is refused, never run as
            # someone else than it says; empty, the environment's credentials are used.
            steps.append(
                {
                    "name": "assume-role",
                    "description": "An empty role means the environment's own credentials",
                    "assert": {
                        "that": {f"params.{role_ref.group(1)}": ["", None]},
                        "refuse": True,
                        "message": f"{role_ref.group(1)} is given, and assuming a role is not"
                        " supported yet: leave it empty to run with the environment's"
                        " credentials",
                    },
                }
            )
        converted = [self.step(raw) for raw in self.data["mainSteps"]]
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
        if outputs:
            out["report"] = [{"title": "Outputs", "fields": outputs}]
        return out

    def outputs(self) -> dict[str, str]:
        """Document-level `outputs` (`Step.Output`) as the run's report fields."""
        fields: dict[str, str] = {}
        for ref in self.data.get("outputs") or []:
            step, _, output = str(ref).partition(".")
            if step not in self.steps or not output:
                raise ValidationError(f"{self.source}: output {ref!r} names no step output")
            fields[str(ref)] = f"${{{{ steps.{self.steps[step]}.outputs.{output} }}}}"
        return fields


def convert(data: dict[str, Any], source: str, stem: str) -> dict[str, Any]:
    """An Automation document as a native runbook mapping; ValidationError names what not."""
    return Converter(data, source).runbook(runbook_name(stem))


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
