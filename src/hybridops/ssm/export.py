"""A native runbook as an SSM Automation document (schemaVersion 0.3), for SSM to run unattended.

aws → aws:executeAwsApi (plain outputs and value checks) or, for what its selectors cannot say,
aws:executeScript carrying hybridops' own semantics (`ssm.step_script`); wait →
aws:waitForAwsResourceProperty or that script; assert → the script; a built-in action → its
portable script (`ssm.portable`); sleep → aws:sleep; confirm → aws:approve; `when` → aws:branch;
compensation → an undo chain reached by `onFailure: step:X`, in reverse order, ending the
execution failed as the native run would. What cannot be expressed is refused by name — exit 2,
nothing written — never silently dropped: an exported document that quietly skipped a guardrail
or an undo would be worse than none.
"""

from __future__ import annotations

import re
from typing import Any

from hybridops.engine.matching import root_paths
from hybridops.engine.models import Runbook, Step
from hybridops.engine.templating import TEMPLATE_RE, parse_reference, render
from hybridops.errors import ValidationError
from hybridops.gate.classify import aws_mutates

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
# Who may approve a confirmation step: SSM names them; hybridops asks whoever runs it.
APPROVERS = "Approvers"
END = "\0end"  # a placeholder: the step after the last one
NEXT = "\0next"  # a placeholder: the next undo in the chain (or its end)
# What `runbooks import` made of a document's own parts (ssm/automation.py), exported back.
SSM_ORIGIN = ("ssm.assume_role", "ssm.globals", "ssm.check_parameters", "ssm.sleep",
              "ssm.execute_script")  # fmt: skip
GLOBALS_STEP = "ssm-globals"
GLOBAL_OF = {"account_id": "{{ global:ACCOUNT_ID }}", "date_time": "{{ global:DATE_TIME }}"}
SCRIPT_LIMIT_S = 600  # SSM's ceiling for aws:executeScript


def _strings(value: Any) -> list[str]:
    """Every text inside a value (a string, or the strings in a list or mapping)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def ssm_step_name(name: str) -> str:
    """`wait-stable` -> `WaitStable` (SSM step names are [A-Za-z0-9_])."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)


def _values_only(expectations: dict[str, Any]) -> bool:
    """Plain values SSM's DesiredValues can say (text; never null, a matcher, or a list of them)."""
    return all(
        v is not None
        and not isinstance(v, dict)
        and not (isinstance(v, list) and any(x is None or isinstance(x, dict) for x in v))
        for v in expectations.values()
    )


def _shape_type(service: str, operation: str, path: str) -> str:
    """The SSM output Type of a plain selector over an operation's response (String if unsure)."""
    import botocore.session
    from botocore import xform_name

    try:
        model = botocore.session.get_session().get_service_model(service)
        api = next(n for n in model.operation_names if xform_name(n) == operation)
        shape = model.operation_model(api).output_shape
        for token in re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\[\d+\]", path):
            shape = shape.member if token.startswith("[") else shape.members[token]
    except (StopIteration, KeyError, AttributeError):
        return "String"
    kind = shape.type_name
    if kind in ("integer", "long"):
        return "Integer"
    if kind == "boolean":
        return "Boolean"
    if kind == "list":
        return "MapList" if shape.member.type_name in ("structure", "map") else "StringList"
    if kind in ("structure", "map"):
        return "StringMap"
    return "String"


class Exporter:
    """One runbook's export, for one environment (its `env.*` values are written in)."""

    def __init__(self, runbook: Runbook, env_scope: dict[str, Any], source: str) -> None:
        self.runbook = runbook
        self.env = env_scope
        self.source = source
        self.approvers = False
        self.assume_role = ""
        self.written: dict[str, list[str]] = {}  # env.* written in: its text values

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
        whole = TEMPLATE_RE.fullmatch(value.strip())
        if whole and parse_reference(whole.group(1))[0] == "env":
            # Written in as it is: a list stays a list (env.components), a number a number.
            return self.written_in(render(value.strip(), {"env": self.env}), whole.group(1), step)

        def one(match: re.Match[str]) -> str:
            ref = parse_reference(match.group(1))
            if ref[0] == "params" and len(ref) == 2:
                return f"{{{{ {ref[1]} }}}}"
            if ref[0] == "steps" and ref[1] == GLOBALS_STEP and len(ref) == 4:
                return GLOBAL_OF[str(ref[3])]
            if ref[0] == "steps" and len(ref) == 4 and ref[2] == "outputs":
                return f"{{{{ {ssm_step_name(str(ref[1]))}.{ref[3]} }}}}"
            if ref[0] == "run" and ref[1:] == ("id",):
                return "{{ automation:EXECUTION_ID }}"
            if ref[0] == "env":
                rendered = render("${{ " + match.group(1).strip() + " }}", {"env": self.env})
                return str(self.written_in(rendered, match.group(1), step))
            raise self.refuse(step, f"the reference ${{{{ {match.group(1).strip()} }}}}")

        return TEMPLATE_RE.sub(one, value)

    def written_in(self, value: Any, what: str, step: Step | None) -> Any:
        """An environment value written into the document, refused if it looks like a secret.

        A document is readable by whoever may read SSM documents: a password in a URL or a
        token in `vars` would be published with it.
        """
        import json

        from hybridops.gate.redact import Redactor

        text = json.dumps(value, default=str)
        # The value itself (a URL with a password), or its name (`vars.api_key`).
        name = what.strip().rsplit(".", 1)[-1]
        named = f"{name}={value}" if isinstance(value, str) else ""
        if Redactor().text(text) != text or Redactor().text(named) != named:
            raise self.refuse(step, self._credential(what))
        self.written.setdefault(what.strip(), [])
        for leaf in _strings(value):
            self.written[what.strip()].append(leaf)
        return value

    @staticmethod
    def _credential(what: str) -> str:
        return (
            f"{what.strip()} (it holds a credential; SSM documents are readable by anyone"
            " allowed ssm:GetDocument — keep it in a SecureString parameter)"
        )

    def check_written(self, doc: dict[str, Any]) -> None:
        """No environment value written in stands where a credential would (`Bearer X`)."""
        import json

        from hybridops.gate.redact import Redactor

        text = json.dumps(doc)
        masked = Redactor().text(text)
        for what, leaves in self.written.items():
            for leaf in leaves:
                shown = json.dumps(leaf)[1:-1]
                if len(leaf) >= 4 and text.count(shown) != masked.count(shown):
                    raise self.refuse(None, self._credential(what))

    def scope(self, expressions: list[str], step: Step) -> dict[str, Any]:
        """What JMESPath over {params, steps, env} reads, as InputPayload values SSM fills in."""
        scope: dict[str, Any] = {}
        for expression in expressions:
            for chain in root_paths(expression):
                root = chain[0]
                if root == "params" and len(chain) >= 2:
                    scope.setdefault("params", {})[chain[1]] = f"{{{{ {chain[1]} }}}}"
                elif root == "steps" and len(chain) >= 4 and chain[2] == "outputs":
                    ref = f"{{{{ {ssm_step_name(chain[1])}.{chain[3]} }}}}"
                    outputs = scope.setdefault("steps", {}).setdefault(chain[1], {"outputs": {}})
                    outputs["outputs"][chain[3]] = ref
                elif root == "env" and len(chain) >= 2:
                    # Only what the condition reads, never the whole environment.
                    value: Any = self.env
                    for key in chain[1:]:
                        value = value.get(key) if isinstance(value, dict) else None
                    value = self.written_in(value, ".".join(chain), step)
                    node = scope.setdefault("env", {})
                    for key in chain[1:-1]:
                        node = node.setdefault(key, {})
                    node[chain[-1]] = value
                elif root == "steps" and len(chain) >= 3 and chain[2] == "status":
                    raise self.refuse(
                        step,
                        "a condition on how a step ended (steps.NAME.status: an imported"
                        " document's branches and onFailure/onCancel paths do not export back)",
                    )
                else:
                    raise self.refuse(step, f"the condition {expression!r} (it reads {root})")
        return scope

    def parameters(self) -> dict[str, Any]:
        """Native parameters as SSM ones; defaults from env.* written in."""
        out: dict[str, Any] = {}
        for name, spec in self.runbook.parameters.items():
            if spec.secret:
                raise self.refuse(None, f"secret parameter {name} (use a SecureString reference)")
            if name == APPROVERS:
                raise self.refuse(None, f"a parameter named {APPROVERS} (the export's own)")
            emptyable = self._emptyable(name)
            if spec.type == "number" and not emptyable:
                # SSM has no number type: as text it would reach an API call as text.
                raise self.refuse(None, f"number parameter {name} used outside action inputs")
            entry: dict[str, Any] = {"type": SSM_TYPES[spec.type]}
            if spec.description:
                entry["description"] = spec.description
            optional = spec.default is None and not spec.required and emptyable
            if spec.default is not None:
                default = self.value(spec.default, None)
                entry["default"] = str(default) if spec.type == "number" else default
            elif optional:
                # SSM has no "not given": an optional value is empty text until one is given
                # (the script step drops it again before the action: see `unset_if_empty`).
                entry["default"] = [] if spec.type == "list" else ""
                if spec.type in ("integer", "boolean"):
                    entry["type"] = "String"
                    entry["allowedPattern"] = {
                        "integer": r"^$|^-?[0-9]+$",
                        "boolean": "^$|^(true|false)$",
                    }[spec.type]
                entry["description"] = f"(Optional) {spec.description or ''}".strip()
            if spec.type == "number":
                entry["allowedPattern"] = r"^-?[0-9]+(\.[0-9]+)?$" + ("|^$" if optional else "")
            for native_key, ssm_key in (
                ("min_length", "minChars"),
                ("max_length", "maxChars"),
                ("min_items", "minItems"),
                ("max_items", "maxItems"),
            ):
                if getattr(spec, native_key) is not None:
                    entry[ssm_key] = getattr(spec, native_key)
            if spec.enum:
                values = [str(v) if entry["type"] == "String" else v for v in spec.enum]
                entry["allowedValues"] = ([""] if optional else []) + values
            if spec.pattern:
                # hybridops matches a pattern against the whole value.
                # (Java's \\w and \\d are ASCII already: hybridops' "(?a)" is not Java's.)
                inner = spec.pattern.removeprefix("(?a)")
                entry["allowedPattern"] = ("^$|" if optional else "") + f"^(?:{inner})$"
            out[name] = entry
        # SSM's own rules (per item, lengths) that an imported document's first step checks.
        for step in self.runbook.steps:
            if step.action is not None and step.action.name == "ssm.check_parameters":
                for name, rules in (step.action.inputs.get("rules") or {}).items():
                    if name in out:
                        out[name].update(rules)
        return out

    def text_params(self) -> dict[str, str]:
        """Parameters SSM passes as text though hybridops types them (number; optional ones):
        the step script reads them back as hybridops would, before a condition sees them."""
        out: dict[str, str] = {}
        for name, spec in self.runbook.parameters.items():
            optional = spec.default is None and not spec.required and self._emptyable(name)
            if spec.type == "number" or (optional and spec.type in ("integer", "boolean")):
                out[name] = spec.type
            elif optional:
                out[name] = "optional"
        return out

    def _emptyable(self, name: str) -> bool:
        """Whether an optional parameter reaches only built-in actions' inputs, as a whole value.

        There "not given" can travel as empty text (dropped before the action sees it). Used
        anywhere else — an API call's field, say — its SSM type must stay what it is, and so the
        parameter is required in the document: an empty text there would be a different call.
        """
        from hybridops.engine.templating import iter_references

        whole = 0
        for step in self.runbook.steps:
            if step.action is not None:
                for raw in step.action.inputs.values():
                    found = TEMPLATE_RE.fullmatch(raw.strip()) if isinstance(raw, str) else None
                    if found and parse_reference(found.group(1)) == ("params", name):
                        whole += 1
        every = sum(
            1
            for step in self.runbook.steps
            for ref in iter_references(step.model_dump(by_alias=True, exclude_none=True))
            if ref[:2] == ("params", name)
        )
        return every == whole

    def api(self, call: Any, step: Step) -> dict[str, Any]:
        """A native `aws` call as Service/Api/parameters."""
        import botocore.session
        from botocore import xform_name

        model = botocore.session.get_session().get_service_model(call.service)
        api = next((n for n in model.operation_names if xform_name(n) == call.operation), None)
        if api is None:
            raise self.refuse(step, f"{call.service}.{call.operation}")
        params = self.value(call.params, step)
        return {"Service": call.service, "Api": api, **params}

    def _primary(self, call: Any) -> bool:
        return call.region in ("primary", self.env.get("region"))

    def call(self, call: Any, step: Step) -> dict[str, Any]:
        """A native `aws` call as the step script's `call` payload (any region)."""
        from hybridops.config import SIDES

        regions = {side: self.env.get(fields["region"]) for side, fields in SIDES.items()}
        region = self.value(call.region, step)
        return {
            "service": call.service,
            "operation": call.operation,
            "region": regions.get(region, region) if isinstance(region, str) else region,
            # `primary`/`secondary` given at run time (a parameter) are the environment's.
            "regions": regions,
            "params": self.value(call.params, step),
        }

    def script(
        self, name: str, step: Step, payload: dict[str, Any], action_source: str | None = None
    ) -> dict[str, Any]:
        """An aws:executeScript step running hybridops' step semantics (`ssm.step_script`)."""
        from hybridops.ssm.step_script import HANDLER, script_text

        out: dict[str, Any] = {
            "name": name,
            "action": "aws:executeScript",
            "inputs": {
                "Runtime": "python3.11",
                "Handler": HANDLER,
                "Script": script_text(action_source),
                "InputPayload": {"step": step.name, **payload},
            },
        }
        if step.outputs:
            out["outputs"] = [
                {"Name": o, "Selector": f"$.Payload.{o}", "Type": "String"} for o in step.outputs
            ]
        return out

    def body(self, step: Step) -> list[dict[str, Any]]:
        """One native step's own SSM steps (an API call and its checks, or one script)."""
        name = ssm_step_name(step.name)
        if step.secret_outputs:
            raise self.refuse(step, "a secret output (SSM shows step outputs in its console)")
        if step.aws is not None:
            plain = all(p == "@" or _SIMPLE_PATH_RE.match(p) for p in step.outputs.values())
            checks = all(_SIMPLE_PATH_RE.match(p) for p in step.expect) and _values_only(
                step.expect
            )
            # A call that changes something is made once: its checks cannot call it again.
            once = not step.expect or not aws_mutates(step.aws.service, step.aws.operation)
            if plain and checks and once and self._primary(step.aws):
                return self._api_steps(name, step)
            payload = {
                "kind": "aws",
                "call": self.call(step.aws, step),
                "outputs": dict(step.outputs),
                "expect": self.value(step.expect, step),
            }
            return [self.script(name, step, self.value(payload, step))]
        if step.http is not None:
            payload = {
                "kind": "http",
                "http": step.http.model_dump(by_alias=True, exclude_none=True),
                "outputs": dict(step.outputs),
                "expect": step.expect,
            }
            return [self.script(name, step, self.value(payload, step))]
        if step.wait is not None and step.wait.http is not None:
            wait = step.wait
            http = step.wait.http
            payload = {
                "kind": "wait",
                "http": http.model_dump(by_alias=True, exclude_none=True),
                "until": wait.until,
                "interval_s": wait.interval_s,
                "timeout_s": wait.timeout_s,
                "outputs": dict(step.outputs),
            }
            return [self.script(name, step, self.value(payload, step))]
        if step.wait is not None and step.wait.aws is not None:
            wait = step.wait
            if self._native_wait(step):
                ((path, expected),) = wait.until.items()
                wanted = expected if isinstance(expected, list) else [expected]
                return [
                    {
                        "name": name,
                        "action": "aws:waitForAwsResourceProperty",
                        "timeoutSeconds": int(wait.timeout_s),
                        "inputs": {
                            **self.api(wait.aws, step),
                            "PropertySelector": f"$.{path}",
                            "DesiredValues": [str(self.value(v, step)) for v in wanted],
                        },
                    }
                ]
            payload = {
                "kind": "wait",
                "call": self.call(wait.aws, step),
                "until": wait.until,
                "interval_s": wait.interval_s,
                "timeout_s": wait.timeout_s,
                "outputs": dict(step.outputs),
            }
            return [self.script(name, step, self.value(payload, step))]
        if step.assert_ is not None:
            that = step.assert_.that
            payload = {
                "kind": "assert",
                "scope": self.scope(list(that), step),
                "types": self.text_params(),
                "that": that,
                "message": step.assert_.message,
            }
            return [self.script(name, step, self.value(payload, step))]
        if step.action is not None and step.action.name in SSM_ORIGIN:
            return self.ssm_origin(name, step)
        if step.action is not None:
            return [self.action(name, step)]
        if step.sleep is not None:
            seconds = step.sleep.seconds
            return [
                {"name": name, "action": "aws:sleep", "inputs": {"Duration": f"PT{int(seconds)}S"}}
            ]
        if step.confirm is not None:
            # Unattended, a person's go is an approval by the people the document names.
            self.approvers = True
            confirm = step.confirm
            message = " ".join(str(self.value(confirm.message, step)).split())
            if confirm.danger:
                message += f" Danger: {' '.join(str(self.value(confirm.danger, step)).split())}"
            return [
                {
                    "name": name,
                    "action": "aws:approve",
                    "inputs": {
                        "Message": message,
                        "Approvers": f"{{{{ {APPROVERS} }}}}",
                        "MinRequiredApprovals": 1,
                    },
                }
            ]
        raise self.refuse(step, f"a {step.kind} step")

    def ssm_origin(self, name: str, step: Step) -> list[dict[str, Any]]:
        """The steps `runbooks import` made of a document's own parts, back as SSM says them."""
        action = step.action
        assert action is not None
        inputs = action.inputs
        if action.name == "ssm.assume_role":
            before = self.runbook.steps[: self.runbook.steps.index(step)]
            if any(s.action is None or s.action.name not in SSM_ORIGIN[:3] for s in before):
                raise self.refuse(step, "assuming a role after other steps")
            self.assume_role = str(self.value(inputs.get("role") or "", step))
            return []
        if action.name in ("ssm.globals", "ssm.check_parameters"):
            return []  # SSM has its globals; the rules went back to the parameters
        if action.name == "ssm.sleep":
            duration = self.value(str(inputs.get("duration", "")), step)
            return [{"name": name, "action": "aws:sleep", "inputs": {"Duration": duration}}]
        # ssm.execute_script: the document's own script, as it was.
        script: dict[str, Any] = {
            "name": name,
            "action": "aws:executeScript",
            "inputs": {
                "Runtime": "python3.11",
                "Handler": inputs.get("handler", ""),
                "Script": inputs.get("script", ""),
                "InputPayload": self.value(inputs.get("payload") or {}, step),
            },
            "timeoutSeconds": min(SCRIPT_LIMIT_S, int(float(inputs.get("timeout_s", 600)))),
        }
        outputs = [
            {"Name": out, "Selector": f"$.{path}", "Type": "String"}
            for out, path in step.outputs.items()
            if out != "printed" and _SIMPLE_PATH_RE.match(path)
        ]
        if outputs:
            script["outputs"] = outputs
        return [script]

    def _api_steps(self, name: str, step: Step) -> list[dict[str, Any]]:
        assert step.aws is not None
        main: dict[str, Any] = {
            "name": name,
            "action": "aws:executeAwsApi",
            "inputs": self.api(step.aws, step),
        }
        if step.timeout_s:
            main["timeoutSeconds"] = int(step.timeout_s)
        if step.outputs:
            main["outputs"] = [
                {
                    "Name": out,
                    "Selector": "$" if path == "@" else f"$.{path}",
                    "Type": "StringMap"
                    if path == "@"
                    else _shape_type(step.aws.service, step.aws.operation, path),
                }
                for out, path in step.outputs.items()
            ]
        # A read that only checks (an imported aws:assertAwsResourceProperty): the assertion
        # is the call, as SSM says it.
        checks_only = not step.outputs and step.expect and not main.get("timeoutSeconds")
        steps = [] if checks_only else [main]
        for index, (path, expected) in enumerate(step.expect.items(), 1):
            wanted = expected if isinstance(expected, list) else [expected]
            steps.append(
                {
                    "name": name if checks_only and index == 1 else f"{name}Check{index}",
                    "action": "aws:assertAwsResourceProperty",
                    "inputs": {
                        **self.api(step.aws, step),
                        "PropertySelector": f"$.{path}",
                        "DesiredValues": [str(self.value(v, step)) for v in wanted],
                    },
                }
            )
        return steps

    def action(self, name: str, step: Step, body: Any = None) -> dict[str, Any]:
        """A built-in action as its portable script, with the step's outputs and checks."""
        from hybridops.ssm import portable

        action = body or step.action
        assert action is not None
        if action.name in portable.REFUSED:
            raise self.refuse(step, f"action {action.name} ({portable.REFUSED[action.name]})")
        source = portable.script_for(action.name)
        if source is None:
            raise self.refuse(step, f"action {action.name} (no portable script for it)")
        inputs = dict(action.inputs)
        for key, where in portable.EXTRA_INPUTS.get(action.name, {}).items():
            inputs.setdefault(key, "${{ " + where + " }}")
        optional = {
            n for n, spec in self.runbook.parameters.items()
            if spec.default is None and not spec.required
        }  # fmt: skip
        unset = [
            key
            for key, raw in inputs.items()
            if isinstance(raw, str)
            and (found := TEMPLATE_RE.fullmatch(raw.strip()))
            and parse_reference(found.group(1))[:1] == ("params",)
            and parse_reference(found.group(1))[1:2] in {(n,) for n in optional}
        ]
        payload = {
            "kind": "action",
            "action": action.name,
            "unset_if_empty": unset,
            "inputs": self.value(inputs, step),
            "outputs": dict(step.outputs) if body is None else {},
            "expect": self.value(step.expect, step) if body is None else {},
        }
        return self.script(name, step, payload, source)

    def when(self, condition: str, step: Step, name: str) -> list[dict[str, Any]]:
        """Steps deciding a `when`: an aws:branch on it (via the step script if needed)."""
        choice = None if "${{" in condition else self.choice(condition)
        steps: list[dict[str, Any]] = []
        if choice is None:
            decide = {
                "name": f"{name}When",
                "action": "aws:executeScript",
                "inputs": self.script(name, step, {})["inputs"],
                "outputs": [{"Name": "holds", "Selector": "$.Payload.holds", "Type": "Boolean"}],
            }
            if "${{" in condition:
                # A template's truth ("false", "0", "" are false), as hybridops reads it.
                decide["inputs"]["InputPayload"] = {
                    "step": step.name,
                    "kind": "when",
                    "value": self.value(condition, step),
                }
            else:
                decide["inputs"]["InputPayload"] = {
                    "step": step.name,
                    "kind": "when",
                    "condition": condition,
                    "scope": self.scope([condition], step),
                    "types": self.text_params(),
                }
            steps.append(decide)
            choice = {"Variable": f"{{{{ {name}When.holds }}}}", "BooleanEquals": True}
        steps.append(
            {
                "name": f"{name}If",
                "action": "aws:branch",
                "inputs": {"Choices": [{**choice, "NextStep": "\0then"}], "Default": "\0else"},
            }
        )
        return steps

    def choice(self, condition: str) -> dict[str, Any] | None:
        """A JMESPath condition as one of aws:branch's Choices, when it is a plain comparison."""
        import jmespath

        try:
            return self._choice(dict(jmespath.compile(condition).parsed))
        except (ValueError, KeyError, TypeError):
            return None

    def _choice(self, node: dict[str, Any]) -> dict[str, Any] | None:
        kind = node["type"]
        if kind in ("and_expression", "or_expression"):
            parts = [self._choice(c) for c in node["children"]]
            if any(p is None for p in parts):
                return None
            return {"And" if kind == "and_expression" else "Or": parts}
        if kind == "not_expression":
            inner = self._choice(node["children"][0])
            return None if inner is None else {"Not": inner}
        if kind == "comparator":
            left, right = node["children"]
            variable = self._variable(left)
            if variable is None or right["type"] != "literal":
                return None
            literal = right["value"]
            if not self._typed_as(left, literal):
                return None  # hybridops compares JSON values; SSM's comparators are typed
            test: dict[str, Any]
            if isinstance(literal, bool):
                test = {"BooleanEquals": literal}
            elif isinstance(literal, (int, float)):
                ops = {"eq": "NumericEquals", "gt": "NumericGreater", "lt": "NumericLesser",
                       "gte": "NumericGreaterOrEquals", "lte": "NumericLesserOrEquals"}  # fmt: skip
                op = node["value"]
                if op == "ne":
                    return {"Not": {"Variable": variable, "NumericEquals": literal}}
                return {"Variable": variable, ops[op]: literal} if op in ops else None
            elif isinstance(literal, str) and node["value"] in ("eq", "ne"):
                test = {"StringEquals": literal}
            else:
                return None
            if node["value"] == "ne":
                return {"Not": {"Variable": variable, **test}}
            return {"Variable": variable, **test} if node["value"] == "eq" else None
        variable = self._variable(node)
        if variable is not None and self._boolean(node) and self._typed_as(node, True):
            return {"Variable": variable, "BooleanEquals": True}
        return None

    def _variable(self, node: dict[str, Any]) -> str | None:
        from hybridops.engine.matching import _spine

        chain = _spine(node)
        if not chain:
            return None
        if chain[0] == "params" and len(chain) == 2:
            return f"{{{{ {chain[1]} }}}}"
        if chain[0] == "steps" and len(chain) == 4 and chain[2] == "outputs":
            return f"{{{{ {ssm_step_name(chain[1])}.{chain[3]} }}}}"
        return None

    def _typed_as(self, node: dict[str, Any], literal: Any) -> bool:
        """Whether a parameter's type is the literal's (SSM compares by the comparator's type)."""
        from hybridops.engine.matching import _spine

        chain = _spine(node) or []
        spec = self.runbook.parameters.get(chain[1]) if chain[:1] == ["params"] else None
        if spec is None or (spec.default is None and not spec.required):
            return False  # a step's output, or a parameter that may be absent: the script
        if isinstance(literal, bool):
            return spec.type == "boolean"
        if isinstance(literal, (int, float)):
            return spec.type == "integer"
        return isinstance(literal, str) and spec.type == "string"

    def _boolean(self, node: dict[str, Any]) -> bool:
        """Only a boolean parameter is true or false in SSM's sense (BooleanEquals)."""
        from hybridops.engine.matching import _spine

        chain = _spine(node) or []
        spec = self.runbook.parameters.get(chain[1]) if chain[:1] == ["params"] else None
        return spec is not None and spec.type == "boolean"

    def document(self) -> dict[str, Any]:
        """The Automation document."""
        steps = self.runbook.steps
        compensable = [s for s in steps if s.compensate is not None]
        if compensable and any(s.on_failure == "continue" for s in steps):
            bad = next(s for s in steps if s.on_failure == "continue")
            raise self.refuse(bad, "on_failure: continue in a runbook with undo steps")
        names = [s.name for s in steps]
        for step in steps:
            for jump in step.goto or []:
                if names.index(jump.step) <= names.index(step.name):
                    # SSM bounds no backward nextStep: the loop's max would be dropped.
                    raise self.refuse(
                        step, f"goto back to {jump.step} (a loop SSM would not bound)"
                    )
                if compensable:
                    # The undo chain tells a step ran by its `when`; a jump over it is not seen.
                    raise self.refuse(step, "goto in a runbook with undo steps")
        # What `runbooks import` added for the document's role, globals and parameter rules
        # goes back to the document's own fields, not to steps.
        for step in steps:
            if step.action is not None and step.action.name in SSM_ORIGIN[:3]:
                self.ssm_origin(ssm_step_name(step.name), step)
        steps = [s for s in steps if not (s.action is not None and s.action.name in SSM_ORIGIN[:3])]
        groups: list[list[dict[str, Any]]] = []
        undo, undo_of = self.undo_chain(compensable)  # native step -> the entry of its undo
        last_undo: str | None = None  # where a failure goes: the latest completed change's undo
        for step in steps:
            name = ssm_step_name(step.name)
            own = self.body(step)
            for ssm in own:
                if step.on_failure == "continue":
                    ssm["onFailure"] = "Continue"
                    if not step.critical:
                        ssm["isCritical"] = False
                elif last_undo is not None:
                    ssm["onFailure"] = f"step:{last_undo}"
                if step.retries and ssm["action"] not in ("aws:branch", "aws:approve"):
                    ssm["maxAttempts"] = step.retries + 1
                if step.description and "description" not in ssm:
                    ssm["description"] = " ".join(step.description.split())
            for ssm in own:
                if ssm["action"] == "aws:executeScript":
                    # SSM stops any script at 600 s: a longer wait ends there, failed.
                    ssm["timeoutSeconds"] = min(SCRIPT_LIMIT_S, int(step.timeout_s or 600))
            # Each jump, in order: a branch to its step, else on to the next jump's test.
            previous: dict[str, Any] | None = None
            for number, jump in enumerate(step.goto or [], 1):
                target = f"\0goto:{jump.step}"
                if jump.when is None:
                    if previous is None:
                        own[-1]["nextStep"] = target
                    else:
                        previous["inputs"]["Default"] = target
                    break  # a jump always taken: what follows it is never reached
                decide = self.when(jump.when, step, f"{name}Goto{number}")
                decide[-1]["inputs"]["Choices"][0]["NextStep"] = target
                if previous is not None:
                    previous["inputs"]["Default"] = decide[0]["name"]
                previous = decide[-1]
                own += decide
            group = own
            if step.when:
                decide = self.when(step.when, step, name)
                for ssm in decide:
                    if last_undo is not None:
                        ssm["onFailure"] = f"step:{last_undo}"
                decide[-1]["inputs"]["Choices"][0]["NextStep"] = own[0]["name"]
                group = decide + own
            groups.append(group)
            if step.compensate is not None:
                last_undo = undo_of[step.name]
        normal = [s for group in groups for s in group]
        # Branch defaults: the first step of the next native step, or the end of the run.
        entries = [group[0]["name"] for group in groups] + [END]
        for index, group in enumerate(groups):
            for ssm in group:
                if ssm["action"] == "aws:branch" and ssm["inputs"].get("Default") == "\0else":
                    ssm["inputs"]["Default"] = entries[index + 1]
        for ssm in normal:
            # A jump: to the first SSM step of the native step it names.
            if str(ssm.get("nextStep", "")).startswith("\0goto:"):
                ssm["nextStep"] = entries[names.index(ssm["nextStep"][6:])]
            if ssm["action"] == "aws:branch":
                for choice in [*ssm["inputs"]["Choices"], ssm["inputs"]]:
                    for key in ("NextStep", "Default"):
                        if str(choice.get(key, "")).startswith("\0goto:"):
                            choice[key] = entries[names.index(choice[key][6:])]
        for step in steps:
            if step.on_cancel:
                first = names.index(step.on_cancel[0])
                if step.on_cancel != names[first:]:
                    # SSM goes on from the step onCancel names: only a tail of the runbook
                    # says the same as hybridops' list.
                    raise self.refuse(step, "on_cancel steps that are not the runbook's last")
                for ssm in groups[names.index(step.name)]:
                    ssm["onCancel"] = f"step:{entries[first]}"
        needs_end = any(
            s["action"] == "aws:branch" and s["inputs"]["Default"] == END for s in normal
        )
        if undo or needs_end:
            normal.append(
                {
                    "name": "Done",
                    "action": "aws:sleep",
                    "description": "The end of the runbook (what follows undoes on failure)",
                    "inputs": {"Duration": "PT0S"},
                    "isEnd": True,
                }
            )
            for ssm in normal:
                if ssm["action"] == "aws:branch" and ssm["inputs"]["Default"] == END:
                    ssm["inputs"]["Default"] = "Done"
        doc: dict[str, Any] = {
            "schemaVersion": "0.3",
            "description": " ".join(self.runbook.description.split()) or self.runbook.name,
        }
        parameters = self.parameters()
        if self.approvers:
            parameters[APPROVERS] = {
                "type": "StringList",
                "description": "IAM users or roles who approve the confirmation steps",
            }
        if parameters:
            doc["parameters"] = parameters
        if self.assume_role:
            doc = {"schemaVersion": doc["schemaVersion"], "description": doc["description"],
                   "assumeRole": self.assume_role, **doc}  # fmt: skip
        outputs = self.document_outputs()
        if outputs:
            doc["outputs"] = outputs
        doc["mainSteps"] = self.bounds() + normal + undo
        names = [s["name"] for s in doc["mainSteps"]]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise self.refuse(None, f"two steps named {twice[0]} in SSM (rename one)")
        return doc

    def document_outputs(self) -> list[str]:
        """A report field that is one step's output, as the document's `outputs` (Step.Output)."""
        out: list[str] = []
        for entry in self.runbook.report:
            for value in (entry.fields or {}).values():
                found = TEMPLATE_RE.fullmatch(str(value).strip())
                ref = parse_reference(found.group(1)) if found else ()
                if len(ref) == 4 and ref[0] == "steps" and ref[2] == "outputs":
                    out.append(f"{ssm_step_name(str(ref[1]))}.{ref[3]}")
        return out

    def _native_wait(self, step: Step) -> bool:
        """Whether a wait is SSM's own aws:waitForAwsResourceProperty (else a script)."""
        wait = step.wait
        return bool(
            wait is not None
            and wait.aws is not None
            and len(wait.until) == 1
            and _values_only(wait.until)
            and _SIMPLE_PATH_RE.match(next(iter(wait.until)))
            and not isinstance(wait.timeout_s, str)
            and not step.outputs
            and self._primary(wait.aws)
        )

    def script_timeouts(self) -> dict[str, str]:
        """Parameters that bound a script's wait (SSM stops scripts at 600 s), by name."""
        capped: dict[str, str] = {}
        for step in self.runbook.steps:
            given = []
            if step.action is not None and "timeout_s" in step.action.inputs:
                given.append(step.action.inputs["timeout_s"])
            if step.wait is not None and not self._native_wait(step):
                given.append(step.wait.timeout_s)
            for value in given:
                found = TEMPLATE_RE.fullmatch(value.strip()) if isinstance(value, str) else None
                ref = parse_reference(found.group(1)) if found else ()
                if ref[:1] == ("params",) and len(ref) == 2:
                    capped[str(ref[1])] = step.name
                elif isinstance(value, (int, float)) and value > SCRIPT_LIMIT_S:
                    raise self.refuse(
                        step, f"a wait of {value:g}s (SSM stops a script at {SCRIPT_LIMIT_S}s)"
                    )
        return capped

    def bounds(self) -> list[dict[str, Any]]:
        """Parameters' minimum/maximum (SSM has no such check): a first step that checks them."""
        that: dict[str, Any] = {}
        capped = self.script_timeouts()
        for name, spec in self.runbook.parameters.items():
            maximum = spec.maximum
            if name in capped:
                # A longer wait would end at SSM's limit, failed: refused before any change.
                maximum = min(maximum if maximum is not None else SCRIPT_LIMIT_S, SCRIPT_LIMIT_S)
            tests = [
                f'to_number(params."{name}") {op} `{bound:g}`'
                for op, bound in ((">=", spec.minimum), ("<=", maximum))
                if bound is not None
            ]
            if not tests:
                continue
            expression = " && ".join(tests)
            if spec.default is None and not spec.required:
                expression = f"params.\"{name}\" == '' || ({expression})"
            that[expression] = True
        if not that:
            return []
        step = Step.model_validate({"name": "check-parameters", "sleep": 0})
        payload = {
            "kind": "assert",
            "scope": {"params": {n: f"{{{{ {n} }}}}" for n in self.runbook.parameters}},
            "that": that,
            "message": "a parameter is outside its bounds (minimum/maximum; a wait's timeout"
            f" at most {SCRIPT_LIMIT_S}s, SSM's limit for a script)",
        }
        checked = self.script("CheckParameters", step, payload)
        checked["description"] = "The parameters' bounds, which SSM's types cannot say"
        return [checked]

    def undo_chain(self, compensable: list[Step]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Undo steps in reverse order, and where each one's chain begins (by native step).

        A failure after a change jumps to that change's undo (onFailure: step:X); the chain then
        undoes every earlier change and ends. An undo runs only if its step ran (its `when`) and
        its own `when` holds; with `ask`, a person approves it first (aws:approve; rejected, the
        chain goes on without it). The failed step was critical: SSM ends the execution Failed,
        as hybridops ends the run failed after compensating.
        """
        groups: list[list[dict[str, Any]]] = []
        for step in reversed(compensable):
            comp = step.compensate
            assert comp is not None
            name = f"Undo{ssm_step_name(step.name)}"
            body = self.undo_body(name, step)
            body["onFailure"] = "Continue"  # an undo that fails does not stop the others
            body["description"] = f"Undo {step.name} (a later step failed)"
            body["nextStep"] = NEXT
            group = [body]
            if comp.ask:
                self.approvers = True
                approve = {
                    "name": f"Approve{name}",
                    "action": "aws:approve",
                    "description": f"A person decides whether {step.name} is undone",
                    "onFailure": f"step:{NEXT}",  # rejected: on to the next undo
                    "inputs": {
                        "Message": " ".join(str(self.value(comp.ask, step)).split()),
                        "Approvers": f"{{{{ {APPROVERS} }}}}",
                        "MinRequiredApprovals": 1,
                    },
                    "nextStep": name,
                }
                if comp.when:
                    # Automatic while `when` holds; else asked.
                    decide = self.when(comp.when, step, f"{name}Auto")
                    decide[-1]["inputs"]["Choices"][0]["NextStep"] = name
                    decide[-1]["inputs"]["Default"] = approve["name"]
                    group = [*decide, approve, body]
                else:
                    group = [approve, body]
            elif comp.when:
                decide = self.when(comp.when, step, name)
                decide[-1]["inputs"]["Choices"][0]["NextStep"] = group[0]["name"]
                decide[-1]["inputs"]["Default"] = NEXT
                group = [*decide, *group]
            if step.when:
                # Undone only if it ran: its own condition, decided again (its inputs are
                # parameters and earlier outputs, which have not changed since).
                decide = self.when(step.when, step, f"{name}Ran")
                decide[-1]["inputs"]["Choices"][0]["NextStep"] = group[0]["name"]
                decide[-1]["inputs"]["Default"] = NEXT
                group = [*decide, *group]
            groups.append(group)
        entries = [g[0]["name"] for g in groups] + ["Undone"]
        out: list[dict[str, Any]] = []
        for index, group in enumerate(groups):
            following = entries[index + 1]
            for ssm in group:
                if ssm.get("nextStep") == NEXT:
                    ssm["nextStep"] = following
                if ssm.get("onFailure") == f"step:{NEXT}":
                    ssm["onFailure"] = f"step:{following}"
                if ssm["action"] == "aws:branch" and ssm["inputs"].get("Default") == NEXT:
                    ssm["inputs"]["Default"] = following
            out.extend(group)
        if out:
            out.append(
                {
                    "name": "Undone",
                    "action": "aws:sleep",
                    "description": "Every change to undo is undone",
                    "inputs": {"Duration": "PT0S"},
                    "isEnd": True,
                }
            )
        first = {step.name: groups[i][0]["name"] for i, step in enumerate(reversed(compensable))}
        return out, first

    def undo_body(self, name: str, step: Step) -> dict[str, Any]:
        """The undo call itself: aws:executeAwsApi, or a script (another region, an action)."""
        comp = step.compensate
        assert comp is not None
        if comp.aws is not None and self._primary(comp.aws):
            return {"name": name, "action": "aws:executeAwsApi", "inputs": self.api(comp.aws, step)}
        if comp.aws is not None:
            payload = {"kind": "aws", "call": self.call(comp.aws, step)}
            body = {**self.script(name, step, self.value(payload, step)), "name": name}
        elif comp.http is not None:
            http = comp.http.model_dump(by_alias=True, exclude_none=True)
            body = self.script(name, step, self.value({"kind": "http", "http": http}, step))
        else:
            body = self.action(name, step, comp.action)
        body.pop("outputs", None)
        return body


def export_document(runbook: Runbook, env_scope: dict[str, Any], source: str) -> dict[str, Any]:
    """A runbook as an SSM Automation document; ValidationError names what cannot be."""
    exporter = Exporter(runbook, env_scope, source)
    doc = exporter.document()
    exporter.check_written(doc)
    return doc
