"""A native runbook as an SSM Automation document (schemaVersion 0.3), for SSM to run unattended.

What the document format can carry is translated; what it cannot (yet) is refused by name —
exit 2, nothing written — never silently dropped: an exported document that quietly skipped a
guardrail or an undo would be worse than none.
"""

from __future__ import annotations

import re
from typing import Any

from hybridops.engine.models import Runbook, Step
from hybridops.engine.templating import TEMPLATE_RE, parse_reference, render
from hybridops.errors import ValidationError

SSM_TYPES = {
    "string": "String",
    "integer": "Integer",
    "boolean": "Boolean",
    "list": "StringList",
    "object": "StringMap",
    "number": "String",  # SSM has no float: the text of the number
}
_SIMPLE_PATH_RE = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?(\.[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?)*$"
)


def ssm_step_name(name: str) -> str:
    """`wait-stable` -> `WaitStable` (SSM step names are [A-Za-z0-9_])."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)


class Exporter:
    """One runbook's export, for one environment (its `env.*` values are written in)."""

    def __init__(self, runbook: Runbook, env_scope: dict[str, Any], source: str) -> None:
        self.runbook = runbook
        self.env = env_scope
        self.source = source

    def refuse(self, step: Step | None, what: str) -> ValidationError:
        """What cannot be exported, by name."""
        where = f"step {step.name}: " if step is not None else ""
        return ValidationError(
            f"{self.source}: {where}{what} cannot be expressed in an SSM Automation document"
            " yet; nothing was written"
        )

    def value(self, value: Any, step: Step | None) -> Any:
        """`${{ }}` references as SSM's `{{ }}`; env.* written in as its value."""
        if isinstance(value, dict):
            return {k: self.value(v, step) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, step) for v in value]
        if not isinstance(value, str) or "${{" not in value:
            return value

        def one(match: re.Match[str]) -> str:
            ref = parse_reference(match.group(1))
            if ref[0] == "params" and len(ref) == 2:
                return f"{{{{ {ref[1]} }}}}"
            if ref[0] == "steps" and len(ref) == 4 and ref[2] == "outputs":
                return f"{{{{ {ssm_step_name(str(ref[1]))}.{ref[3]} }}}}"
            if ref[0] == "run" and ref[1:] == ("id",):
                return "{{ automation:EXECUTION_ID }}"
            if ref[0] == "env":
                rendered = render("${{ " + match.group(1).strip() + " }}", {"env": self.env})
                return str(rendered)
            raise self.refuse(step, f"the reference ${{{{ {match.group(1).strip()} }}}}")

        return TEMPLATE_RE.sub(one, value)

    def parameters(self) -> dict[str, Any]:
        """Native parameters as SSM ones; defaults from env.* written in."""
        out: dict[str, Any] = {}
        for name, spec in self.runbook.parameters.items():
            if spec.secret:
                raise self.refuse(None, f"secret parameter {name} (use a SecureString reference)")
            entry: dict[str, Any] = {"type": SSM_TYPES[spec.type]}
            if spec.description:
                entry["description"] = spec.description
            if spec.default is not None:
                default = self.value(spec.default, None)
                entry["default"] = default
            if spec.enum:
                entry["allowedValues"] = [str(v) if spec.type == "string" else v for v in spec.enum]
            if spec.pattern:
                entry["allowedPattern"] = spec.pattern
            out[name] = entry
        return out

    def selector(self, path: str, step: Step) -> str:
        """A plain JMESPath field path as SSM's `$.` selector."""
        if not _SIMPLE_PATH_RE.match(path):
            raise self.refuse(step, f"the JMESPath {path!r} (only plain a.b[0].c paths)")
        return f"$.{path}"

    def api(self, call: Any, step: Step) -> dict[str, Any]:
        """A native `aws` call as Service/Api/parameters."""
        if call.region not in ("primary", self.env.get("region")):
            raise self.refuse(step, f"a call in region {call.region!r} (SSM runs in one region)")
        import botocore.session
        from botocore import xform_name

        model = botocore.session.get_session().get_service_model(call.service)
        api = next((n for n in model.operation_names if xform_name(n) == call.operation), None)
        if api is None:
            raise self.refuse(step, f"{call.service}.{call.operation}")
        params = self.value(call.params, step)
        return {"Service": call.service, "Api": api, **params}

    def step(self, step: Step) -> list[dict[str, Any]]:
        """One native step as one SSM step (or an API call and its assertions)."""
        if step.when:
            raise self.refuse(step, "`when:`")
        if step.compensate is not None:
            raise self.refuse(step, "its compensation (undo)")
        name = ssm_step_name(step.name)
        common: dict[str, Any] = {"name": name}
        if step.description:
            common["description"] = step.description
        if step.on_failure == "continue":
            common["onFailure"] = "Continue"
        if step.retries:
            common["maxAttempts"] = step.retries + 1
        if step.aws is not None:
            main = {**common, "action": "aws:executeAwsApi", "inputs": self.api(step.aws, step)}
            if step.timeout_s:
                main["timeoutSeconds"] = int(step.timeout_s)
            if step.outputs:
                main["outputs"] = [
                    {"Name": out, "Selector": self.selector(path, step), "Type": "String"}
                    for out, path in step.outputs.items()
                ]
            steps = [main]
            for index, (path, expected) in enumerate(step.expect.items(), 1):
                wanted = expected if isinstance(expected, list) else [expected]
                if any(isinstance(v, dict) for v in wanted):
                    raise self.refuse(step, f"the matcher {expected!r} (only values)")
                steps.append(
                    {
                        "name": f"{name}Check{index}",
                        "action": "aws:assertAwsResourceProperty",
                        "inputs": {
                            **self.api(step.aws, step),
                            "PropertySelector": self.selector(path, step),
                            "DesiredValues": [str(self.value(v, step)) for v in wanted],
                        },
                    }
                )
            return steps
        if step.wait is not None and step.wait.aws is not None and len(step.wait.until) == 1:
            ((path, expected),) = step.wait.until.items()
            wanted = expected if isinstance(expected, list) else [expected]
            if any(isinstance(v, dict) for v in wanted):
                raise self.refuse(step, f"the wait condition {expected!r} (only values)")
            timeout = step.wait.timeout_s
            if isinstance(timeout, str):
                raise self.refuse(step, "a wait timeout given by reference")
            return [
                {
                    **common,
                    "action": "aws:waitForAwsResourceProperty",
                    "timeoutSeconds": int(timeout),
                    "inputs": {
                        **self.api(step.wait.aws, step),
                        "PropertySelector": self.selector(path, step),
                        "DesiredValues": [str(self.value(v, step)) for v in wanted],
                    },
                }
            ]
        if step.sleep is not None:
            seconds = step.sleep.seconds
            if isinstance(seconds, str):
                raise self.refuse(step, "a sleep given by reference")
            return [{**common, "action": "aws:sleep", "inputs": {"Duration": f"PT{int(seconds)}S"}}]
        if step.confirm is not None:
            # Unattended, a person's go is SSM's pause (resumed with SendAutomationSignal).
            pause = {**common, "action": "aws:pause", "inputs": {}}
            pause.setdefault("description", " ".join(str(step.confirm.message).split()))
            return [pause]
        kind = "an action" if step.kind == "action" else f"a {step.kind}"
        raise self.refuse(
            step, f"{kind} step ({step.action.name})" if step.action else f"{kind} step"
        )

    def document(self) -> dict[str, Any]:
        """The Automation document."""
        doc: dict[str, Any] = {
            "schemaVersion": "0.3",
            "description": " ".join(self.runbook.description.split()) or self.runbook.name,
        }
        parameters = self.parameters()
        if parameters:
            doc["parameters"] = parameters
        doc["mainSteps"] = [s for step in self.runbook.steps for s in self.step(step)]
        return doc


def export_document(runbook: Runbook, env_scope: dict[str, Any], source: str) -> dict[str, Any]:
    """A runbook as an SSM Automation document; ValidationError names what cannot be."""
    return Exporter(runbook, env_scope, source).document()
