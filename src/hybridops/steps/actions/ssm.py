"""What an SSM Automation document reads as `{{ global:... }}`: the account, the time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

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


class ScriptInputs(BaseModel):
    """Inputs of `ssm.execute_script` (an Automation document's `aws:executeScript`)."""

    script: str
    handler: str
    payload: Any = None
    timeout_s: float = Field(600.0, gt=0, le=3600)


# What the script printed is kept (journal, JSON), its end: enough to read why it failed.
MAX_SCRIPT_OUTPUT = 16384


@action("ssm.execute_script", inputs=ScriptInputs, waits=True)
def execute_script(inputs: ScriptInputs, ctx: StepContext) -> dict[str, Any]:
    """Run the document's Python in a child interpreter; its boto3 calls pass hybridops' gate.

    The script's return value is `Payload`; what it printed is `output`. In a dry run the
    script stops at its first change (planned, not sent): what it does next depends on it.
    """
    import json
    import os
    import select
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
        )
        os.close(requests_w)
        os.close(answers_r)
        requests = os.fdopen(requests_r, "r")
        answers = os.fdopen(answers_w, "w")
        try:
            assert proc.stdin is not None
            job = {"script": inputs.script, "handler": inputs.handler, "payload": inputs.payload}
            proc.stdin.write(json.dumps(job, default=str).encode())
            proc.stdin.close()
            deadline = time.monotonic() + inputs.timeout_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimedOut(f"the script ran longer than {inputs.timeout_s:g}s: stopped")
                if ctx.stop.is_set():
                    raise KeyboardInterrupt
                ready, _, _ = select.select([requests], [], [], min(remaining, 0.2))
                if not ready:
                    continue
                line = requests.readline()
                if not line:
                    break
                message = json.loads(line)
                if "call" in message:
                    answers.write(json.dumps(_script_call(message["call"], ctx), default=str))
                    answers.write("\n")
                    answers.flush()
                    continue
                kind = next(iter(message))
                outcome = (kind, message[kind])
                answered = True
                break
        finally:
            answers.close()  # the child's last question gets EOF: it exits
            if not answered:  # a timeout, an interrupt, a refusal: stopped now
                proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            requests.close()
        printed.seek(0)
        output = printed.read()[-MAX_SCRIPT_OUTPUT:].decode("utf-8", errors="replace")
    kind, value = outcome
    if kind == "failed":
        tail = f" (it printed: {output.strip()[-300:]})" if output.strip() else ""
        raise CheckFailed(f"the script failed: {value}{tail}")
    return {"Payload": value if kind == "done" else None, "output": output}


def _script_call(call: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """One boto3 call of the script, made with hybridops' gated client; its answer."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = ctx.clients.client(str(call["service"]), call.get("region") or "primary")
    operation = str(call["operation"])
    if operation not in client.meta.method_to_api_mapping:
        return {"error": {"Code": "UnknownOperation", "Message": f"{operation} is no API call"}}
    params = call.get("params") or {}
    try:
        if call.get("paginate"):
            pages = list(client.get_paginator(operation).paginate(**params))
            return {"result": [_without_metadata(p) for p in pages]}
        result = getattr(client, operation)(**params)
    except ClientError as exc:
        return {"error": exc.response.get("Error", {})}
    except BotoCoreError as exc:
        return {"error": {"Code": type(exc).__name__, "Message": str(exc)}}
    if (result.get("ResponseMetadata") or {}).get("HybridopsPlanned"):
        return {"planned": True}
    return {"result": _without_metadata(result)}


def _without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}
