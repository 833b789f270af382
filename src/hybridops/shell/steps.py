"""How each step kind reads as shell: `aws` and `curl` commands, polls, checks, prompts."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

from hybridops.shell.jq import JQ_DEFS, Untranslatable, node_jq
from hybridops.shell.words import Ref, dq, json_word, quote, scalar_text, word
from hybridops.shell.writer import expectation_test, expectation_words

if TYPE_CHECKING:
    from hybridops.engine.models import Step
    from hybridops.shell.script import ScriptContext

# boto3 service names whose AWS CLI command differs.
CLI_SERVICE = {"s3": "s3api"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
                words.append(f'"$(truthy "${{{value.var}}}" && echo {flag} || echo {no_flag})"')
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


def _expression(value: Any) -> str:
    """A JMESPath (maybe with ${{ }} parts, now variables) as query text."""
    if isinstance(value, Ref):
        raise Untranslatable("a whole ${{ }} reference as a JMESPath")
    return str(value)


def aws_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """An `aws:` step: the command, its outputs captured, its expectations checked."""
    w = ctx.writer
    words = aws_words(body, ctx)
    outputs = {name: _expression(ctx.symbolic(expr)) for name, expr in step.outputs.items()}
    expect = {_expression(ctx.symbolic(k)): ctx.symbolic(v) for k, v in step.expect.items()}
    if not outputs and not expect:
        w.command(words)
        return
    items = {f"o{i}": expr for i, expr in enumerate(outputs.values())}
    items |= {f"e{i}": path for i, path in enumerate(expect)}
    response = w.temp("R")
    # --query is JMESPath, as hybridops' outputs and expectations are: one call, every value.
    w.command([*words, "--query", word(_query(items)), "--output", "json"], capture=response)
    for i, name in enumerate(outputs):
        w.line(f'{ctx.output_var(step, name)}=$(field "${response}" o{i})')
    for i, (path, expected) in enumerate(expect.items()):
        actual = f'"$(field "${response}" e{i})"'
        w.check(
            f"{path} is {expectation_words(expected)}", expectation_test(actual, expected), actual
        )


# -- http -------------------------------------------------------------------------------------

HTTP_RESULT = "http_result"


def jq_program(expression: str) -> str:
    """A jq program for a JMESPath: a plain `.a.b?[0]?` for a path, else the full translation."""
    import jmespath

    tree: dict[str, Any] = dict(jmespath.compile(expression).parsed)
    chain = _chain(tree)
    if chain is not None:
        first, *rest = chain
        return first + "".join(f"{part}?" for part in rest)
    return f"{JQ_DEFS} ({node_jq(tree)})"


def _chain(node: dict[str, Any]) -> list[str] | None:
    kind = node["type"]
    if kind == "field":
        name = node["value"]
        return [f".{name}" if _IDENT.match(name) else f'.["{name}"]']
    if kind == "index":
        return [f"[{int(node['value'])}]"]
    if kind in ("subexpression", "index_expression"):
        parts: list[str] = []
        for child in node["children"]:
            sub = _chain(child)
            if sub is None:
                return None
            parts += sub
        return parts
    return None


def _curl(body: dict[str, Any], content: str, headers: str) -> list[str]:
    words = ["curl", "-sS", "-X", word(body.get("method", "GET"))]
    words += ["--max-time", word(body.get("timeout_s", 10))]
    for key, value in (body.get("headers") or {}).items():
        words += ["-H", word(f"{key}: {value}")]
    if body.get("json") is not None:
        words += ["-H", quote("content-type: application/json"), "--data", json_word(body["json"])]
    elif body.get("body") is not None:
        words += ["--data", word(body["body"])]
    words += ["-D", f'"${headers}"', "-o", f'"${content}"']
    return [*words, "-w", quote("%{http_code} %{time_total}"), word(body["url"])]


def http_call(body: dict[str, Any], ctx: ScriptContext) -> tuple[str, str]:
    """The curl command of an http call: (its line, the variable its result will be in)."""
    w = ctx.writer
    content, headers = w.temp("BODY"), w.temp("HEADERS")
    answer, result = w.temp("HTTP"), w.temp("RESULT")
    w.line(f"{content}=$(mktemp) {headers}=$(mktemp)")
    command = f"{answer}=$({' '.join(_curl(body, content, headers))})"
    return command, f'{result}=$({HTTP_RESULT} "${answer}" "${content}" "${headers}")'


def _http_value(path: str, result: str) -> str:
    return f'"$(jqv "${result}" {quote(jq_program(path))})"'


def http_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """An `http:` step: curl, the answer as hybridops sees it, outputs and checks through jq."""
    w = ctx.writer
    command, read = http_call(body, ctx)
    result = read.split("=", 1)[0]
    w.line(command)
    w.line(read)
    for name, expr in step.outputs.items():
        var = ctx.output_var(step, name)
        try:
            w.line(f"{var}={_http_value(_expression(ctx.symbolic(expr)), result)}")
        except ValueError as exc:  # Untranslatable, or a JMESPath that does not parse
            ctx.asks.append((step.name, f"output {name}: {exc}"))
            w.line(f"ask_value {var} {quote(f'the {expr} of the answer')}")
    for path, expected in step.expect.items():
        expected = ctx.symbolic(expected)
        what = f"{path} is {expectation_words(expected)}"
        try:
            value = _http_value(path, result)
        except ValueError as exc:  # Untranslatable, or a JMESPath that does not parse
            w.line(
                f'{ctx.ask(f"Does {what} hold?", str(exc))} || fail 1 "check failed: {dq(what)}"'
            )
            continue
        w.check(what, expectation_test(value, expected), value)


# -- wait -------------------------------------------------------------------------------------


def _seconds(value: Any, default: float) -> Any:
    return default if value is None else value


def deadline_line(ctx: ScriptContext, timeout: Any) -> str:
    """`_DEADLINE=$((SECONDS + N))`: the moment a poll gives up; returns the variable."""
    w = ctx.writer
    deadline = w.temp("DEADLINE")
    if isinstance(timeout, Ref):
        w.line(f'{deadline}=$((SECONDS + $(secs "${{{timeout.var}}}")))')
    else:
        whole = -(-float(timeout) // 1)
        w.line(f"{deadline}=$((SECONDS + {int(whole)}))")
    return deadline


def wait_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """A `wait:` step: poll until the expectations hold; exit 5 at the deadline."""
    w = ctx.writer
    timeout = _seconds(body.get("timeout_s"), 600)
    interval = _seconds(body.get("interval_s"), 5)
    until = body["until"]
    outputs = {name: _expression(ctx.symbolic(expr)) for name, expr in step.outputs.items()}
    w.comment(
        f"Polls every {_shown(interval)}s for up to {_shown(timeout)}s until: {_words(until)}."
    )
    deadline = deadline_line(ctx, timeout)
    message = f'"step {step.name}: not done after {dq(timeout)}s"'
    if body.get("aws"):
        response = w.temp("R")
        items = {f"e{i}": _expression(path) for i, path in enumerate(until)}
        items |= {f"o{i}": expr for i, expr in enumerate(outputs.values())}
        words = [*aws_words(body["aws"], ctx), "--query", word(_query(items)), "--output", "json"]
        with w.block("while :; do", "done"):
            w.command(words, capture=response)
            tests = [
                expectation_test(f'"$(field "${response}" e{i})"', expected)
                for i, expected in enumerate(until.values())
            ]
            w.line(f"if {' && '.join(tests)}; then break; fi")
            w.line(f'[ "$SECONDS" -lt "${deadline}" ] || fail 5 {message}')
            w.line(f"sleep {word(interval)}")
        for i, name in enumerate(outputs):
            w.line(f'{ctx.output_var(step, name)}=$(field "${response}" o{i})')
        return
    command, read = http_call(body["http"], ctx)
    result = read.split("=", 1)[0]
    w.line(f"{result}=null")
    tests = []
    for path, expected in until.items():
        try:
            tests.append(expectation_test(_http_value(str(path), result), expected))
        except ValueError as exc:  # Untranslatable, or a JMESPath that does not parse
            tests.append(ctx.ask(f"Is {path} {expectation_words(expected)} now?", str(exc)))
    with w.block("while :; do", "done"):
        # An endpoint that does not answer yet is what a wait is for: polled again.
        w.line(f"if {command}; then")
        w.line(f"  {read}")
        w.line(f"  if {' && '.join(tests)}; then break; fi")
        w.line("fi")
        w.line(f'[ "$SECONDS" -lt "${deadline}" ] || fail 5 {message}')
        w.line(f"sleep {word(interval)}")
    for name, expr in outputs.items():
        var = ctx.output_var(step, name)
        try:
            w.line(f"{var}={_http_value(expr, result)}")
        except ValueError as exc:  # Untranslatable, or a JMESPath that does not parse
            ctx.asks.append((step.name, f"output {name}: {exc}"))
            w.line(f"ask_value {var} {quote(f'the {expr} of the answer')}")


def _shown(value: Any) -> str:
    return str(value) if isinstance(value, Ref) else scalar_text(value)


def _words(expectations: dict[str, Any]) -> str:
    return "; ".join(f"{k} is {expectation_words(v)}" for k, v in expectations.items())


# -- assert, confirm, sleep -------------------------------------------------------------------


def assert_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """An `assert:` step: checks over parameters and outputs (a guardrail exits 3)."""
    w = ctx.writer
    code = 3 if body.get("refuse") else 1
    label = " ".join(str(body.get("message") or "assertion failed").split())
    for path, expected in body["that"].items():
        path = str(path)
        if isinstance(expected, bool):
            try:
                test = ctx.boolean(path)
            except (Untranslatable, ValueError):
                pass
            else:
                # A comparison that must hold (or must not): the test itself.
                test = test if expected else f"! {{ {test}; }}"
                what = f"{label}: {path} should be {expectation_words(expected)}"
                w.line(f'{test} || fail {code} "{dq(what)}"')
                continue
        try:
            actual = ctx.value(path)
        except (Untranslatable, ValueError) as exc:
            question = ctx.ask(
                f"{label}: does {path} hold as {expectation_words(expected)}?", str(exc)
            )
            w.line(f"{question} || fail {code} {word(label)}")
            continue
        if "$(" in actual:
            # Computed once, then tested and shown.
            value = w.temp("VALUE")
            w.line(f"{value}={actual}")
            actual = f'"${value}"'
        shown = actual[1:-1] if actual.startswith('"') else actual
        what = f"{label}: {path} should be {expectation_words(expected)}"
        w.line(f'{expectation_test(actual, expected)} || fail {code} "{dq(what)} (got {shown})"')


def confirm_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """A `confirm:` step: the operator says yes (or types the word), else exit 3."""
    w = ctx.writer
    message = body["message"]
    if isinstance(message, str):
        message = " ".join(message.split())
    typed = body.get("typed")
    condition = body.get("typed_when")
    if body.get("region") is not None:
        w.line(f'echo "In region {dq(ctx.region(body["region"]))}:" >&2')
    table = body.get("table")
    if table not in (None, "", [], {}):
        # What the change is (a diff, a list), shown before the question.
        w.line(f"printf '%s\\n' {word(table)} >&2")

    def typed_lines() -> None:
        danger = " ".join(str(body.get("danger") or "").split())
        answer = w.temp("ANSWER")
        prompt = f"{message}{' DANGER: ' + danger if danger else ''} Type {typed} to continue: "
        w.line(f'{answer}=""')
        w.line(f"printf '%s' {word(prompt)} >&2")
        w.line(f"read -r {answer} || true")
        w.line(f'[ "${answer}" = {word(typed)} ] || fail 3 "not confirmed"')

    if typed and condition:
        # Typed only when the change is dangerous (e.g. it removes all capacity).
        with w.block(f"if {ctx.condition(condition)}; then", "else"):
            typed_lines()
        w.line(f'  ask {word(message)} || fail 3 "not confirmed"')
        w.line("fi")
    elif typed:
        typed_lines()
    else:
        w.line(f'ask {word(message)} || fail 3 "not confirmed"')


def sleep_lines(step: Step, body: dict[str, Any], ctx: ScriptContext) -> None:
    """A `sleep:` step."""
    ctx.writer.line(f"sleep {word(body['seconds'])}")


# -- action -----------------------------------------------------------------------------------


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
    if equivalent is None:
        ctx.asks.append((step.name, f"action {name} has no shell equivalent"))
    for out, expr in step.outputs.items():
        var = ctx.output_var(step, out)
        if expr in results:
            w.line(f"{var}={results[expr]}")
        else:
            if equivalent is not None:
                ctx.asks.append((step.name, f"action {name} does not compute {expr}"))
            w.line(f"ask_value {var} {quote(f'{expr}, as hybridops {name} would compute it')}")
    for path, expected in step.expect.items():
        expected = ctx.symbolic(expected)
        if path in results:
            actual = results[path]
            w.check(
                f"{path} is {expectation_words(expected)}",
                expectation_test(actual, expected),
                actual,
            )
        else:
            ctx.asks.append((step.name, f"action {name}: {path} is not checked"))
            question = f"Is {path} of {name} {expectation_words(expected)}?"
            w.line(f'ask {word(question)} || fail 1 "check failed: {dq(path)}"')
