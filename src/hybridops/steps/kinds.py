"""The built-in step kinds: aws, http, wait, assert, confirm, sleep, action."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, ClassVar

from hybridops.engine import matching
from hybridops.errors import CheckFailed, Refused, RemoteError, TimedOut
from hybridops.gate.classify import aws_mutates, http_mutates
from hybridops.gate.core import Call
from hybridops.plaintext import said_yes
from hybridops.steps.registry import ACTIONS, load_builtin_actions, register_kind

if TYPE_CHECKING:
    from hybridops.engine.models import Step
    from hybridops.steps.base import StepContext

MAX_TEXT = 65536
MAX_BODY = 1 << 20


def _short(params: Any, limit: int = 120) -> str:
    text = json.dumps(params, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def call_aws(body: dict[str, Any], ctx: StepContext, read_timeout: float | None = None) -> Any:
    """Make one boto3 call through the factory (and so through the gate)."""
    client = ctx.clients.client(body["service"], body.get("region"), read_timeout=read_timeout)
    method = getattr(client, body["operation"])
    response = method(**(body.get("params") or {}))
    if isinstance(response, dict):
        response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return response


def read_bounded(client: Any, method: str, url: str, timeout: float, **kwargs: Any) -> Any:
    """Send a request and read its body within `timeout` in total and MAX_BODY bytes.

    httpx's timeout bounds each read, so a body that trickles a byte at a time would otherwise
    hold the step forever; a body past MAX_BODY is cut (a health answer is small).
    """
    import httpx

    deadline = time.monotonic() + timeout
    with client.stream(method, url, timeout=timeout, **kwargs) as response:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("body still arriving", request=response.request)
            if size >= MAX_BODY:
                break
    # The body is already decoded: drop the headers that describe the wire form.
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(chunks)[:MAX_BODY],
        request=response.request,
    )


def call_http(body: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Make one HTTP request through the gated client; return the result mapping."""
    import httpx

    kwargs: dict[str, Any] = {"headers": body.get("headers") or {}}
    if body.get("json") is not None:
        kwargs["json"] = body["json"]
    elif body.get("body") is not None:
        kwargs["content"] = body["body"]
    timeout = body.get("timeout_s") or 10.0
    remaining = ctx.remaining()
    if remaining is not None:
        timeout = max(0.1, min(timeout, remaining))
    started = time.perf_counter()
    try:
        response = read_bounded(
            ctx.http.client(), body.get("method", "GET"), body["url"], timeout, **kwargs
        )
    except httpx.TimeoutException:
        raise RemoteError(
            f"HTTP {body.get('method', 'GET')} {body['url']}: timed out after {timeout:g}s"
        ) from None
    except httpx.HTTPError as exc:
        raise RemoteError(
            f"HTTP {body.get('method', 'GET')} {body['url']}: {exc or type(exc).__name__}"
        ) from None
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    text = response.text[:MAX_TEXT]
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "json": parsed,
        "text": text,
        "elapsed_ms": elapsed_ms,
    }


@register_kind
class AwsKind:
    """`aws:` one boto3 call."""

    name: ClassVar[str] = "aws"

    def shell(self, step: Step, body: dict[str, Any], ctx: Any) -> None:
        """As shell commands (`run --print-cli`, runbook docs)."""
        from hybridops.shell.steps import aws_lines

        aws_lines(step, body, ctx)

    def mutating(self, step: Step) -> bool:
        assert step.aws is not None
        return aws_mutates(step.aws.service, step.aws.operation)

    def waits(self, step: Step) -> bool:
        return False

    def describe(self, step: Step, body: dict[str, Any]) -> str:
        return f"aws {body['service']}.{body['operation']} {_short(body.get('params') or {})}"

    def run(self, step: Step, body: dict[str, Any], ctx: StepContext) -> Any:
        return call_aws(body, ctx, read_timeout=step.timeout_s)

    def planned_call(self, step: Step, body: dict[str, Any], ctx: StepContext) -> Call:
        """The call this step would make (dry runs whose inputs are not known yet)."""
        return Call(
            service=body["service"],
            operation=body["operation"],
            params=body.get("params") or {},
            mutating=True,
            region=ctx.clients.region_for(body.get("region")),
        )


@register_kind
class HttpKind:
    """`http:` one HTTP request."""

    name: ClassVar[str] = "http"

    def shell(self, step: Step, body: dict[str, Any], ctx: Any) -> None:
        """As shell commands (`run --print-cli`, runbook docs)."""
        from hybridops.shell.steps import http_lines

        http_lines(step, body, ctx)

    def mutating(self, step: Step) -> bool:
        assert step.http is not None
        return http_mutates(step.http.method)

    def waits(self, step: Step) -> bool:
        return False

    def describe(self, step: Step, body: dict[str, Any]) -> str:
        return f"http {body.get('method', 'GET')} {body['url']}"

    def run(self, step: Step, body: dict[str, Any], ctx: StepContext) -> Any:
        return call_http(body, ctx)

    def planned_call(self, step: Step, body: dict[str, Any], ctx: StepContext) -> Call:
        """The request this step would make."""
        return Call(
            service="http",
            operation=body.get("method", "GET"),
            params={"url": body["url"]},
            mutating=True,
        )


def _seconds(step: Step, body: dict[str, Any], key: str, default: float) -> float:
    """A wait's timeout_s or interval_s, rendered (it may come from a parameter)."""
    from hybridops.errors import BadInput

    value = body.get(key, default)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or seconds < 0 or (key == "timeout_s" and seconds == 0):
        raise BadInput(f"step {step.name!r}: {key} must be a positive number, got {value!r}")
    return seconds


@register_kind
class WaitKind:
    """`wait:` poll a read-only call until `until` holds, or time out (exit 5)."""

    name: ClassVar[str] = "wait"

    def shell(self, step: Step, body: dict[str, Any], ctx: Any) -> None:
        """As shell commands (`run --print-cli`, runbook docs)."""
        from hybridops.shell.steps import wait_lines

        wait_lines(step, body, ctx)

    def mutating(self, step: Step) -> bool:
        return False

    def waits(self, step: Step) -> bool:
        return True

    def describe(self, step: Step, body: dict[str, Any]) -> str:
        what = (
            f"{body['aws']['service']}.{body['aws']['operation']}"
            if body.get("aws")
            else f"{body['http'].get('method', 'GET')} {body['http']['url']}"
        )
        return f"wait for {what} until {_short(body['until'], 80)}"

    def run(self, step: Step, body: dict[str, Any], ctx: StepContext) -> Any:
        from hybridops.engine.events import WaitProgress

        # A step-level timeout_s bounds the wait as well.
        started, timeout = ctx.wait_window(_seconds(step, body, "timeout_s", 600.0))
        interval = _seconds(step, body, "interval_s", 5.0)
        deadline = started + timeout
        last = "no poll yet"
        while True:
            try:
                result = (
                    call_aws(body["aws"], ctx) if body.get("aws") else call_http(body["http"], ctx)
                )
                mismatches = matching.evaluate(result, body["until"])
            except RemoteError as exc:
                if not body.get("http"):
                    raise
                # An endpoint that is not up yet is what a wait is for.
                result, mismatches, last = None, None, str(exc)
            if mismatches == []:
                return result
            if mismatches:
                last = "; ".join(str(m) for m in mismatches)
            elapsed = time.monotonic() - started
            ctx.emit(WaitProgress(ctx.run_id, step.name, elapsed, timeout, last))
            if time.monotonic() + interval > deadline:
                raise TimedOut(f"step {step.name!r}: not done after {timeout:.3g}s ({last})")
            ctx.sleep(interval)


@register_kind
class AssertKind:
    """`assert:` check values already known (params, step outputs, env)."""

    name: ClassVar[str] = "assert"

    def shell(self, step: Step, body: dict[str, Any], ctx: Any) -> None:
        """As shell commands (`run --print-cli`, runbook docs)."""
        from hybridops.shell.steps import assert_lines

        assert_lines(step, body, ctx)

    def mutating(self, step: Step) -> bool:
        return False

    def waits(self, step: Step) -> bool:
        return False

    def describe(self, step: Step, body: dict[str, Any]) -> str:
        return f"assert {_short(body['that'], 100)}"

    def run(self, step: Step, body: dict[str, Any], ctx: StepContext) -> Any:
        mismatches = matching.evaluate(ctx.scope, body["that"])
        if mismatches:
            detail = "; ".join(str(m) for m in mismatches)
            message = body.get("message")
            text = f"{message}: {detail}" if message else f"assertion failed: {detail}"
            # A guardrail (refuse: true) stops the run as refused (exit 3), not as a failure.
            raise Refused(text) if body.get("refuse") else CheckFailed(text)
        return {"ok": True}


@register_kind
class ConfirmKind:
    """`confirm:` ask the operator; `typed` demands the exact text."""

    name: ClassVar[str] = "confirm"

    def shell(self, step: Step, body: dict[str, Any], ctx: Any) -> None:
        """As shell commands (`run --print-cli`, runbook docs)."""
        from hybridops.shell.steps import confirm_lines

        confirm_lines(step, body, ctx)

    def mutating(self, step: Step) -> bool:
        return False

    def waits(self, step: Step) -> bool:
        return False

    def describe(self, step: Step, body: dict[str, Any]) -> str:
        # The message itself is shown once: in the prompt, or as a note when nobody is asked.
        return "confirm before changing anything"

    def run(self, step: Step, body: dict[str, Any], ctx: StepContext) -> Any:
        from hybridops.engine.events import StepNote
        from hybridops.engine.matching import holds
        from hybridops.plaintext import as_table, short_arns

        typed = body.get("typed")
        demand_typed = bool(typed) and (
            body.get("typed_when") is None or holds(body["typed_when"], ctx.scope)
        )
        region = ctx.clients.region_for(body.get("region"))
        lines = [f"In {ctx.gate.where(region)}:", " ".join(str(body["message"]).split())]
        if body.get("table") not in (None, "", [], {}):
            lines.append(as_table(body["table"]))
        lines = [short_arns(line) for line in lines]
        if demand_typed and body.get("danger"):
            lines.append(f"DANGER: {' '.join(str(body['danger']).split())}")
        text = "\n".join(line for line in lines if line)

        def note(prefix: str) -> None:
            ctx.emit(StepNote(ctx.run_id, step.name, f"{prefix}\n{text}"))

        if ctx.mode.dry_run:
            note("would ask:")
            return {"confirmed": None}
        if ctx.mode.assume_yes and not demand_typed:
            note("confirmed by --yes:")
            ctx.gate.authorize_all()
            return {"confirmed": True}
        if not ctx.interactive or ctx.ask is None:
            raise Refused(
                f"step {step.name!r} needs confirmation and there is no terminal to ask on",
                hint=f"this change must be confirmed by typing {typed!r} on a terminal"
                if demand_typed
                else "pass --yes",
            )
        if demand_typed:
            answer = ctx.ask(f"{text}\nType {typed!r} to continue: ")
            ok = answer.strip() == typed
        else:
            answer = ctx.ask(f"{text}\nProceed? [y/N] ")
            ok = said_yes(answer)
        if not ok:
            raise Refused(f"step {step.name!r}: not confirmed")
        ctx.gate.authorize_all()
        return {"confirmed": True}


@register_kind
class SleepKind:
    """`sleep:` pause."""

    name: ClassVar[str] = "sleep"

    def shell(self, step: Step, body: dict[str, Any], ctx: Any) -> None:
        """As shell commands (`run --print-cli`, runbook docs)."""
        from hybridops.shell.steps import sleep_lines

        sleep_lines(step, body, ctx)

    def mutating(self, step: Step) -> bool:
        return False

    def waits(self, step: Step) -> bool:
        return True

    def describe(self, step: Step, body: dict[str, Any]) -> str:
        return f"sleep {body['seconds']:g}s"

    def run(self, step: Step, body: dict[str, Any], ctx: StepContext) -> Any:
        ctx.sleep(float(body["seconds"]))
        return {"slept_s": body["seconds"]}


@register_kind
class ActionKind:
    """`action:` a registered Python function with typed inputs."""

    name: ClassVar[str] = "action"

    def shell(self, step: Step, body: dict[str, Any], ctx: Any) -> None:
        """As shell commands (`run --print-cli`, runbook docs)."""
        from hybridops.shell.steps import action_lines

        action_lines(step, body, ctx)

    def mutating(self, step: Step) -> bool:
        load_builtin_actions()
        assert step.action is not None
        return ACTIONS[step.action.name].mutating

    def waits(self, step: Step) -> bool:
        load_builtin_actions()
        assert step.action is not None
        return ACTIONS[step.action.name].waits

    def describe(self, step: Step, body: dict[str, Any]) -> str:
        load_builtin_actions()
        definition = ACTIONS.get(body["name"])
        if definition is not None and definition.describe is not None:
            return definition.describe(body.get("inputs") or {})
        return f"action {body['name']} {_short(body.get('inputs') or {}, 100)}"

    def run(self, step: Step, body: dict[str, Any], ctx: StepContext) -> Any:
        load_builtin_actions()
        definition = ACTIONS[body["name"]]
        inputs = definition.parse_inputs(body.get("inputs") or {})
        return definition.func(inputs, ctx)
