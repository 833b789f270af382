"""The embedded sandbox: a coherent estate, real rollouts, health from state, detach/down."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from hybridops.sandbox.controller import service_key
from hybridops.sandbox.server import Sandbox
from hybridops.sandbox.topology import BACKUP_CLUSTER, CLUSTER, FUNCTION, PRIMARY, SERVICE
from tests.support import Cli

SRC = Path(__file__).resolve().parent.parent / "src" / "hybridops"


@pytest.fixture
def sandbox(recorded_sandbox: Sandbox) -> Sandbox:
    return recorded_sandbox


def client(sandbox: Sandbox, service: str, region: str = "eu-central-1"):
    """A boto3 client on the sandbox's endpoint (test setup and checks)."""
    return sandbox.internal_client(service, region)


def test_topology_is_seeded_in_both_regions(sandbox: Sandbox) -> None:
    ecs = client(sandbox, "ecs")
    svc = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    assert svc["taskDefinition"].endswith("hybrid-router:2")
    assert (svc["desiredCount"], svc["runningCount"]) == (2, 2)
    assert [d["rolloutState"] for d in svc["deployments"]] == ["COMPLETED"]
    rev1 = ecs.describe_task_definition(taskDefinition="hybrid-router:1")["taskDefinition"]
    assert rev1["status"] == "ACTIVE"
    backup = client(sandbox, "ecs", "us-west-2").describe_services(
        cluster=BACKUP_CLUSTER, services=[SERVICE]
    )["services"][0]
    assert backup["desiredCount"] == 0
    env = sandbox.environment()
    health = client(sandbox, "elbv2").describe_target_health(TargetGroupArn=env["target_group_arn"])
    assert len(health["TargetHealthDescriptions"]) == 2
    alias = client(sandbox, "lambda").get_alias(FunctionName=FUNCTION, Name="live")
    assert alias["FunctionVersion"] == "1"
    events = client(sandbox, "logs").filter_log_events(
        logGroupName="/aws/ecs/hybrid-routing", limit=5
    )
    message = json.loads(events["events"][0]["message"])
    assert {"latency_ms", "status", "route", "request_id", "level"} <= set(message)
    records = client(sandbox, "route53").list_resource_record_sets(
        HostedZoneId=env["hosted_zone_id"]
    )
    failover = {r.get("Failover") for r in records["ResourceRecordSets"] if r["Type"] == "CNAME"}
    assert failover == {"PRIMARY", "SECONDARY"}
    value = client(sandbox, "ssm").get_parameter(Name="/hybrid-routing/circuit-breaker/bedrock")
    assert value["Parameter"]["Value"] == "closed"
    policy = client(sandbox, "iam").get_role_policy(
        RoleName="BedrockClientRole", PolicyName="bedrock-invoke"
    )
    assert "bedrock:InvokeModel" in json.dumps(policy["PolicyDocument"])


def test_health_endpoint_answers_from_state(sandbox: Sandbox) -> None:
    env = sandbox.environment()
    primary = httpx.get(f"{env['health_url']}/health/component/bedrock-client")
    assert primary.status_code == 200
    assert primary.json() == {
        "status": "healthy",
        "region": "eu-central-1",
        "component": "bedrock-client",
    }
    # The backup service runs no task: its endpoint is honestly unhealthy.
    secondary = httpx.get(f"{env['secondary_health_url']}/health")
    assert secondary.status_code == 503
    assert secondary.json()["reason"] == "no running tasks"


def test_sandbox_environment_runs_the_readonly_runbook(cli: Cli, sandbox: Sandbox) -> None:
    result = cli("--env", "sandbox", "-o", "json", "run", "service-status")
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["status"] == "succeeded"
    outputs = {s["name"]: s.get("outputs", {}) for s in doc["steps"]}
    assert outputs["describe-service"]["running"] == 2
    assert outputs["endpoint-health"]["verdict"] == "healthy"


def test_restart_rolls_out_for_real(cli: Cli, sandbox: Sandbox) -> None:
    ecs = client(sandbox, "ecs")
    before = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    result = cli("--env", "sandbox", "--yes", "-o", "json", "run", "restart-service")
    assert result.code == 0, result.err
    after = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    assert after["deployments"][0]["id"] != before["deployments"][0]["id"]
    assert [d["rolloutState"] for d in after["deployments"]] == ["COMPLETED"]
    messages = [e["message"] for e in after["events"]]
    assert any("has started" in m for m in messages)
    assert "reached a steady state" in messages[0]
    # The wait ended on the new deployment, completed: not on the old one before it started
    # (no duration asserted: under load, the first poll may already find it done).
    settle = next(s for s in result.json()["steps"] if s["name"] == "settle")
    assert settle["outputs"]["deployment"] == after["deployments"][0]["id"]
    started = next(i for i, m in enumerate(messages) if "has started" in m)
    assert started > 0  # the steady state came after the start (events are newest first)


def test_a_tick_during_update_service_waits_for_the_whole_request(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background tick falls between moto's update and the sandbox's redeploy: one rollout.

    A tick there used to start the bad revision's rollout, then the redeploy a second one of the
    same revision: unstuck and replacing nothing older, so triage saw no deploy to undo (CI).
    """
    import threading

    assert sandbox.overlay is not None
    moto_app = sandbox.overlay.app
    ticked: list[bool] = []

    def background_tick() -> None:
        # What the controller's thread does if it can take the lock at this moment.
        if sandbox.controller.lock.acquire(blocking=False):
            try:
                sandbox.controller.tick()
                ticked.append(True)
            finally:
                sandbox.controller.lock.release()
        else:
            ticked.append(False)  # the request holds the controller: the tick waits

    def moto_then_a_background_tick(environ: Any, start_response: Any) -> Any:
        answer = list(moto_app(environ, start_response))
        if environ.get("HTTP_X_AMZ_TARGET", "").endswith(".UpdateService"):
            tick = threading.Thread(target=background_tick)
            tick.start()
            tick.join()
        return answer

    monkeypatch.setattr(sandbox.overlay, "app", moto_then_a_background_tick)
    sandbox.break_("bad-deploy")
    assert ticked == [False]
    deployments = _service(sandbox)["deployments"]
    assert [(d["status"], d["taskDefinition"].rsplit(":", 1)[-1]) for d in deployments] == [
        ("PRIMARY", "3"),
        ("ACTIVE", "2"),
    ]
    assert deployments[0]["rolloutState"] == "IN_PROGRESS"
    with sandbox.controller.lock:
        assert sandbox.controller._seen[service_key(PRIMARY, CLUSTER, SERVICE)].stuck


def _service(sandbox: Sandbox, region: str = PRIMARY) -> dict[str, Any]:
    cluster = CLUSTER if region == PRIMARY else BACKUP_CLUSTER
    ecs = client(sandbox, "ecs", region)
    return dict(ecs.describe_services(cluster=cluster, services=[SERVICE])["services"][0])


def _log_events(sandbox: Sandbox) -> int:
    logs = client(sandbox, "logs")
    return len(logs.filter_log_events(logGroupName="/aws/ecs/hybrid-routing")["events"])


def test_a_paused_controller_writes_nothing(sandbox: Sandbox) -> None:
    """After pause() returns, no tick, log or metric reaches moto (the next test's state)."""
    sandbox.controller.pause()
    try:
        before_events, before = _log_events(sandbox), _service(sandbox)["deployments"]
        client(sandbox, "ecs").update_service(
            cluster=CLUSTER, service=SERVICE, taskDefinition="hybrid-router:1"
        )
        sandbox.controller.tick()
        sandbox.controller.emit_logs()
        sandbox.controller.emit_metrics()
        assert _log_events(sandbox) == before_events
        assert _service(sandbox)["deployments"] == before  # no rollout started
    finally:
        sandbox.controller.resume()
    sandbox.controller.tick()
    assert _service(sandbox)["deployments"][0]["taskDefinition"].endswith(":1")


def test_a_scenario_is_said_only_once_its_symptoms_are_there(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drills and tests wait for `scenario`: by then the logs of the fault are written."""
    emit = sandbox.controller.emit_logs
    said: list[str | None] = []

    def emit_and_note() -> None:
        said.append(sandbox.scenario)
        emit()

    monkeypatch.setattr(sandbox.controller, "emit_logs", emit_and_note)
    sandbox.break_("bedrock-down")
    assert said == [None]
    assert sandbox.scenario == "bedrock-down"


def test_a_break_during_a_reset_waits_for_it_and_stays_said(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A break arriving mid-reset happens after it: its fault and its name both stand."""
    import threading

    forget = sandbox.controller.forget
    breaks: list[threading.Thread] = []

    def forget_while_a_break_arrives() -> None:
        forget()
        if not breaks:  # the reset is under way, holding the controller: a break comes in
            breaker = threading.Thread(target=sandbox.break_, args=("latency-spike",))
            breaks.append(breaker)
            breaker.start()
            breaker.join(timeout=0.2)  # it gets as far as it can while the reset holds on

    monkeypatch.setattr(sandbox.controller, "forget", forget_while_a_break_arrives)
    sandbox.reset()
    breaks[0].join(timeout=30)
    assert sandbox.scenario == "latency-spike"
    assert "latency-spike" in sandbox.faults


def test_a_break_the_estate_cannot_take_is_one_clear_error(cli: Cli, sandbox: Sandbox) -> None:
    """The control API answers JSON whatever the estate met; the CLI says it in one line."""
    # The service gone from the estate (moto keeps a deleted one as INACTIVE: drop it outright).
    with sandbox.controller.lock:
        del sandbox.controller.ecs_backend(PRIMARY).services[f"{CLUSTER}:{SERVICE}"]
    result = cli("sandbox", "break", "bad-deploy")
    assert result.code == 4, result.err
    assert "sandbox control API answered 500: ServiceNotFoundException:" in result.err
    assert len(result.err.splitlines()) == 1
    assert "JSONDecodeError" not in result.err and "Traceback" not in result.err


def test_a_refused_update_starts_no_deployment(sandbox: Sandbox) -> None:
    """UpdateService to a revision that does not exist: moto refuses, nothing rolls out."""
    import botocore.exceptions

    with pytest.raises(botocore.exceptions.ClientError):
        client(sandbox, "ecs").update_service(
            cluster=CLUSTER, service=SERVICE, taskDefinition="hybrid-router:99"
        )
    sandbox.controller.tick()
    deployments = _service(sandbox)["deployments"]
    assert [(d["taskDefinition"].rsplit(":", 1)[-1], d["rolloutState"]) for d in deployments] == [
        ("2", "COMPLETED")
    ]


def test_a_redeploy_asked_before_a_reset_does_not_outlive_it(sandbox: Sandbox) -> None:
    """The reset estate is the seeded one: no rollout left over from what was asked before."""
    sandbox.controller.redeploy(service_key(PRIMARY, CLUSTER, SERVICE))
    sandbox.reset()
    sandbox.controller.tick()
    sandbox.controller.tick()
    assert [d["rolloutState"] for d in _service(sandbox)["deployments"]] == ["COMPLETED"]


def test_the_bad_deploy_sticks_only_the_primary_service(sandbox: Sandbox) -> None:
    """A backup rollout starting first does not take the primary's stuck rollout."""
    sandbox.controller.stick_next_rollout = service_key(PRIMARY, CLUSTER, SERVICE)
    backup = client(sandbox, "ecs", "us-west-2")
    backup.update_service(cluster=BACKUP_CLUSTER, service=SERVICE, desiredCount=1)
    backup.update_service(cluster=BACKUP_CLUSTER, service=SERVICE, taskDefinition="hybrid-router:1")
    with sandbox.controller.lock:
        tracker = sandbox.controller._seen[service_key("us-west-2", BACKUP_CLUSTER, SERVICE)]
        assert not tracker.stuck
        assert sandbox.controller.stick_next_rollout == service_key(PRIMARY, CLUSTER, SERVICE)


def test_no_product_module_imports_the_sandbox() -> None:
    allowed = {"sandbox", "cli/sandbox.py", "cli/demo.py", "cli/drill.py"}
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel.split("/", 1)[0] == "sandbox" or rel in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "hybridops.sandbox" or n.startswith("hybridops.sandbox.") for n in names):
                offenders.append(rel)
    assert offenders == []


def test_detached_sandbox_up_status_down(tmp_path: Path) -> None:
    env = dict(os.environ, HYBRIDOPS_SANDBOX_FILE=str(tmp_path / "sb.json"))
    run = [sys.executable, "-m", "hybridops"]

    def hybridops(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*run, *args], env=env, capture_output=True, text=True, timeout=120)

    assert hybridops("sandbox", "status").returncode == 1
    try:
        up = hybridops("-o", "json", "sandbox", "up", "--detach")
        assert up.returncode == 0, up.stderr
        info = json.loads(up.stdout)
        assert info["running"] is True
        status = json.loads(hybridops("-o", "json", "sandbox", "status").stdout)
        assert set(status) >= {
            "running",
            "pid",
            "endpoint_url",
            "health_url",
            "secondary_health_url",
            "scenario",
        }
        assert status["pid"] == info["pid"]
        ran = hybridops("--env", "sandbox", "-o", "json", "run", "service-status")
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout)["status"] == "succeeded"
    finally:
        down = hybridops("sandbox", "down")
    assert down.returncode == 0
    assert "sandbox stopped" in down.stderr
    assert hybridops("sandbox", "status").returncode == 1
    assert not (tmp_path / "sb.json").exists()


@pytest.mark.parametrize("argv", [["sandbox", "up"], ["demo"]])
def test_without_the_sandbox_extra_the_error_is_clear(argv: list[str]) -> None:
    code = (
        "import sys; sys.modules['moto'] = None; "
        "from hybridops.cli.main import main; "
        f"sys.exit(main({argv!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "the sandbox needs the 'sandbox' extra" in out.stderr
    assert "pip install 'hybridops[sandbox]'" in out.stderr
    assert "Traceback" not in out.stderr
