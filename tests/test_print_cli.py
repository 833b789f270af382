"""`run --print-cli`: the runbook as a bash script that really works with `aws` and `curl`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hybridops.engine.loader import builtin_runbooks
from tests.conftest import Cli, MotoServer

needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("aws", "jq", "curl", "bash")),
    reason="needs the aws CLI, jq, curl and bash",
)


def _bash(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "runbook.sh"
    path.write_text(script)
    return subprocess.run(
        ["bash", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "AWS_DEFAULT_REGION": "eu-central-1", **env},
    )


@pytest.mark.parametrize("name", sorted(builtin_runbooks()))
def test_every_builtin_prints_a_script_bash_accepts(
    cli: Cli, moto: MotoServer, write_config: Any, name: str, tmp_path: Path
) -> None:
    write_config(
        moto.url,
        health_url="http://127.0.0.1:9",
        hosted_zone_id="Z1",
        record_name="api.example.com",
        target_group_arn="arn:aws:tg",
    )
    needed = {
        "scale-service": ["-p", "to=4"],
        "scale-lambda": ["-p", "to=4"],
        "circuit-breaker": ["-p", "state=open"],
    }
    result = cli("run", name, "--print-cli", *needed.get(name, []))
    assert result.code == 0, result.err
    assert result.out.startswith("#!/usr/bin/env bash\n")
    syntax = subprocess.run(["bash", "-n"], input=result.out, text=True, capture_output=True)
    assert syntax.returncode == 0, syntax.stderr
    assert moto.requests == []  # printing runs nothing


@needs_tools
def test_the_printed_script_does_what_the_runbook_does(
    cli: Cli, sandbox_env: Any, tmp_path: Path
) -> None:
    parameter = "/hybrid-routing/circuit-breaker/bedrock"
    printed = cli(
        "run",
        "circuit-breaker",
        "--print-cli",
        "-p",
        "state=open",
        "-p",
        "reason=bedrock throttling",
        "-p",
        "actor=kim",
    )
    assert printed.code == 0, printed.err
    assert "export AWS_ENDPOINT_URL=" in printed.out
    ran = _bash(printed.out, tmp_path)
    assert ran.returncode == 0, ran.stderr
    ssm = sandbox_env.internal_client("ssm")
    stored = ssm.get_parameter(Name=parameter)["Parameter"]
    assert stored["Value"] == "open"
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [parameter]}])[
        "Parameters"
    ][0]
    assert described["Description"] == "open by kim: bedrock throttling"
    assert "3/3 verify-health" in ran.stderr
    assert "health/component/bedrock-client: healthy" in ran.stderr


@needs_tools
def test_the_printed_log_search_finds_what_hybridops_finds(
    cli: Cli, sandbox_env: Any, tmp_path: Path
) -> None:
    ours = cli("-o", "json", "run", "recent-errors", "-p", "pattern=INFO", "-p", "minutes=30")
    assert ours.code == 0, ours.err
    found = {s["name"]: s for s in ours.json()["steps"]}["errors"]["outputs"]["count"]
    assert found > 0  # the sandbox keeps logging INFO lines
    printed = cli("run", "recent-errors", "--print-cli", "-p", "pattern=INFO", "-p", "minutes=30")
    ran = _bash(printed.out + 'echo "COUNT=${ERRORS_COUNT}"\n', tmp_path)
    assert ran.returncode == 0, ran.stderr
    count = int(ran.stdout.strip().rsplit("COUNT=", 1)[1])
    # The same 30 minutes, read a moment later: a few lines may have come or gone at the edges.
    assert count > 0 and abs(count - found) <= 20, (found, count)


@needs_tools
def test_a_failed_check_stops_the_script_with_hybridops_exit_codes(
    cli: Cli, moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    unhealthy = http_server(lambda m, p, b: (200, {"status": "unhealthy"}))
    moto.client("ssm").put_parameter(
        Name="/hybrid-routing/circuit-breaker/bedrock", Value="closed", Type="String"
    )
    write_config(moto.url, unhealthy.url, components=["router"])
    printed = cli("run", "circuit-breaker", "--print-cli", "-p", "state=open")
    ran = _bash(printed.out, tmp_path, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    assert ran.returncode == 1, ran.stderr
    assert "check failed: status is healthy or degraded (got unhealthy)" in ran.stderr
    # The change before the failed check was made, as hybridops would have made it.
    value = moto.client("ssm").get_parameter(Name="/hybrid-routing/circuit-breaker/bedrock")
    assert value["Parameter"]["Value"] == "open"


def test_secret_parameters_stay_variables(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any
) -> None:
    write_config(moto.url, health_url="http://127.0.0.1:9")
    book = write_runbook(
        """name: hook
parameters:
  token: {type: string, secret: true}
steps:
  - name: call
    http:
      method: POST
      url: "${{ env.health_url }}/hook"
      headers: {authorization: "Bearer ${{ params.token }}"}
"""
    )
    result = cli("-o", "json", "run", str(book), "--print-cli", "-p", "token=s3cr3t-value-123")
    assert result.code == 0, result.err
    script = result.json()["script"]
    assert "s3cr3t-value-123" not in result.out + result.err
    assert 'TOKEN="${TOKEN:?export TOKEN first: a secret, never printed}"' in script
    assert "-H 'authorization: Bearer '\"${TOKEN}\"" in script
