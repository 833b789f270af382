"""Faults end cleanly: credentials missing or expired are exit 4 with the fix, throttling is
retried then named, and an unreachable endpoint is exit 4 — never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hybridops.errors import translate
from tests.conftest import Cli, MotoServer


def test_missing_credentials_exit_4_with_the_fix(
    cli: Cli, moto: MotoServer, write_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(moto.url, sandbox=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookups
    result = cli("scale", "check")
    assert result.code == 4
    assert "Unable to locate credentials" in result.err
    assert "aws sso login --profile NAME" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("code", ["ExpiredTokenException", "ExpiredToken", "RequestExpired"])
def test_expired_credentials_are_exit_4_with_the_fix(code: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "token expired"}}, "DescribeServices")
    translated = translate(error)
    assert translated.exit_code == 4
    assert "DescribeServices" in translated.message
    assert translated.hint and "aws sso login" in translated.hint


def test_throttling_after_retries_names_the_operation() -> None:
    error = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "UpdateService"
    )
    translated = translate(error)
    assert translated.exit_code == 4 and "UpdateService" in translated.message


def test_unreachable_endpoint_is_exit_4(cli: Cli, write_config: Any) -> None:
    write_config("http://127.0.0.1:9", aws_max_attempts=1)  # nothing listens there
    result = cli("-o", "json", "scale", "check")
    assert result.code == 4, result.err
    assert "Traceback" not in result.err


INTERRUPTIBLE = """name: flip
steps:
  - name: read
    aws: {service: ssm, operation: get_parameter, params: {Name: /flag}}
    outputs: {previous: Parameter.Value}
  - name: set
    aws:
      service: ssm
      operation: put_parameter
      params: {Name: /flag, Value: changed, Type: String, Overwrite: true}
    compensate:
      aws:
        service: ssm
        operation: put_parameter
        params: {Name: /flag, Value: "${{ steps.read.outputs.previous }}", Type: String, Overwrite: true}
  - name: wait-forever
    wait:
      aws: {service: ssm, operation: get_parameter, params: {Name: /flag}}
      until: {Parameter.Value: never}
      interval_s: 0.2
      timeout_s: 120
"""


def test_sigint_during_a_wait_after_a_change_is_undone_with_yes(
    moto: MotoServer, write_config: Any, tmp_path: Any
) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys

    write_config(moto.url)
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/flag", Value="original", Type="String")
    book = tmp_path / "flip.yaml"
    book.write_text(INTERRUPTIBLE)
    argv = [sys.executable, "-m", "hybridops", "--yes", "-o", "json"]
    proc = subprocess.Popen(
        [*argv, "run", str(book)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stderr is not None
    # Event-driven, no sleeping: interrupt once the progress says the wait has begun.
    for line in proc.stderr:
        if "wait-forever" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    doc = json.loads(out)
    assert doc["status"] == "interrupted"
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["set"]["status"] == "succeeded"
    assert steps["wait-forever"]["status"] == "interrupted"
    assert steps["set"]["compensation"]["status"] == "succeeded"
    assert ssm.get_parameter(Name="/flag")["Parameter"]["Value"] == "original"
    journal = json.loads(Path(doc["journal"]).read_text())
    assert journal["status"] == "interrupted"
    from hybridops.state.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "home" / "state.db")
    audit = [(r["step"], r["phase"], r["outcome"]) for r in store.list_audit()]
    store.close()
    assert audit == [
        ("set", "before", "started"),
        ("set", "after", "succeeded"),
        ("set:compensate", "before", "started"),
        ("set:compensate", "after", "succeeded"),
    ]
