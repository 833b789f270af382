"""Every built-in runbook's `--print-cli` script (real aws CLI, `yes |`) ends where hybridops does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hybridops.engine.loader import builtin_runbooks
from hybridops.sandbox.topology import (
    BACKUP_CLUSTER,
    CLUSTER,
    FUNCTION,
    PRIMARY,
    SECONDARY,
    SERVICE,
)
from tests.printed_scripts import outputs_shown, run_script
from tests.support import Cli

CIRCUIT_PARAMETER = "/hybrid-routing/circuit-breaker/bedrock"

pytestmark = pytest.mark.slow


@dataclass
class Case:
    """A runbook, the fault it mends, its parameters and what hybridops leaves behind."""

    scenario: str | None
    params: list[str]
    check: Callable[[Any, Any, Any, Cli], None]
    exit_code: int = 0
    before: Callable[[Any], Any] = field(default=lambda sandbox: None)


def _service(sandbox: Any, region: str = PRIMARY) -> dict[str, Any]:
    cluster = CLUSTER if region == PRIMARY else BACKUP_CLUSTER
    ecs = sandbox.internal_client("ecs", region)
    return dict(ecs.describe_services(cluster=cluster, services=[SERVICE])["services"][0])


def _now_ms(sandbox: Any) -> int:
    return int(time.time() * 1000) - 1000


def _primary_deployment(sandbox: Any) -> str:
    return str(_service(sandbox)["deployments"][0]["id"])


def _settled_new_deployment(sandbox: Any, before: str, ran: Any, cli: Cli) -> None:
    svc = _service(sandbox)
    assert [d["rolloutState"] for d in svc["deployments"]] == ["COMPLETED"]
    assert svc["deployments"][0]["id"] != before  # a new deployment...
    assert svc["taskDefinition"].endswith(":2")  # ...of the same revision
    assert svc["runningCount"] == svc["desiredCount"] == 2


def _scaled(sandbox: Any, before: Any, ran: Any, cli: Cli) -> None:
    svc = _service(sandbox)
    assert svc["desiredCount"] == svc["runningCount"] == 4
    assert sandbox.component_status(PRIMARY, "hybrid-router")[0] == "healthy"


def _rolled_back(sandbox: Any, before: Any, ran: Any, cli: Cli) -> None:
    svc = _service(sandbox)
    assert svc["taskDefinition"].endswith("/hybrid-router:2")  # the known-good revision
    assert [d["rolloutState"] for d in svc["deployments"]] == ["COMPLETED"]
    assert outputs_shown(ran.stderr)["reason"] == "the deployment in progress replaces it"
    assert sandbox.component_status(PRIMARY, "hybrid-router")[0] == "healthy"


def _breaker_open(sandbox: Any, before: Any, ran: Any, cli: Cli) -> None:
    ssm = sandbox.internal_client("ssm")
    assert ssm.get_parameter(Name=CIRCUIT_PARAMETER)["Parameter"]["Value"] == "open"
    described = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Values": [CIRCUIT_PARAMETER]}]
    )["Parameters"][0]
    assert described["Description"] == "open by kim: bedrock 503s"
    assert sandbox.component_status(PRIMARY, "bedrock-client")[0] == "degraded"
    assert "bedrock-client: warn (HTTP 200 degraded)" in ran.stderr


def _provisioned(sandbox: Any, before: Any, ran: Any, cli: Cli) -> None:
    lam = sandbox.internal_client("lambda")
    config = lam.get_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier="live")
    assert config["RequestedProvisionedConcurrentExecutions"] == 50
    assert config["Status"] == "READY"
    assert sandbox.lambda_ready() == 50


def _failed_over(sandbox: Any, before: Any, ran: Any, cli: Cli) -> None:
    assert sandbox.primary_check_inverted()
    assert sandbox.serving_region() == SECONDARY
    backup = _service(sandbox, SECONDARY)
    assert backup["desiredCount"] == backup["runningCount"] == 3
    shown = outputs_shown(ran.stderr)
    assert (shown["serving"], shown["public_region"]) == ("secondary", SECONDARY)


def _errors_printed(sandbox: Any, before: Any, ran: Any, cli: Cli) -> None:
    from hybridops.aws.log_lines import LineFormatter
    from hybridops.aws.logs import LogEvent

    ours = cli("-o", "json", "run", "recent-errors")
    assert ours.code == 0, ours.err
    found = {s["name"]: s for s in ours.json()["steps"]}["errors"]["outputs"]["events"]
    # The errors of the bad deploy (a seeded one may sit at the edge of either window).
    events = [e for e in found if e["timestamp"] >= before]
    assert events, "the bad deploy logs errors"
    shown = [e for e in json.loads(outputs_shown(ran.stderr)["events"]) if e in events]
    assert shown == events
    lines = [
        LineFormatter(colour=False).line(
            LogEvent(e["timestamp"], e["group"], e["stream"], e["message"], "")
        )
        for e in events
    ]
    printed = [line for line in ran.stderr.splitlines() if line in lines]
    assert printed == lines  # the same events, printed as `logs search` prints them


def _status_matches(sandbox: Any, before: Any, ran: Any, cli: Cli) -> None:
    ours = cli("-o", "json", "run", "service-status")
    assert ours.code == 0, ours.err
    outputs = {s["name"]: s.get("outputs") or {} for s in ours.json()["steps"]}
    shown = outputs_shown(ran.stderr)
    described = outputs["describe-service"]
    for name in ("task_definition", "desired", "running", "rollout"):
        assert shown[name] == str(described[name]), name
    assert json.loads(shown["deployments"]) == described["deployments"]
    assert json.loads(shown["targets"]) == outputs["target-health"]["targets"]
    assert shown["verdict"] == outputs["endpoint-health"]["verdict"] == "healthy"
    assert [c["name"] for c in json.loads(shown["checks"])] == [
        c["name"] for c in outputs["endpoint-health"]["checks"]
    ]


def _bedrock_verdicts(sandbox: Any, before: Any, ran: Any, cli: Cli) -> None:
    ours = cli("-o", "json", "run", "bedrock-connection-failed")
    assert ours.code == ran.returncode == 4, ours.err  # the first failure: Bedrock's 503
    outputs = {s["name"]: s.get("outputs") or {} for s in ours.json()["steps"]}
    shown = outputs_shown(ran.stderr)
    assert shown["decision"] == outputs["iam-permission"]["decision"] == "allowed"
    assert json.loads(shown["statements"]) == outputs["iam-permission"]["statements"]
    # Bedrock's 503 leaves no outputs; the client's answer is kept though its 503 fails the step.
    assert outputs["list-models"] == {} and "lifecycle" not in shown
    assert shown["status"] == outputs["client-health"]["status"] == "unhealthy"
    assert "check failed: status is 200 (got 503)" in ran.stderr
    assert 'steps."list-models".outputs.lifecycle should be ACTIVE (got )' in ran.stderr


CASES: dict[str, Case] = {
    # No sandbox fault is mended by a restart: on the healthy estate, a new deployment.
    "restart-service": Case(
        None, ["-p", "timeout_s=60"], _settled_new_deployment, before=_primary_deployment
    ),
    "service-recovery": Case(
        None,
        ["-p", "timeout_s=60", "-p", "interval_s=0.5"],
        _settled_new_deployment,
        before=_primary_deployment,
    ),
    "scale-service": Case("latency-spike", ["-p", "by=2", "-p", "timeout_s=60"], _scaled),
    "rollback-service": Case(
        "bad-deploy", ["-p", "timeout_s=60", "-p", "interval_s=0.5"], _rolled_back
    ),
    "circuit-breaker": Case(
        "bedrock-down",
        ["-p", "state=open", "-p", "reason=bedrock 503s", "-p", "actor=kim"],
        _breaker_open,
    ),
    "scale-lambda": Case(
        "lambda-throttle",
        ["-p", "by=50", "-p", "timeout_s=60", "-p", "interval_s=0.5"],
        _provisioned,
    ),
    "regional-failover": Case(
        "region-outage", ["-p", "timeout_s=60", "-p", "interval_s=0.5"], _failed_over
    ),
    # Read-only: what they find is what hybridops finds.
    "recent-errors": Case("bad-deploy", [], _errors_printed, before=_now_ms),
    "service-status": Case(None, [], _status_matches),
    "bedrock-connection-failed": Case("bedrock-down", [], _bedrock_verdicts, exit_code=4),
}


def test_every_builtin_runbook_has_an_end_state_case() -> None:
    """A new built-in runbook needs its case here."""
    assert set(CASES) == set(builtin_runbooks())


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_printed_script_reaches_what_hybridops_reaches(
    cli: Cli, sandbox_env: Any, tmp_path: Path, name: str
) -> None:
    """Broken, printed, run with `yes |` and the venv's aws CLI: the same end state."""
    case = CASES[name]
    before = case.before(sandbox_env)
    if case.scenario:
        sandbox_env.break_(case.scenario)
    printed = cli("--env", "sandbox", "run", name, "--print-cli", *case.params)
    assert printed.code == 0, printed.err
    assert "ask_value" not in printed.out  # nothing left for the operator to compute
    # Read-only runbooks are compared with hybridops' own run: logs and rollouts stand still.
    if name in ("recent-errors", "service-status"):
        sandbox_env.controller.pause()  # returns once a tick under way (logs, rollouts) ended
    try:
        ran = run_script(printed.out, tmp_path)
        assert ran.returncode == case.exit_code, ran.stderr[-3000:]
        if case.exit_code == 0:
            assert ran.stderr.rstrip().endswith(f"{name}: done")
        case.check(sandbox_env, before, ran, cli)
    finally:
        sandbox_env.controller.resume()


def test_a_simple_record_fails_over_too(cli: Cli, sandbox_env: Any, tmp_path: Path) -> None:
    """One CNAME instead of a failover pair: the script computes the UPSERT hybridops makes."""
    env = sandbox_env.environment()
    r53 = sandbox_env.internal_client("route53")
    zone, name = env["hosted_zone_id"], env["record_name"]
    pair = [
        s
        for s in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        if s["Name"].rstrip(".") == name
    ]
    simple = {
        "Name": name,
        "Type": "CNAME",
        "TTL": 60,
        "ResourceRecords": [{"Value": env["primary_target"]}],
    }
    changes = [{"Action": "DELETE", "ResourceRecordSet": s} for s in pair]
    r53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [*changes, {"Action": "CREATE", "ResourceRecordSet": simple}]},
    )
    sandbox_env.break_("region-outage")
    printed = cli("run", "regional-failover", "--print-cli", "-p", "interval_s=0.5")
    assert printed.code == 0, printed.err
    ran = run_script(printed.out, tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    records = [
        s
        for s in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        if s["Name"].rstrip(".") == name
    ]
    assert [r["ResourceRecords"] for r in records] == [[{"Value": env["secondary_target"]}]]
    assert sandbox_env.serving_region() == SECONDARY
    assert json.loads(outputs_shown(ran.stderr)["revert_batch"])["Changes"][0]["ResourceRecordSet"][
        "ResourceRecords"
    ] == [{"Value": env["primary_target"]}]


def test_auto_scaling_bounds_refuse_or_widen_as_hybridops_does(
    cli: Cli, sandbox_env: Any, tmp_path: Path
) -> None:
    """Bounds that would undo the change: refused (exit 3); adjust_autoscaling=true widens them."""
    autoscaling = sandbox_env.internal_client("application-autoscaling")
    resource = f"service/{CLUSTER}/{SERVICE}"
    autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2,
        MaxCapacity=3,
    )
    refused = cli("run", "scale-service", "--print-cli", "-p", "by=2")
    ran = run_script(refused.out, tmp_path)
    assert ran.returncode == 3, ran.stderr
    assert "keeps hybrid-router-service between 2 and 3: it would undo 4 tasks" in ran.stderr
    assert _service(sandbox_env)["desiredCount"] == 2  # nothing changed
    widened = cli(
        "run", "scale-service", "--print-cli", "-p", "by=2", "-p", "adjust_autoscaling=true"
    )
    ran = run_script(widened.out, tmp_path)
    assert ran.returncode == 0, ran.stderr
    target = autoscaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])[
        "ScalableTargets"
    ][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    assert _service(sandbox_env)["desiredCount"] == 4
