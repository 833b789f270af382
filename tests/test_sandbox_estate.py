"""Scenarios and overlay operations, driven through hybridops commands and real boto3 clients."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from hybridops.sandbox.server import Sandbox
from tests.support import Cli, present


@pytest.fixture
def estate(
    shared_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> Sandbox:
    record = tmp_path / "sandbox.json"
    shared_sandbox.write_record(record, os.getpid())
    monkeypatch.setenv("HYBRIDOPS_SANDBOX_FILE", str(record))
    assert cli("sandbox", "reset").code == 0
    return shared_sandbox


def aws(sandbox: Sandbox, service: str, region: str = "eu-central-1"):
    """A boto3 client on the sandbox's endpoint (test setup and checks)."""
    return sandbox.internal_client(service, region)


def health(sandbox: Sandbox, region: str = "primary") -> str:
    env = sandbox.environment()
    url = env["health_url"] if region == "primary" else env["secondary_health_url"]
    return httpx.get(f"{url}/health").json()["status"]


def run(cli: Cli, *args: str) -> dict:
    result = cli("--env", "sandbox", "--yes", "-o", "json", *args)
    doc = json.loads(result.out)
    doc["_exit"] = result.code
    return doc


# -- scenarios: unhealthy, then the procedure, then healthy ---------------------------------------

SCENARIO_REMEDIES = [
    ("bad-deploy", "unhealthy", ["rollback-service", "-p", "interval_s=0.1"], "primary"),
    (
        "latency-spike",
        "degraded",
        ["scale-service", "-p", "by=2", "-p", "interval_s=0.1"],
        "primary",
    ),
    (
        "lambda-throttle",
        "degraded",
        ["scale-lambda", "-p", "by=50", "-p", "interval_s=0.1"],
        "primary",
    ),
    ("region-outage", "unhealthy", ["regional-failover", "-p", "interval_s=0.1"], "secondary"),
]


@pytest.mark.parametrize(("scenario", "broken", "remedy", "serving"), SCENARIO_REMEDIES)
def test_scenario_breaks_and_procedure_mends(
    cli: Cli, estate: Sandbox, scenario: str, broken: str, remedy: list[str], serving: str
) -> None:
    assert health(estate) == "healthy"
    assert cli("sandbox", "break", scenario).code == 0
    assert health(estate) == broken
    status = run(cli, "run", "service-status")
    if broken == "unhealthy":
        assert status["_exit"] == 1
    else:  # degraded is a warning, not a failure
        verdict = next(s for s in status["steps"] if s["name"] == "endpoint-health")
        assert verdict["outputs"]["verdict"] == "degraded"
    fixed = run(cli, "run", *remedy)
    assert fixed["_exit"] == 0, fixed["error"]
    assert health(estate, serving) == "healthy"


def test_bedrock_down_is_mitigated_by_the_circuit_breaker(cli: Cli, estate: Sandbox) -> None:
    assert cli("sandbox", "break", "bedrock-down").code == 0
    component = httpx.get(f"{estate.environment()['health_url']}/health/component/bedrock-client")
    assert component.status_code == 503
    with pytest.raises(ClientError) as failed:
        aws(estate, "bedrock").list_foundation_models()
    assert failed.value.response["Error"]["Code"] == "ServiceUnavailableException"
    doc = run(cli, "run", "circuit-breaker", "-p", "state=open")
    assert doc["_exit"] == 0, doc["error"]
    component = httpx.get(f"{estate.environment()['health_url']}/health/component/bedrock-client")
    assert component.json()["status"] == "degraded"
    assert "circuit open" in component.json()["reason"]


def test_bad_deploy_shows_in_logs_events_targets_and_alarms(cli: Cli, estate: Sandbox) -> None:
    assert cli("sandbox", "break", "bad-deploy").code == 0
    env = estate.environment()
    svc = aws(estate, "ecs").describe_services(cluster=env["cluster"], services=[env["service"]])[
        "services"
    ][0]
    assert svc["taskDefinition"].endswith(":3")
    assert [d["rolloutState"] for d in svc["deployments"]] == ["IN_PROGRESS", "COMPLETED"]
    states = aws(estate, "elbv2").describe_target_health(TargetGroupArn=env["target_group_arn"])
    assert {t["TargetHealth"]["State"] for t in states["TargetHealthDescriptions"]} == {"unhealthy"}
    estate.controller.emit_logs()
    errors = run(cli, "run", "recent-errors", "-p", "minutes=1")
    messages = [json.loads(e["message"]) for e in errors["steps"][0]["outputs"]["events"]]
    assert messages and all(m["level"] == "ERROR" for m in messages)
    estate.controller.tick()
    alarms = aws(estate, "cloudwatch").describe_alarms(StateValue="ALARM")["MetricAlarms"]
    assert "hybrid-router-5xx" in {a["AlarmName"] for a in alarms}


def test_rollback_to_a_bad_revision_is_a_failure_not_a_success(cli: Cli, estate: Sandbox) -> None:
    assert cli("sandbox", "break", "bad-deploy").code == 0
    assert run(cli, "run", "rollback-service", "-p", "interval_s=0.1")["_exit"] == 0
    doc = run(
        cli, "run", "rollback-service", "-p", "to=3", "-p", "interval_s=0.1", "-p", "timeout_s=30"
    )
    assert doc["_exit"] == 1
    assert doc["status"] == "failed"
    assert "circuit breaker" in doc["error"]["message"]


def test_rollback_to_an_inactive_revision_is_refused(cli: Cli, estate: Sandbox) -> None:
    ecs = aws(estate, "ecs")
    ecs.deregister_task_definition(taskDefinition="hybrid-router:1")
    doc = run(cli, "run", "rollback-service", "-p", "to=1")
    assert doc["_exit"] == 3
    assert "INACTIVE" in doc["error"]["message"]


# -- the overlay, through real boto3 clients (botocore parses the wire format) -----------------------


def test_provisioned_concurrency_lifecycle(estate: Sandbox) -> None:
    lam = aws(estate, "lambda")
    put = lam.put_provisioned_concurrency_config(
        FunctionName="hybrid-router-function", Qualifier="live", ProvisionedConcurrentExecutions=25
    )
    assert put["Status"] == "IN_PROGRESS"
    assert put["RequestedProvisionedConcurrentExecutions"] == 25
    import time

    deadline = time.monotonic() + 5
    while (
        lam.get_provisioned_concurrency_config(
            FunctionName="hybrid-router-function", Qualifier="live"
        )["Status"]
        != "READY"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    got = lam.get_provisioned_concurrency_config(
        FunctionName="hybrid-router-function", Qualifier="live"
    )
    assert got["AvailableProvisionedConcurrentExecutions"] == 25
    listed = lam.list_provisioned_concurrency_configs(FunctionName="hybrid-router-function")
    assert listed["ProvisionedConcurrencyConfigs"][0]["FunctionArn"].endswith(
        ":hybrid-router-function:live"
    )
    lam.delete_provisioned_concurrency_config(
        FunctionName="hybrid-router-function", Qualifier="live"
    )
    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(
            FunctionName="hybrid-router-function", Qualifier="live"
        )


def test_provisioned_concurrency_failures(estate: Sandbox) -> None:
    lam = aws(estate, "lambda")
    failed = lam.put_provisioned_concurrency_config(
        FunctionName="hybrid-router-function", Qualifier="live", ProvisionedConcurrentExecutions=950
    )
    assert failed["Status"] == "FAILED"
    assert "unreserved concurrency" in failed["StatusReason"]
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_provisioned_concurrency_config(
            FunctionName="hybrid-router-function",
            Qualifier="$LATEST",
            ProvisionedConcurrentExecutions=5,
        )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName="nope", Qualifier="live")


def test_scale_lambda_failed_is_reported_with_reason(cli: Cli, estate: Sandbox) -> None:
    doc = run(cli, "run", "scale-lambda", "-p", "to=950", "-p", "interval_s=0.1")
    assert doc["_exit"] == 3  # over limits.max_provisioned_concurrency (500)
    cli_config = estate.environment()
    assert cli_config["lambda_alias"] == "live"
    lam = aws(estate, "lambda")
    lam.put_provisioned_concurrency_config(
        FunctionName="hybrid-router-function", Qualifier="live", ProvisionedConcurrentExecutions=450
    )
    aws(estate, "lambda")  # another function eats the account's unreserved concurrency
    overlay = present(estate.overlay)
    overlay.provisioned[("eu-central-1", "other", "live")] = overlay.provisioned[
        ("eu-central-1", "hybrid-router-function", "live")
    ]
    doc = run(cli, "run", "scale-lambda", "-p", "by=50", "-p", "interval_s=0.1")
    assert doc["_exit"] == 1
    assert "FAILED" in doc["error"]["message"]
    assert "unreserved concurrency" in doc["error"]["message"]


def test_bedrock_list_foundation_models(estate: Sandbox) -> None:
    models = aws(estate, "bedrock").list_foundation_models()["modelSummaries"]
    ids = {m["modelId"] for m in models}
    assert "anthropic.claude-3-5-sonnet-20240620-v1:0" in ids
    assert all(m["modelLifecycle"]["status"] == "ACTIVE" for m in models)


def test_simulate_principal_policy_allowed_and_denied(estate: Sandbox) -> None:
    iam = aws(estate, "iam")
    role_arn = iam.get_role(RoleName="BedrockClientRole")["Role"]["Arn"]
    result = iam.simulate_principal_policy(
        PolicySourceArn=role_arn,
        ActionNames=["bedrock:InvokeModel", "s3:GetObject"],
        ResourceArns=["*"],
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in result}
    assert decisions == {"bedrock:InvokeModel": "allowed", "s3:GetObject": "implicitDeny"}
    assert result[0]["MatchedStatements"][0]["SourcePolicyId"] == "bedrock-invoke"
    iam.put_role_policy(
        RoleName="BedrockClientRole",
        PolicyName="deny-bedrock",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "bedrock:*", "Resource": "*"}],
            }
        ),
    )
    denied = iam.simulate_principal_policy(
        PolicySourceArn=role_arn, ActionNames=["bedrock:InvokeModel"]
    )
    evaluation = denied["EvaluationResults"][0]
    assert evaluation["EvalDecision"] == "explicitDeny"
    assert evaluation["MatchedStatements"][0]["SourcePolicyId"] == "deny-bedrock"
    with pytest.raises(ClientError) as missing:
        iam.simulate_principal_policy(
            PolicySourceArn=role_arn.replace("BedrockClientRole", "Nope"),
            ActionNames=["bedrock:InvokeModel"],
        )
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


def test_unknown_scenario_is_exit_2(cli: Cli, estate: Sandbox) -> None:
    result = cli("sandbox", "break", "meteor-strike")
    assert result.code == 2
    assert "unknown scenario 'meteor-strike'" in result.err


def test_sandbox_scenarios_lists_them_all(cli: Cli) -> None:
    doc = cli("-o", "json", "sandbox", "scenarios").json()
    assert {s["name"] for s in doc["scenarios"]} == {
        "bad-deploy",
        "region-outage",
        "bedrock-down",
        "latency-spike",
        "lambda-throttle",
        "backup-broken",
        "dns-stale",
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 0, "demo finished: the estate really recovered"),
        (["--rollback-to", "3"], 1, "demo failed"),
    ],
)
def test_demo_recovers_and_a_broken_rollback_fails(
    args: list[str], code: int, message: str
) -> None:
    # moto's state is per process: the demo's sandbox gets a process of its own.
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "hybridops", "demo", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == code, out.stderr[-3000:]
    assert message in out.stderr


def test_bedrock_checks_through_the_cli(cli: Cli, estate: Sandbox) -> None:
    ok = run(cli, "run", "bedrock-connection-failed")
    assert ok["_exit"] == 0, ok["error"]
    steps = {s["name"]: s for s in ok["steps"]}
    assert steps["list-models"]["outputs"]["lifecycle"] == "ACTIVE"
    assert steps["iam-permission"]["outputs"]["decision"] == "allowed"
    assert steps["iam-permission"]["outputs"]["statements"] == ["bedrock-invoke"]
    aws(estate, "iam").put_role_policy(
        RoleName="BedrockClientRole",
        PolicyName="deny-bedrock",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "*"}],
            }
        ),
    )
    assert cli("sandbox", "break", "bedrock-down").code == 0
    failed = run(cli, "run", "bedrock-connection-failed")
    assert failed["_exit"] == 4  # Bedrock answered with an error: AWS error after retries
    assert failed["status"] == "failed"
    steps = {s["name"]: s for s in failed["steps"]}
    assert steps["list-models"]["status"] == "failed"
    assert "ServiceUnavailableException" in steps["list-models"]["error"]["message"]
    assert steps["iam-permission"]["outputs"]["decision"] == "explicitDeny"
    assert steps["client-health"]["status"] == "failed"
