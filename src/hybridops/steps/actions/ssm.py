"""What an SSM Automation document reads as `{{ global:... }}`: the account, the time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from hybridops.errors import aws_error
from hybridops.steps.registry import action, shell_equivalent

if TYPE_CHECKING:
    from hybridops.steps.base import StepContext

# SSM's format for {{ global:DATE_TIME }}: 2026-11-30_05.19.29.
DATE_TIME_FORMAT = "%Y-%m-%d_%H.%M.%S"


class GlobalsInputs(BaseModel):
    """Inputs of `ssm.globals`: which globals the document reads."""

    account_id: bool = False


@action("ssm.globals", inputs=GlobalsInputs)
def globals_(inputs: GlobalsInputs, ctx: StepContext) -> dict[str, Any]:
    """The account (STS GetCallerIdentity, a read) and the date and time, as SSM gives them."""
    out: dict[str, Any] = {"date_time": dt.datetime.now(dt.timezone.utc).strftime(DATE_TIME_FORMAT)}
    if inputs.account_id:
        out["account_id"] = ctx.clients.client("sts", "primary").get_caller_identity()["Account"]
    return out


@shell_equivalent("ssm.globals")
def globals_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """`aws sts get-caller-identity` and `date -u`."""
    from hybridops.shell.words import word

    out = {"date_time": '"$(date -u +%Y-%m-%d_%H.%M.%S)"'}
    if inputs.get("account_id"):
        region = word(ctx.region("primary"))
        out["account_id"] = (
            f'"$(aws sts get-caller-identity --region {region} --query Account --output text)"'
        )
    return out


class CheckParametersInputs(BaseModel):
    """Inputs of `ssm.check_parameters`: SSM's rules the native types do not carry."""

    rules: dict[str, dict[str, Any]]
    values: dict[str, Any] = Field(default_factory=dict)


@action("ssm.check_parameters", inputs=CheckParametersInputs)
def check_parameters(inputs: CheckParametersInputs, ctx: StepContext) -> dict[str, Any]:
    """SSM's parameter rules: per-item allowedValues/allowedPattern, minChars..maxItems."""
    import re

    from hybridops.errors import BadInput

    for name, rules in inputs.rules.items():
        value = inputs.values.get(name)
        items = value if isinstance(value, list) else [value]
        where = f"parameter {name}"
        if isinstance(value, list):
            if "minItems" in rules and len(value) < int(rules["minItems"]):
                raise BadInput(f"{where}: at least {rules['minItems']} items (got {len(value)})")
            if "maxItems" in rules and len(value) > int(rules["maxItems"]):
                raise BadInput(f"{where}: at most {rules['maxItems']} items (got {len(value)})")
        for item in items:
            text = item if isinstance(item, str) else str(item)
            if "minChars" in rules and len(text) < int(rules["minChars"]):
                raise BadInput(f"{where}: {text!r} is shorter than {rules['minChars']} characters")
            if "maxChars" in rules and len(text) > int(rules["maxChars"]):
                raise BadInput(f"{where}: {text!r} is longer than {rules['maxChars']} characters")
            allowed = rules.get("allowedValues")
            if allowed is not None and item not in allowed and text not in map(str, allowed):
                raise BadInput(f"{where}: {text!r} is not one of {', '.join(map(str, allowed))}")
            pattern = rules.get("allowedPattern")
            if pattern is not None and re.fullmatch(pattern, text) is None:
                raise BadInput(f"{where}: {text!r} does not match {pattern!r}")
    return {"checked": sorted(inputs.rules)}


class SleepInputs(BaseModel):
    """Inputs of `ssm.sleep`: an ISO 8601 duration known only at run time (`{{ Param }}`)."""

    duration: str


@action("ssm.sleep", inputs=SleepInputs, waits=True)
def sleep(inputs: SleepInputs, ctx: StepContext) -> dict[str, Any]:
    """aws:sleep with a templated Duration: parsed when the run reaches it (up to 7 days)."""
    from hybridops.errors import ValidationError
    from hybridops.ssm.automation import seconds

    slept = seconds(inputs.duration, f"step {ctx.step_name}")
    if slept > 7 * 86400:
        raise ValidationError(f"step {ctx.step_name}: Duration {inputs.duration} is over 7 days")
    ctx.sleep(slept)
    return {"slept_s": slept}


class AssumeRoleInputs(BaseModel):
    """Inputs of `ssm.assume_role`: the document's AutomationAssumeRole (empty: none)."""

    role: str = ""


@action("ssm.assume_role", inputs=AssumeRoleInputs, rerun_on_resume=True)
def assume_role(inputs: AssumeRoleInputs, ctx: StepContext) -> dict[str, Any]:
    """Run the rest as the role (STS AssumeRole); empty, as the environment's credentials."""
    role = inputs.role.strip()
    if not role:
        return {"role": "", "runs_as": "the environment's credentials (no role given)"}
    if not role.startswith("arn:") or ":role/" not in role:
        from hybridops.errors import ValidationError

        raise ValidationError(f"AutomationAssumeRole {role!r} is not an IAM role ARN")
    assumed = ctx.clients.assume_role(role, f"hybridops-{ctx.run_id}")
    return {"role": role, "runs_as": assumed["role"], "expires": assumed["expires"]}


def script_context(script: str, ctx: StepContext) -> dict[str, Any]:
    """The `context` SSM gives a handler: the globals and the execution id.

    The account is an STS read, made only when the script names it.
    """
    region = ctx.clients.region_for("primary")
    partition = (
        "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-")
        else "aws"
    )  # fmt: skip
    now = dt.datetime.now(dt.timezone.utc)
    out: dict[str, Any] = {
        "global:REGION": region,
        "global:AWS_PARTITION": partition,
        "global:AWS_URL_SUFFIX": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        "global:DATE": now.strftime("%Y-%m-%d"),
        "global:DATE_TIME": now.strftime(DATE_TIME_FORMAT),
        "automation:EXECUTION_ID": ctx.run_id,
        "automation:DOCUMENT_EXECUTION_ID": ctx.run_id,
    }
    if "global:ACCOUNT_ID" in script:
        identity = ctx.clients.client("sts", "primary").get_caller_identity()
        out["global:ACCOUNT_ID"] = identity["Account"]
    return out


class ScriptInputs(BaseModel):
    """Inputs of `ssm.execute_script` (an Automation document's `aws:executeScript`)."""

    script: str
    handler: str
    payload: Any = None
    timeout_s: float = Field(600.0, gt=0, le=3600)


# What the script printed is kept (journal, JSON), its end: enough to read why it failed.
MAX_SCRIPT_OUTPUT = 16384
# More than this printed, and the script is stopped: a full disk helps nobody at 3 a.m.
MAX_PRINTED_BYTES = 64 << 20
MAX_MESSAGE_BYTES = 8 << 20


def describe_script(inputs: dict[str, Any]) -> str:
    """`python script: what it does`, not its first line of code."""
    import json

    payload = inputs.get("payload")
    lines = str(inputs.get("script") or "").count("\n") + 1
    head = f"python script {inputs.get('handler')}() ({lines} lines)"
    if isinstance(payload, dict) and payload.get("kind") and payload.get("step"):
        # An exported hybridops step: say which, and what it calls.
        call = payload.get("call") or {}
        http = payload.get("http") or {}
        what = (
            f"{call.get('service')}.{call.get('operation')}"
            if call
            else f"{http.get('method', 'GET')} {http.get('url')}"
            if http
            else payload.get("action") or payload.get("condition") or ""
        )
        return f"{head}: hybridops {payload['kind']} step {payload['step']} {what}".rstrip()
    text = json.dumps(payload, default=str, separators=(",", ":"))
    return f"{head} with {text[:80] + '...' if len(text) > 80 else text}"


@action(
    "ssm.execute_script",
    inputs=ScriptInputs,
    mutating=True,
    waits=True,
    describe=describe_script,
)
def execute_script(inputs: ScriptInputs, ctx: StepContext) -> dict[str, Any]:
    """Run the document's Python in a child interpreter; its boto3 calls pass hybridops' gate.

    The script's return value is `Payload`; what it printed is `output`. Running it is itself a
    change to the gate: confirmed, audited, planned (not run) in a dry run, refused read-only.
    """

    from hybridops.gate import Call

    # A script is code, run as you: whatever it does, running it is a change. It passes the
    # gate as one: confirmed (or --yes), audited, refused read-only, and in a dry run planned
    # and NOT run — code could reach AWS other than through the proxy, so nothing promised
    # about a dry run would hold if it ran.
    lines = inputs.script.count("\n") + 1
    run = Call(
        service="ssm",
        operation="execute_script",
        params={"Handler": inputs.handler, "Script": f"{lines} lines of Python"},
        mutating=True,
        region=ctx.clients.region_for("primary"),
    )
    if not ctx.gate.check(run):
        return {"Payload": None, "output": ""}
    try:
        result = _run_script(inputs, ctx)
    except BaseException as exc:
        ctx.gate.after(run, ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        raise
    ctx.gate.after(run, ok=True)
    return result


def _run_script(inputs: ScriptInputs, ctx: StepContext) -> dict[str, Any]:
    """The child interpreter, its questions answered until it returns, fails or times out."""
    import json
    import os
    import select
    import signal
    import subprocess
    import sys
    import tempfile
    import time
    from pathlib import Path

    from hybridops.errors import CheckFailed, TimedOut

    child = Path(__file__).resolve().parent.parent.parent / "ssm" / "script_child.py"
    requests_r, requests_w = os.pipe()
    answers_r, answers_w = os.pipe()
    # The child holds no credentials, and none of this process's variables (webhook URLs,
    # tokens): every call it makes is made here, through the gate.
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {
        "PYTHONUNBUFFERED": "1",
        "HYBRIDOPS_SCRIPT_REQUESTS": str(requests_w),
        "HYBRIDOPS_SCRIPT_ANSWERS": str(answers_r),
    }
    outcome: tuple[str, Any] = ("failed", "the script ended without an answer")
    answered = False
    with tempfile.TemporaryFile() as printed:
        proc = subprocess.Popen(
            [sys.executable, str(child)],
            stdin=subprocess.PIPE,
            stdout=printed,
            stderr=subprocess.STDOUT,
            env=env,
            pass_fds=(requests_w, answers_r),
            # Its own session: what it starts is stopped with it.
            start_new_session=True,
        )
        os.close(requests_w)
        os.close(answers_r)
        requests = os.fdopen(requests_r, "r")
        answers = os.fdopen(answers_w, "w")
        try:
            assert proc.stdin is not None
            job = {
                "script": inputs.script,
                "handler": inputs.handler,
                "payload": inputs.payload,
                "context": script_context(inputs.script, ctx),
            }
            proc.stdin.write(json.dumps(job, default=str).encode())
            proc.stdin.close()
            deadline = time.monotonic() + inputs.timeout_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimedOut(f"the script ran longer than {inputs.timeout_s:g}s: stopped")
                if ctx.stop.is_set():
                    raise KeyboardInterrupt
                if os.fstat(printed.fileno()).st_size > MAX_PRINTED_BYTES:
                    outcome = ("failed", f"it printed more than {MAX_PRINTED_BYTES >> 20} MiB")
                    break
                ready, _, _ = select.select([requests], [], [], min(remaining, 0.2))
                if not ready:
                    continue
                line = requests.readline(MAX_MESSAGE_BYTES)
                if not line:
                    break
                try:
                    message = json.loads(line)
                    kind = next(iter(message))
                    if kind not in ("call", "done", "planned", "failed"):
                        raise ValueError(kind)
                except (ValueError, TypeError, StopIteration, RecursionError):
                    outcome = ("failed", "it sent something that is not a request: stopped")
                    break
                if kind == "call":
                    answer = _script_call(message["call"], ctx)
                    answers.write(json.dumps(answer, default=str) + "\n")
                    answers.flush()
                    continue
                outcome = (kind, message[kind])
                answered = True
                break
        finally:
            answers.close()  # the child's last question gets EOF: it exits
            if not answered:  # a timeout, an interrupt, a refusal: stopped now
                _stop(proc, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _stop(proc, signal.SIGKILL)
                proc.wait()
            _stop(proc, signal.SIGKILL)  # whatever it started, too
            requests.close()
        size = os.fstat(printed.fileno()).st_size
        printed.seek(max(0, size - MAX_SCRIPT_OUTPUT))
        output = printed.read(MAX_SCRIPT_OUTPUT).decode("utf-8", errors="replace")
    kind, value = outcome
    if kind == "failed":
        tail = f" (it printed: {output.strip()[-300:]})" if output.strip() else ""
        raise CheckFailed(f"the script failed: {value}{tail}")
    return {"Payload": value if kind == "done" else None, "output": output}


def _stop(proc: Any, sig: int) -> None:
    """Signal the script's whole session (it may have started processes of its own)."""
    import contextlib
    import os

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _script_call(call: Any, ctx: StepContext) -> dict[str, Any]:
    """One boto3 call of the script, made with hybridops' gated client; its answer."""
    from botocore.exceptions import BotoCoreError, ClientError, UnknownServiceError

    if not isinstance(call, dict) or not isinstance(call.get("params") or {}, dict):
        return {"error": {"Code": "InvalidRequest", "Message": "a call needs a mapping of params"}}
    try:
        client = ctx.clients.client(str(call.get("service")), call.get("region") or "primary")
    except UnknownServiceError:
        name = str(call.get("service"))[:60]
        return {"error": {"Code": "UnknownService", "Message": f"no AWS service {name!r}"}}
    operation = str(call.get("operation"))
    if operation not in client.meta.method_to_api_mapping:
        return {"error": {"Code": "UnknownOperation", "Message": f"{operation} is no API call"}}
    params = call.get("params") or {}
    try:
        if call.get("paginate"):
            pages = list(client.get_paginator(operation).paginate(**params))
            return {"result": [_without_metadata(p) for p in pages]}
        result = getattr(client, operation)(**params)
    except ClientError as exc:
        return {"error": aws_error(exc)}
    except BotoCoreError as exc:
        return {"error": {"Code": type(exc).__name__, "Message": str(exc)}}
    if (result.get("ResponseMetadata") or {}).get("HybridopsPlanned"):
        return {"planned": True}
    return {"result": _without_metadata(result)}


def _without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    """The response as boto3 gives it; of its metadata, what scripts test (not the headers)."""
    meta = response.get("ResponseMetadata") or {}
    out = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    out["ResponseMetadata"] = {
        k: meta[k] for k in ("RequestId", "HTTPStatusCode", "RetryAttempts") if k in meta
    }
    return out
