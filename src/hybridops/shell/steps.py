"""How each step kind reads as shell: `aws` and `curl` commands, polls, checks, prompts."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

from hybridops.shell.words import Ref, json_word, quote, scalar_text, word
from hybridops.shell.writer import expectation_test, expectation_words

if TYPE_CHECKING:
    from hybridops.engine.models import Step
    from hybridops.shell.script import ScriptContext

# boto3 service names whose AWS CLI command differs.
CLI_SERVICE = {"s3": "s3api"}
SIMPLE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?(\.[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?)*$")


@cache
def _operation_shape(service: str, operation: str) -> Any:
    """The botocore input shape of an operation (None when unknown)."""
    import botocore.session
    from botocore import xform_name

    from hybridops.aws.classify import shared_data_loader

    session = botocore.session.get_session()
    session.register_component("data_loader", shared_data_loader())
    try:
        model = session.get_service_model(service)
    except Exception:
        return None
    names = {xform_name(name): name for name in model.operation_names}
    if operation not in names:
        return None
    return model.operation_model(names[operation]).input_shape


def aws_words(body: dict[str, Any], ctx: ScriptContext) -> list[str]:
    """`aws SERVICE OPERATION --region R --flag value ...` for one boto3 call."""
    from botocore import xform_name

    service, operation = body["service"], body["operation"]
    words = ["aws", CLI_SERVICE.get(service, service), operation.replace("_", "-")]
    if service not in ("route53", "iam", "sts") or body.get("region"):
        words += ["--region", word(ctx.region(body.get("region")))]
    shape = _operation_shape(service, operation)
    members = getattr(shape, "members", {}) if shape is not None else {}
    for name, value in (body.get("params") or {}).items():
        member = members.get(name)
        flag = "--" + xform_name(name, "-")
        kind = getattr(member, "type_name", None)
        if kind == "boolean":
            if isinstance(value, Ref):
                no_flag = "--no-" + flag[2:]
                words.append(f'$(truthy "${{{value.var}}}" && echo {flag} || echo {no_flag})')
            else:
                words.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
            words += [flag, *(word(v) for v in value)] if value else [flag, "'[]'"]
        elif isinstance(value, (dict, list)):
            words += [flag, json_word(value, member)]
        else:
            words += [flag, word(value)]
    return words


def _query(items: dict[str, str]) -> str:
    return "{" + ", ".join(f"{key}: {expr}" for key, expr in items.items()) + "}"


def aws_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """An `aws:` step: the command, its outputs captured, its expectations checked."""
    w = ctx.writer
    words = aws_words(body, ctx)
    outputs = {name: ctx.symbolic(expr) for name, expr in step.outputs.items()}
    expect = {str(ctx.symbolic(k)): v for k, v in step.expect.items()}
    if not outputs and not expect:
        w.command(words)
        return
    items = {f"o{i}": str(expr) for i, expr in enumerate(outputs.values())}
    items |= {f"e{i}": path for i, path in enumerate(expect)}
    response = w.temp("R")
    w.command([*words, "--query", word(_query(items)), "--output", "json"], capture=response)
    for i, name in enumerate(outputs):
        w.line(f'{ctx.output_var(step, name)}=$(field "${response}" o{i})')
    for i, (path, expected) in enumerate(expect.items()):
        actual = f'"$(field "${response}" e{i})"'
        what = f"{path} is {expectation_words(expected)}".replace("\x00", "")
        w.check(what, expectation_test(actual, expected), actual)


def _curl(body: dict[str, Any], content: str) -> list[str]:
    words = ["curl", "-sS", "-X", body.get("method", "GET")]
    words += ["--max-time", scalar_text(body.get("timeout_s", 10))]
    for key, value in (body.get("headers") or {}).items():
        words += ["-H", word(f"{key}: {value}")]
    if body.get("json") is not None:
        words += ["-H", quote("content-type: application/json"), "--data", json_word(body["json"])]
    elif body.get("body") is not None:
        words += ["--data", word(body["body"])]
    return [*words, "-o", f'"${content}"', "-w", quote("%{http_code}"), word(body["url"])]


def _http_value(path: str, status: str, content: str) -> str | None:
    """A shell expression for a JMESPath over an http result (status, json..., text)."""
    if path == "status":
        return f'"${status}"'
    if path == "text":
        return f'"$(cat "${content}")"'
    if path.startswith("json.") and SIMPLE_PATH.match(path[5:]):
        jq = "." + path[5:] + ' | if type == "string" then . else tojson end'
        return f'"$(jq -r {quote(jq)} "${content}")"'
    return None


def http_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """An `http:` step: curl, the status and body kept for outputs and expectations."""
    w = ctx.writer
    status, content = w.temp("STATUS"), w.temp("BODY")
    w.line(f"{content}=$(mktemp)")
    w.command(_curl(body, content), capture=status)
    for name, expr in step.outputs.items():
        value = _http_value(expr, status, content)
        var = ctx.output_var(step, name)
        if value is None:
            w.line(f"ask_value {var} {quote('the ' + expr + ' of the answer')}")
        else:
            w.line(f"{var}={value}")
    for path, expected in step.expect.items():
        value = _http_value(path, status, content)
        if value is None:
            w.comment(f"check by hand: {path} is {expectation_words(expected)}")
        else:
            w.check(
                f"{path} is {expectation_words(expected)}", expectation_test(value, expected), value
            )


def wait_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """A `wait:` step: poll until the expectations hold; exit 5 at the deadline."""
    w = ctx.writer
    timeout, interval = body.get("timeout_s", 600), body.get("interval_s", 5)
    until = body["until"]
    deadline = w.temp("DEADLINE")
    w.line(f"{deadline}=$((SECONDS + {int(float(timeout))}))")
    if body.get("aws"):
        response = w.temp("R")
        items = {f"e{i}": str(path) for i, path in enumerate(until)}
        words = [*aws_words(body["aws"], ctx), "--query", word(_query(items)), "--output", "json"]
        probe = " ".join(words)
        tests = [
            expectation_test(f'"$(field "${response}" e{i})"', expected)
            for i, expected in enumerate(until.values())
        ]
        condition = f"{response}=$({probe}) && " + " && ".join(tests)
    else:
        status, content = w.temp("STATUS"), w.temp("BODY")
        w.line(f"{content}=$(mktemp)")
        curl = " ".join(_curl(body["http"], content))
        tests = []
        for path, expected in until.items():
            value = _http_value(str(path), status, content)
            tests.append(expectation_test(value, expected) if value else "ask 'Is it ready?'")
        condition = f"{status}=$({curl}) && " + " && ".join(tests)
    w.comment(f"Poll every {interval}s for up to {timeout}s until: {_words(until)}.")
    with w.block(f"until {condition}; do", "done"):
        message = quote(f"step {step.name}: not done after {timeout}s")
        w.line(f'[ "$SECONDS" -lt "${deadline}" ] || fail 5 {message}')
        w.line(f"sleep {scalar_text(interval)}")


def _words(expectations: dict[str, Any]) -> str:
    return "; ".join(f"{k} is {expectation_words(v)}" for k, v in expectations.items())


def assert_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """An `assert:` step: checks over parameters and outputs (a guardrail exits 3)."""
    w = ctx.writer
    code = 3 if body.get("refuse") else 1
    label = body.get("message") or "assertion failed"
    for path, expected in body["that"].items():
        parts = tuple(str(path).split("."))
        if not SIMPLE_PATH.match(str(path)) or "[" in str(path):
            w.line(
                f"ask {quote(f'{label}: does {path} hold as {expectation_words(expected)}?')}"
                f" || fail {code} {quote(label)}"
            )
            continue
        actual = f'"${{{ctx.ref(parts).var}}}"'
        message = quote(f"{label}: {path} should be {expectation_words(expected)}")
        w.line(f"{expectation_test(actual, expected)} || fail {code} {message}")


def confirm_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """A `confirm:` step: the operator says yes (or types the word), else exit 3."""
    w = ctx.writer
    message = " ".join(str(body["message"]).split())
    typed = body.get("typed")
    condition = body.get("typed_when")

    def typed_lines() -> None:
        danger = " ".join(str(body.get("danger") or "").split())
        answer = w.temp("ANSWER")
        prompt = f"{message}{' DANGER: ' + danger if danger else ''} Type {typed} to continue: "
        w.line(f"read -r -p {word(prompt)} {answer}")
        w.line(f'[ "${answer}" = {word(typed)} ] || fail 3 "not confirmed"')

    if typed and condition:
        # Typed only when the change is dangerous (e.g. it removes all capacity).
        w.line(f"if {ctx.condition(condition)}; then")
        w.indent += 1
        typed_lines()
        w.indent -= 1
        w.line("else")
        w.indent += 1
        w.line(f'ask {word(message)} || fail 3 "not confirmed"')
        w.indent -= 1
        w.line("fi")
    elif typed:
        typed_lines()
    else:
        w.line(f'ask {word(message)} || fail 3 "not confirmed"')


def sleep_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """A `sleep:` step."""
    ctx.writer.line(f"sleep {scalar_text(body['seconds'])}")


def action_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """An `action:` step: its registered shell equivalent, or a prompt for what it computes."""
    from hybridops.steps.registry import ACTIONS, SHELL_EQUIVALENTS, load_builtin_actions

    load_builtin_actions()
    w = ctx.writer
    name = body["name"]
    definition = ACTIONS.get(name)
    if definition is not None:
        w.comment(f"hybridops action {name}: {definition.description}")
    equivalent = SHELL_EQUIVALENTS.get(name)
    results = equivalent(body.get("inputs") or {}, ctx) if equivalent else {}
    for out, expr in step.outputs.items():
        var = ctx.output_var(step, out)
        if expr in results:
            w.line(f"{var}={results[expr]}")
        else:
            w.line(f"ask_value {var} {quote(f'{expr}, as hybridops {name} would compute it')}")
    for path, expected in step.expect.items():
        if path in results:
            actual = results[path]
            w.check(
                f"{path} is {expectation_words(expected)}",
                expectation_test(actual, expected),
                actual,
            )
        else:
            w.comment(f"check by hand: {path} is {expectation_words(expected)}")
