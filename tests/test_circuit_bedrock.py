"""`hybridops circuit` and the Bedrock checks, against the sandbox (SSM, IAM simulation, Bedrock)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import Cli


@pytest.fixture
def estate(sandbox_env: Any) -> Any:
    return sandbox_env


def test_circuit_open_close_status(cli: Cli, estate: Any) -> None:
    opened = cli("--yes", "-o", "json", "circuit", "open", "--reason", "Bedrock 503s")
    assert opened.code == 0, opened.err
    doc = opened.json()
    assert (doc["from"], doc["to"], doc["status"]) == ("closed", "open", "succeeded")
    assert estate.circuit_open()
    status = cli("-o", "json", "circuit", "status").json()
    assert status["state"] == "open"
    assert "Bedrock 503s" in status["reason"]
    assert status["changed_by"].split(" ")[0].count("@") == 1
    assert status["history"][0]["value"] == "open"
    assert "Bedrock 503s" in status["history"][0]["description"]

    closed = cli("--yes", "-o", "json", "circuit", "close", "--reason", "recovered")
    assert closed.code == 0 and not estate.circuit_open()
    status = cli("-o", "json", "circuit", "status").json()
    assert status["state"] == "closed" and "recovered" in status["reason"]
    assert [a["value"] for a in status["audit"]] == ["closed", "open"]


def test_circuit_guardrails(cli: Cli, estate: Any) -> None:
    assert cli("--yes", "circuit", "open").code == 2  # no reason
    unknown = cli("--yes", "circuit", "open", "--target", "cache", "--reason", "x")
    assert unknown.code == 2 and "unknown circuit 'cache'" in unknown.err
    refused = cli("--read-only", "--yes", "circuit", "open", "--reason", "x")
    assert refused.code == 3 and not estate.circuit_open()
    assert cli("circuit", "open", "--reason", "x").code == 3  # no terminal, no --yes


def checks_of(result: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in result.json()["checks"]}


def test_bedrock_healthy(cli: Cli, estate: Any) -> None:
    result = cli("-o", "json", "health", "bedrock")
    assert result.code == 0, result.err
    checks = checks_of(result)
    assert set(checks) == {"bedrock model", "bedrock permission", "component bedrock-client"}
    assert all(c["status"] == "pass" for c in checks.values())
    assert "ACTIVE" in checks["bedrock model"]["detail"]


def test_bedrock_permission_denied_names_the_statement(cli: Cli, estate: Any) -> None:
    iam = estate.internal_client("iam")
    role = estate.estate.bedrock_role_arn.rsplit("/", 1)[-1]
    iam.put_role_policy(
        RoleName=role,
        PolicyName="deny-bedrock-invoke",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "*"}],
            }
        ),
    )
    try:
        result = cli("-o", "json", "health", "bedrock")
    finally:
        iam.delete_role_policy(RoleName=role, PolicyName="deny-bedrock-invoke")
    assert result.code == 1
    detail = checks_of(result)["bedrock permission"]["detail"]
    assert "explicitDeny" in detail and "deny-bedrock-invoke" in detail


def test_bedrock_down_fails_and_deep_health_includes_it(cli: Cli, estate: Any) -> None:
    estate.break_("bedrock-down")
    result = cli("-o", "json", "health", "bedrock")
    assert result.code == 1
    checks = checks_of(result)
    assert checks["bedrock model"]["status"] == "fail"
    assert "ServiceUnavailable" in checks["bedrock model"]["detail"]
    deep = cli("-o", "json", "health", "--deep")
    names = [c["name"] for c in deep.json()["checks"]]
    assert "bedrock model" in names and "bedrock permission" in names
    assert names.count("component bedrock-client") == 1
    runbook = cli("--yes", "-o", "json", "run", "bedrock-connection-failed")
    assert runbook.code == 4  # the first failure: Bedrock's 503 after retries
    recommend = {s["name"]: s for s in runbook.json()["steps"]}["recommend"]
    assert "hybridops circuit open --target bedrock" in recommend["error"]["message"]
