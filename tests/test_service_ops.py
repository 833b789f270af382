"""`hybridops rollback` and `hybridops scale` against the sandbox (real rollouts)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Cli


@pytest.fixture
def estate(sandbox_env: Any) -> Any:
    return sandbox_env


def test_rollback_json(cli: Cli, estate) -> None:
    estate.break_("bad-deploy")
    result = cli("--yes", "-o", "json", "rollback")
    assert result.code == 0, result.err
    doc = result.json()
    assert set(doc) >= {
        "status",
        "service",
        "from_task_definition",
        "to_task_definition",
        "stable",
        "healthy",
        "duration_s",
        "run_id",
    }
    assert doc["from_task_definition"].endswith(":3")
    assert doc["to_task_definition"].endswith(":2")
    assert doc["stable"] is True and doc["healthy"] is True


def test_rollback_no_wait_updates_and_reports_nothing_waited_for(cli: Cli, estate) -> None:
    estate.controller.rollout_s = 60  # a wait would time out; --no-wait must not wait
    try:
        result = cli("--yes", "-o", "json", "rollback", "--to", "1", "--no-wait")
    finally:
        estate.controller.rollout_s = 0.4
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["to_task_definition"].endswith(":1")
    assert doc["stable"] is None and doc["healthy"] is None
    ecs = estate.internal_client("ecs")
    service = ecs.describe_services(
        cluster="hybrid-routing-cluster", services=["hybrid-router-service"]
    )["services"][0]
    assert service["taskDefinition"].endswith(":1")


def test_rollback_timeout_is_exit_5(cli: Cli, estate) -> None:
    estate.controller.rollout_s = 60
    try:
        result = cli("--yes", "-o", "json", "rollback", "--to", "1", "--timeout", "1s")
    finally:
        estate.controller.rollout_s = 0.4
    assert result.code == 5
    assert result.json()["stable"] is False


@pytest.mark.parametrize(
    ("action", "inputs"),
    [
        ("ecs.wait_stable", ""),
        ("ecs.wait_deployment", "task_definition: hybrid-router:3"),
    ],
)
def test_a_step_timeout_bounds_a_service_wait_and_is_the_bound_it_names(
    cli: Cli, estate, write_runbook, action: str, inputs: str
) -> None:
    """The step's timeout_s (1 s), not what was left of it when the first poll began."""
    estate.break_("bad-deploy")  # never stable
    path = write_runbook(
        f"""
name: bounded
steps:
  - name: settle
    timeout_s: 1
    action:
      name: {action}
      inputs:
        cluster: hybrid-routing-cluster
        service: hybrid-router-service
        interval_s: 0.05
        {inputs}
"""
    )
    result = cli("-o", "json", "run", str(path))
    assert result.code == 5, result.err
    message = result.json()["error"]["message"]
    assert " after 1s" in message, message


def test_rollback_needs_confirmation_without_a_terminal(cli: Cli, estate) -> None:
    result = cli("rollback", "--to", "1")
    assert result.code == 3


def test_scale_service_and_caps(cli: Cli, estate) -> None:
    doc = cli("--yes", "-o", "json", "scale", "service", "--by", "+2").json()
    assert (doc["status"], doc["target"], doc["from"], doc["to"]) == ("succeeded", "service", 2, 4)
    over = cli("--yes", "-o", "json", "scale", "service", "--to", "21")
    assert over.code == 3
    assert "over the limit of 20" in over.json()["error"]["message"]
    assert cli("--yes", "scale", "service", "--by", "-4").code == 3  # to zero by accident
    assert cli("--yes", "scale", "service", "--by", "0").code == 3
    assert cli("--yes", "scale", "service").code == 2
    assert cli("--yes", "scale", "service", "--by", "two").code == 2


def test_scale_lambda_ready(cli: Cli, estate) -> None:
    doc = cli("--yes", "-o", "json", "scale", "lambda", "--by", "+50").json()
    assert (doc["status"], doc["target"], doc["from"], doc["to"]) == ("succeeded", "lambda", 0, 50)
    assert cli("--yes", "scale", "lambda", "--to", "600").code == 3


def test_service_recovery_runbook(cli: Cli, estate) -> None:
    result = cli("--yes", "-o", "json", "run", "service-recovery", "-p", "interval_s=0.1")
    assert result.code == 0, result.err
    steps = {s["name"]: s for s in result.json()["steps"]}
    assert steps["target-health"]["outputs"]["states"] == ["healthy", "healthy"]
    assert steps["verify-health"]["outputs"]["verdict"] == "healthy"


def _deploy_new_revisions(estate, count: int) -> None:
    """Register `count` healthy revisions after 2 and deploy the last; wait until it settles."""
    import time

    from hybridops.sandbox.topology import CLUSTER, FAMILY, IMAGES, SERVICE, task_definition

    ecs = estate.internal_client("ecs")
    arn = ""
    for n in range(count):
        arn = ecs.register_task_definition(
            family=FAMILY, containerDefinitions=[task_definition(IMAGES[2], f"1.5.{n + 1}")]
        )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=arn)
    deadline = time.monotonic() + 10
    while (
        ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["deployments"][0][
            "rolloutState"
        ]
        != "COMPLETED"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_rollback_prefers_the_revision_last_seen_healthy(cli: Cli, estate) -> None:
    assert cli("health").code == 0  # revision 2 is seen healthy
    _deploy_new_revisions(estate, 2)  # revisions 3 and 4; 4 deployed, 3 never seen by hybridops
    doc = cli("--yes", "-o", "json", "--dry-run", "rollback").json()
    assert doc["from_task_definition"].endswith(":4")
    assert doc["to_task_definition"].endswith(":2")


def test_rollback_without_history_takes_the_next_older(cli: Cli, estate) -> None:
    _deploy_new_revisions(estate, 2)
    doc = cli("--yes", "-o", "json", "--dry-run", "rollback").json()
    assert doc["status"] == "planned"
    assert doc["to_task_definition"].endswith(":3")


def test_autoscaling_conflict_is_refused_then_adjusted(cli: Cli, estate) -> None:
    autoscaling = estate.internal_client("application-autoscaling")
    resource = "service/hybrid-routing-cluster/hybrid-router-service"
    autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2,
        MaxCapacity=3,
    )
    refused = cli("--yes", "-o", "json", "scale", "service", "--by", "+2")
    assert refused.code == 3
    assert "between 2 and 3" in refused.json()["error"]["message"]
    ok = cli("--yes", "-o", "json", "scale", "service", "--by", "+2", "--adjust-autoscaling")
    assert ok.code == 0, ok.err
    target = autoscaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])[
        "ScalableTargets"
    ][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    autoscaling.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount"
    )


def test_rollback_shows_the_plan_and_diff_before_changing(cli: Cli, estate) -> None:
    estate.break_("bad-deploy")
    cli.tty = True
    cli.answers = ["n"]
    result = cli("rollback")
    assert result.code == 3
    prompt = cli.prompts[0]
    # Revisions named family:revision (account and region are on the header line).
    assert "back from hybrid-router:3 to hybrid-router:2" in prompt
    assert "1.6.0-rc1" in prompt and "1.5.0" in prompt  # the image diff
    assert "APP_VERSION" in prompt  # the environment diff
