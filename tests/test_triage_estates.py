"""`hybridops triage` end to end on estates the sandbox does not model: moto for AWS, real local
health endpoints, and the ranking judged from the evidence the estate shows, nothing else."""

from __future__ import annotations

import datetime as dt
import io
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support import ZONE_RECORD, Cli, HttpServer, MotoServer, failover_zone

ACCOUNT = "123456789012"  # moto's default account
PRIMARY, SECONDARY = "eu-central-1", "us-west-2"
CLUSTER, BACKUP_CLUSTER = "hybrid-routing-cluster", "hybrid-routing-cluster-backup"
SERVICE = "hybrid-router-service"
FAMILY = "hybrid-router"
FUNCTION = "hybrid-router-function"
CIRCUIT = "/hybrid-routing/circuit-breaker/bedrock"
LOAD_BALANCER = "app/x/y"
COMPONENTS = ("hybrid-router", "bedrock-client", "cache", "database")

HEALTHY = (200, {"status": "healthy"})
DEGRADED = (200, {"status": "degraded"})


def unhealthy(reason: str) -> tuple[int, dict[str, str]]:
    return 503, {"status": "unhealthy", "reason": reason}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# -- building an estate -------------------------------------------------------------------------


class Endpoint:
    """A real /health endpoint whose answers (per path) the test changes as it goes."""

    def __init__(self, start: Callable[..., HttpServer]) -> None:
        self.answers: dict[str, tuple[int, Any]] = {}
        self.server = start(lambda method, path, body: self.answers.get(path, HEALTHY))

    @property
    def url(self) -> str:
        return self.server.url

    def component(self, name: str, answer: tuple[int, Any]) -> None:
        self.answers[f"/health/component/{name}"] = answer

    def everything(self, answer: tuple[int, Any]) -> None:
        self.answers["/health"] = answer
        for name in COMPONENTS:
            self.component(name, answer)

    def probed(self, name: str) -> bool:
        return any(path == f"/health/component/{name}" for _, path, _ in self.server.requests)


def task_definitions(moto: MotoServer, region: str = PRIMARY, count: int = 2) -> list[str]:
    """Register `count` revisions of the router's task definition; their ARNs, oldest first."""
    ecs = moto.client("ecs", region)
    return [
        ecs.register_task_definition(
            family=FAMILY,
            containerDefinitions=[
                {"name": "hybrid-router", "image": f"hybrid-router:1.{n}.0", "memory": 512}
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        for n in range(count)
    ]


def ecs_service(
    moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    *,
    revision: str,
    desired: int = 2,
    running: int = 2,
    region: str = PRIMARY,
    cluster: str = CLUSTER,
) -> None:
    """A service on `revision`; moto starts `running` tasks (and says COMPLETED when all run)."""
    ecs = moto.client("ecs", region)
    ecs.create_cluster(clusterName=cluster)
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(running))
    ecs.create_service(
        cluster=cluster, serviceName=SERVICE, taskDefinition=revision, desiredCount=desired
    )
    monkeypatch.delenv("MOTO_ECS_SERVICE_RUNNING")


def moto_service(region: str = PRIMARY, cluster: str = CLUSTER) -> Any:
    """moto's own record of the service (the moto server runs in this process)."""
    from moto.ecs.models import ecs_backends

    return ecs_backends[ACCOUNT][region].services[f"{cluster}:{SERVICE}"]


def roll_to(
    moto: MotoServer,
    revision: str,
    *,
    rollout: str,
    started: dt.timedelta,
    keep_previous: bool,
    events: list[tuple[dt.timedelta, str]] = (),  # type: ignore[assignment]
) -> str:
    """update_service to `revision`, then play ECS's part, which moto does not: a deployment of
    the new revision becomes PRIMARY (moto keeps the old one's task definition on it). With
    `keep_previous` the old deployment stays ACTIVE beside it (a rollout under way). `events`:
    (age, message) service events. The new deployment's id is returned."""
    moto.client("ecs").update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=revision)
    svc = moto_service()
    old = dict(svc.deployments[0])
    assert old["taskDefinition"] != revision  # else moto rolls now: this helper is not needed
    new = dict(old)
    new.update(
        id=f"ecs-svc/{uuid.uuid4().int % 10**19}",
        status="PRIMARY",
        taskDefinition=revision,
        rolloutState=rollout,
        rolloutStateReason=f"ECS deployment {rollout.lower()}.",
        createdAt=now() - started,
        updatedAt=now(),
    )
    if rollout == "IN_PROGRESS":
        new.update(runningCount=0, pendingCount=svc.desired_count)
    old.update(status="ACTIVE", updatedAt=now())
    svc.deployments = [new, old] if keep_previous else [new]
    svc.events = [
        {"id": str(uuid.uuid4()), "createdAt": now() - age, "message": message}
        for age, message in sorted(events)
    ]
    return str(new["id"])


def target_group(moto: MotoServer) -> str:
    """An ALB target group with two registered (healthy) targets."""
    vpc = moto.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    elb = moto.client("elbv2")
    arn = elb.create_target_group(
        Name="hybrid-routing", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(
        TargetGroupArn=arn,
        Targets=[{"Id": "10.0.1.10", "Port": 8080}, {"Id": "10.0.2.10", "Port": 8080}],
    )
    return str(arn)


def targets_fail_health_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every primary target unhealthy, as the ALB would say (moto's never are)."""
    from moto.elbv2.models import FakeHealthStatus, elbv2_backends

    for tg in elbv2_backends[ACCOUNT][PRIMARY].target_groups.values():

        def failing(target: dict[str, Any], ec2: Any, _port: Any = tg.port) -> Any:
            return FakeHealthStatus(
                target["Id"],
                target.get("Port", _port),
                None,
                "unhealthy",
                "Target.FailedHealthChecks",
                "Health checks failed",
            )

        monkeypatch.setattr(tg, "health_for", failing)


def circuit(moto: MotoServer, state: str) -> None:
    moto.client("ssm").put_parameter(Name=CIRCUIT, Value=state, Type="String", Overwrite=True)


def alarm_in_alarm(moto: MotoServer, name: str, namespace: str, metric: str) -> None:
    """A CloudWatch alarm (under the configured prefix) that fired."""
    cw = moto.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": "ClusterName", "Value": CLUSTER}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=3,
        Threshold=70.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="3 of 3 datapoints > 70")


def put_minutes(
    moto: MotoServer, namespace: str, metric: str, dims: list[dict[str, str]], values: list[float]
) -> None:
    """One datapoint per minute, newest last, ending half a minute ago."""
    at = now()
    moto.client("cloudwatch").put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": dims,
                "Timestamp": at - dt.timedelta(minutes=len(values) - i - 0.5),
                "Value": value,
            }
            for i, value in enumerate(values)
        ],
    )


def lambda_function(moto: MotoServer) -> None:
    """The router Lambda with its `live` alias (no provisioned concurrency)."""
    role = moto.client("iam").create_role(
        RoleName="hybrid-router-lambda", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {}\n")
    lam = moto.client("lambda")
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": code.getvalue()},
    )
    version = lam.publish_version(FunctionName=FUNCTION)["Version"]
    lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion=version)


@pytest.fixture
def overlaid(moto: MotoServer) -> Iterator[str]:
    """moto behind the sandbox's WSGI overlay, which answers the Lambda provisioned-concurrency
    API moto lacks (same in-process AWS state as `moto`); its URL."""
    from werkzeug.serving import make_server

    from hybridops.sandbox.overlay import Overlay

    server = make_server("127.0.0.1", 0, Overlay(moto.app), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# -- reading the answer ---------------------------------------------------------------------------


def triage(cli: Cli) -> tuple[int, dict[str, Any]]:
    result = cli("-o", "json", "triage")
    assert result.out, result.err
    return result.code, result.json()


def runbooks(doc: dict[str, Any]) -> list[str]:
    return [r["runbook"] for r in doc["recommendations"]]


def recommendation(doc: dict[str, Any], runbook: str) -> dict[str, Any]:
    return next(r for r in doc["recommendations"] if r["runbook"] == runbook)


def evidence(rec: dict[str, Any]) -> dict[str, Any]:
    return {e["fact"]: e["value"] for e in rec["evidence"]}


# -- 1. a fresh revision that fails, and a failing component, at once ---------------------------


@pytest.fixture
def failing_revision(
    moto: MotoServer, write_config: Any, http_server: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Endpoint, Callable[[str], str]]:
    """Revision 1 runs; revision 2 is being rolled out; the Bedrock client fails, the breaker is
    closed, cache and database are healthy. The caller chooses how the rollout shows it fails
    (`roll("events")`: ECS failure events since it started; `roll("router")`: the router
    component answers 503 while the rollout is IN_PROGRESS)."""
    old, new = task_definitions(moto)
    ecs_service(moto, monkeypatch, revision=old)
    endpoint = Endpoint(http_server)
    endpoint.component("bedrock-client", unhealthy("AccessDeniedException from InvokeModel"))
    circuit(moto, "closed")
    write_config(moto.url, health_url=endpoint.url, target_group_arn=target_group(moto))

    def roll(evidence_kind: str) -> str:
        events: list[tuple[dt.timedelta, str]] = [
            # Before the deployment started: not evidence against it.
            (dt.timedelta(minutes=5), f"(service {SERVICE}) has reached a steady state."),
        ]
        if evidence_kind == "events":
            events.append(
                (
                    dt.timedelta(minutes=1),
                    f"(service {SERVICE}) (task 4f1c2a9be7d3) failed container health checks.",
                )
            )
        else:
            endpoint.component("hybrid-router", unhealthy("upstream connect error"))
        return roll_to(
            moto,
            new,
            rollout="IN_PROGRESS",
            started=dt.timedelta(minutes=3),
            keep_previous=True,
            events=events,
        )

    return endpoint, roll


@pytest.mark.parametrize("evidence_kind", ["events", "router"])
def test_a_failing_fresh_revision_is_undone_before_the_breaker_opens(
    cli: Cli, failing_revision: tuple[Endpoint, Callable[[str], str]], evidence_kind: str
) -> None:
    _, roll = failing_revision
    deployment = roll(evidence_kind)
    code, doc = triage(cli)
    assert code == 1
    assert doc["status"] == "action"
    deploys = doc["facts"]["deploys"]
    assert (deploys["current"], deploys["previous"]) == (f"{FAMILY}:2", f"{FAMILY}:1")
    assert deploys["deployment"] == deployment
    assert deploys["fresh"] is True and deploys["failing"] is True
    if evidence_kind == "events":
        # The steady state before the deployment started is not counted against it.
        assert doc["facts"]["primary"]["ecs"]["failure_events"] == 1
        assert "failed container health checks" in deploys["failure"]
    else:
        assert deploys["failure"] == "rollout IN_PROGRESS while hybrid-router is unhealthy"
    assert doc["facts"]["primary"]["down"] is False
    bedrock = doc["facts"]["bedrock"]
    assert {k: bedrock[k] for k in ("client", "reason", "circuit")} == {
        "client": "unhealthy",
        "reason": "AccessDeniedException from InvokeModel",
        "circuit": "closed",
    }
    assert bedrock["model"] is not None  # read, since the client is not healthy

    assert runbooks(doc) == ["rollback-service", "circuit-breaker"]
    rollback, breaker = doc["recommendations"]
    assert rollback["trigger"] == "fresh-deploy-failing"
    assert rollback["params"] == {"to": f"{FAMILY}:1"}
    assert rollback["command"] == f"hybridops --env test run rollback-service -p to={FAMILY}:1"
    assert {"fact": "deploys.failing", "value": True, "expected": True} in rollback["evidence"]
    assert evidence(rollback)["deploys.current_known_good"] is False
    assert deployment in rollback["why"]
    assert rollback["priority"] > breaker["priority"]
    assert breaker["params"]["state"] == "open"
    assert evidence(breaker) == {
        "bedrock.client": "unhealthy",
        "bedrock.circuit": "closed",
        "primary.down": False,
    }
    # A router that fails because of the rollout is not restarted in place.
    assert "service-recovery" not in runbooks(doc)
    assert doc["unknown"] == []


def test_the_text_answer_lists_the_commands_in_order_and_ends_with_the_first(
    cli: Cli, failing_revision: tuple[Endpoint, Callable[[str], str]]
) -> None:
    _, roll = failing_revision
    roll("events")
    doc = cli("-o", "json", "triage").json()
    commands = [r["command"] for r in doc["recommendations"]]
    assert len(commands) == 2

    result = cli("triage")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("triage · test (eu-central-1) · health unhealthy")
    start = lines.index("do, in this order:")
    assert lines.index("found:") < start
    numbered = [line.strip() for line in lines[start + 1 :] if line.strip()[:3] in ("1. ", "2. ")]
    assert numbered == [f"1. {commands[0]}", f"2. {commands[1]}"]
    first = lines.index(f"  1. {commands[0]}")
    second = lines.index(f"  2. {commands[1]}")
    block = [line.strip() for line in lines[first + 1 : second]]
    assert block[0].startswith("why:") and "fails:" in block[0]
    assert "evidence: deploys.failing = true (trigger: true)" in block
    assert f"evidence: deploys.previous = {FAMILY}:1 (trigger: present)" in block
    assert block[-1].startswith(f"changes:  ECS service {SERVICE}: task definition {FAMILY}:2 →")
    after = [line.strip() for line in lines[second + 1 :]]
    assert after[0].startswith("why:      the Bedrock client is unhealthy")
    assert any(line.startswith("changes:  the breaker parameter set to open") for line in after)
    assert lines[-1] == f"next: {commands[0]}   (or: hybridops --env test triage --apply)"


# -- 2. latency high on a healthy, fresh deploy -----------------------------------------------


def test_high_latency_on_a_healthy_fresh_deploy_scales_the_service_and_does_not_roll_back(
    cli: Cli,
    moto: MotoServer,
    write_config: Any,
    http_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = task_definitions(moto)
    ecs_service(moto, monkeypatch, revision=old)
    endpoint = Endpoint(http_server)
    write_config(
        moto.url,
        health_url=endpoint.url,
        target_group_arn=target_group(moto),
        load_balancer=LOAD_BALANCER,
    )
    # Revision 1 was seen healthy (health remembers it as known-good: rollback's target)...
    assert cli("health").code == 0
    # ...revision 2 then rolled out cleanly 8 minutes ago: fresh, one COMPLETED deployment.
    roll_to(moto, new, rollout="COMPLETED", started=dt.timedelta(minutes=8), keep_previous=False)
    # Now the router answers slowly: P95 over 2 s for 11 minutes, and the CPU alarm fired.
    endpoint.component("hybrid-router", DEGRADED)
    put_minutes(
        moto,
        "AWS/ApplicationELB",
        "TargetResponseTime",
        [{"Name": "LoadBalancer", "Value": LOAD_BALANCER}],
        [2.6] * 11,
    )
    alarm_in_alarm(moto, "hybrid-router-cpu-high", "AWS/ECS", "CPUUtilization")

    code, doc = triage(cli)
    assert code == 1
    facts = doc["facts"]
    ecs = facts["primary"]["ecs"]
    assert (ecs["status"], ecs["running"], ecs["desired"], ecs["rollout"]) == (
        "pass",
        2,
        2,
        "COMPLETED",
    )
    # Every condition of a rollback holds but one: nothing fails.
    deploys = facts["deploys"]
    assert deploys["current"] == f"{FAMILY}:2" and deploys["fresh"] is True
    assert deploys["previous"] == f"{FAMILY}:1" and deploys["current_known_good"] is False
    assert deploys["failing"] is False
    assert facts["metrics"]["p95_ms"]["fired"] is True
    assert facts["metrics"]["p95_ms"]["value"] > 2000
    assert facts["primary"]["router"]["status"] == "degraded"

    assert runbooks(doc) == ["scale-service"]
    scale = doc["recommendations"][0]
    assert scale["params"] == {"to": "4"}
    assert scale["command"] == "hybridops --env test run scale-service -p to=4"
    assert scale["trigger"] == "p95-high" and "cpu-alarm" in scale["also"]
    assert evidence(scale)["metrics.p95_ms.fired"] is True
    assert "CPUUtilization" in evidence(scale)["alarms.metrics"]
    assert "rollback-service" not in runbooks(doc)
    assert "service-recovery" not in runbooks(doc)


# -- 3. a throttled Lambda while ECS is at its cap ----------------------------------------------


def throttled_at_cap(
    moto: MotoServer,
    aws_url: str,
    write_config: Any,
    http_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Healthy, but the Lambda throttled 50 times in 5 minutes, ECS runs 2 of at most 2 tasks and
    its CPU alarm fired."""
    (only,) = task_definitions(moto, count=1)
    ecs_service(moto, monkeypatch, revision=only, desired=2, running=2)
    lambda_function(moto)
    endpoint = Endpoint(http_server)
    write_config(
        aws_url,
        health_url=endpoint.url,
        target_group_arn=target_group(moto),
        limits={"max_desired_count": 2},
    )
    put_minutes(
        moto,
        "AWS/Lambda",
        "Throttles",
        [{"Name": "FunctionName", "Value": FUNCTION}],
        [12.0, 30.0, 8.0],
    )
    alarm_in_alarm(moto, "hybrid-router-cpu-high", "AWS/ECS", "CPUUtilization")


def test_a_throttled_lambda_is_scaled_while_ecs_at_its_cap_is_not(
    cli: Cli,
    moto: MotoServer,
    overlaid: str,
    write_config: Any,
    http_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    throttled_at_cap(moto, overlaid, write_config, http_server, monkeypatch)

    code, doc = triage(cli)
    assert code == 1
    facts = doc["facts"]
    assert facts["lambda"]["throttles"] == 50
    assert (facts["lambda"]["provisioned"], facts["lambda"]["at_cap"]) == (0, False)
    assert facts["primary"]["ecs"]["at_cap"] is True
    assert facts["alarms"]["metrics"] == ["CPUUtilization"]

    assert runbooks(doc) == ["scale-lambda"]
    lam = doc["recommendations"][0]
    assert lam["trigger"] == "throttled"
    assert lam["params"] == {"to": "50"}
    assert lam["command"] == "hybridops --env test run scale-lambda -p to=50"
    assert evidence(lam) == {"lambda.throttles": 50}
    blocked = [f for f in doc["findings"] if f["source"].startswith("scale-service/")]
    assert [f["source"] for f in blocked] == ["scale-service/cpu-alarm"]
    assert blocked[0]["severity"] == "warn"
    assert f"{SERVICE} needs more tasks but runs at its cap (2/2)" in blocked[0]["what"]
    assert "raise limits.max_desired_count" in blocked[0]["what"]


def test_an_unreadable_provisioned_concurrency_leaves_scale_lambda_undecided(
    cli: Cli,
    moto: MotoServer,
    write_config: Any,
    http_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Plain moto has no provisioned-concurrency API: GetProvisionedConcurrencyConfig is a 404.
    throttled_at_cap(moto, moto.url, write_config, http_server, monkeypatch)
    code, doc = triage(cli)
    assert code == 1
    assert "lambda.provisioned" in doc["facts"]["unknown"]
    assert doc["facts"]["lambda"]["at_cap"] is None
    # Whether the cap blocks scale-lambda cannot be judged: said so, not recommended.
    assert "scale-lambda" not in runbooks(doc)
    assert [u["runbook"] for u in doc["unknown"]] == ["scale-lambda"]


# -- 4. a healthy estate, then its primary region serving nothing -------------------------------


def test_a_green_estate_needs_nothing_and_a_dead_primary_fails_over(
    cli: Cli,
    moto: MotoServer,
    write_config: Any,
    http_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (only,) = task_definitions(moto, count=1)
    ecs_service(moto, monkeypatch, revision=only)
    (backup,) = task_definitions(moto, SECONDARY, count=1)
    ecs_service(moto, monkeypatch, revision=backup, region=SECONDARY, cluster=BACKUP_CLUSTER)
    primary, secondary = Endpoint(http_server), Endpoint(http_server)
    circuit(moto, "closed")
    write_config(
        moto.url,
        health_url=primary.url,
        secondary_health_url=secondary.url,
        target_group_arn=target_group(moto),
        load_balancer=LOAD_BALANCER,
        hosted_zone_id=failover_zone(moto, f"alb.{PRIMARY}.example", f"alb.{SECONDARY}.example")[0],
        record_name=ZONE_RECORD,
    )

    code, doc = triage(cli)
    assert (code, doc["status"]) == (0, "ok"), doc["findings"]
    assert doc["recommendations"] == [] and doc["findings"] == [] and doc["unknown"] == []
    assert doc["facts"]["primary"]["verdict"] == "healthy"
    assert all(primary.probed(name) for name in COMPONENTS)
    ok = cli("triage")
    assert ok.code == 0
    assert ok.out.splitlines()[-1] == "nothing needs doing: health is green and no trigger holds"

    # Every endpoint of the primary answers 503, while ECS still reports its tasks running...
    primary.everything(unhealthy("no healthy upstream"))
    # ...but the ALB still calls its targets healthy: a probe from here disagrees with AWS
    # (a VPN, a resolver): ambiguous, so no failover is recommended.
    code, doc = triage(cli)
    assert code == 1
    assert doc["facts"]["primary"]["targets"]["healthy"] == 2
    assert "regional-failover" not in runbooks(doc)
    # Once the ALB agrees that no target is healthy, the region is down.
    targets_fail_health_checks(monkeypatch)
    code, doc = triage(cli)
    assert code == 1
    facts = doc["facts"]
    assert facts["primary"]["down"] is True
    assert facts["primary"]["ecs"]["running"] == 2
    assert facts["deploys"]["failing"] is False
    assert facts["route53"]["serving"] == "primary"
    assert facts["secondary"]["able_to_serve"] is True, facts["secondary"]["why"]

    assert runbooks(doc) == ["regional-failover"]
    failover = doc["recommendations"][0]
    assert failover["trigger"] == "primary-region-down"
    assert failover["params"] == {"to": "secondary"}
    assert failover["command"] == "hybridops --env test run regional-failover -p to=secondary"
    assert evidence(failover) == {
        "primary.down": True,
        "primary.targets.healthy": 0,
        "primary.ecs.running": 2,
    }
    assert SECONDARY in failover["changes"] and ZONE_RECORD in failover["changes"]
    # A region that serves nothing is not mended by restarting in it or opening a breaker.
    assert not {"service-recovery", "circuit-breaker"} & set(runbooks(doc))
