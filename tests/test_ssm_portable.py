"""Built-in actions as SSM aws:executeScript scripts (`hybridops.ssm.portable`): each script,
run as SSM runs it (its text exec'd, `handler(payload, None)`, boto3 at the same AWS), gives
the outputs — or the failure message — the native action gives on the same inputs and state.

The native side runs through the CLI: a one-step runbook whose step outputs the whole result.
"""

from __future__ import annotations

import ast
import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import hybridops.ssm.portable as portable
from tests.support import Cli, HttpServer, MotoServer

# -- the two sides ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one side gave: the outputs, or the failure (type and message)."""

    ok: bool
    value: Any

    def failure(self) -> tuple[str, str]:
        assert not self.ok, f"expected a failure, got outputs {self.value!r}"
        return self.value["type"], self.value["message"]


def load(action: str, printed: list[str] | None = None) -> Callable[[Any, Any], Any]:
    """The script's handler, the script exec'd on its own as SSM runs it.

    What it prints (SSM keeps it as the step's output) is collected, not written to this
    process's stdout: the CLI running beside it in another thread writes its JSON there.
    """
    source = portable.script_for(action)
    assert source is not None, action
    lines = printed if printed is not None else []
    namespace: dict[str, Any] = {
        "__name__": "ssm_execute_script",
        "print": lambda *args, **_: lines.append(" ".join(str(a) for a in args)),
    }
    exec(compile(source, f"<{action}>", "exec"), namespace)
    handler = namespace[portable.HANDLER]
    assert callable(handler)
    return handler


def ported(action: str, payload: dict[str, Any]) -> Outcome:
    """Run the portable script's handler; its return value as SSM's JSON would carry it."""
    handler = load(action)
    try:
        result = handler(payload, None)
    except Exception as exc:
        return Outcome(False, {"type": type(exc).__name__, "message": str(exc)})
    return Outcome(True, json.loads(json.dumps(result)))  # no default=: JSON as it is


@dataclass
class Native:
    """Runs one action as a one-step native runbook through the CLI."""

    cli: Cli
    write_runbook: Callable[..., Path]

    def __call__(
        self,
        action: str,
        inputs: dict[str, Any],
        params: dict[str, tuple[str, Any]] | None = None,
    ) -> Outcome:
        book: dict[str, Any] = {
            "name": "portable-check",
            "steps": [
                {
                    "name": "act",
                    "action": {"name": action, "inputs": inputs},
                    "outputs": {"result": "@"},
                }
            ],
        }
        args: list[str] = []
        if params:  # values the action only sees at run time (checked by its model then)
            book["parameters"] = {name: {"type": kind} for name, (kind, _) in params.items()}
            for name, (_, value) in params.items():
                args += ["-p", f"{name}={value}"]
        path = self.write_runbook(yaml.safe_dump(book), "portable-check.yaml")
        result = self.cli("--yes", "-o", "json", "run", str(path), *args)
        doc = json.loads(result.out)
        (step,) = doc["steps"]
        if step["status"] == "succeeded":
            assert result.code == 0, result.err
            return Outcome(True, step["outputs"]["result"])
        assert result.code != 0 and "error" in step, result.out
        return Outcome(False, step["error"])


@pytest.fixture
def native(cli: Cli, write_runbook: Callable[..., Path]) -> Native:
    return Native(cli, write_runbook)


def scope_of(settings: dict[str, Any], name: str) -> dict[str, Any]:
    """The `env.*` scope hybridops builds from an environment's settings."""
    from hybridops.config import EnvironmentConfig

    scope = EnvironmentConfig.model_validate(settings).model_dump()
    scope["name"] = name
    return scope


def payload(action: str, inputs: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    """The InputPayload as the exporter builds it: the inputs and EXTRA_INPUTS, rendered."""
    from hybridops.engine.templating import render

    extra = {
        key: render("${{ " + where + " }}", {"env": scope})
        for key, where in portable.EXTRA_INPUTS[action].items()
    }
    return {**inputs, **extra}


def same(native_outcome: Outcome, ported_outcome: Outcome) -> None:
    """The same outputs, or the same failure (hybridops' error class name and message)."""
    if native_outcome.ok or ported_outcome.ok:
        assert ported_outcome == native_outcome
    else:
        assert ported_outcome.failure() == native_outcome.failure()


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the package ------------------------------------------------------------------------------

ACTIONS_PORTED = sorted(portable.PORTED)


def test_every_builtin_action_is_ported_or_refused_and_nothing_else() -> None:
    from hybridops.steps.registry import ACTIONS, load_builtin_actions

    load_builtin_actions()
    builtin = {name for name in ACTIONS if not name.startswith("ssm.")}
    assert set(portable.PORTED) | set(portable.REFUSED) == builtin
    assert not set(portable.PORTED) & set(portable.REFUSED)
    assert set(portable.EXTRA_INPUTS) == set(portable.PORTED)
    assert portable.script_for("ecs.rollback_target") is None
    assert portable.script_for("no.such_action") is None
    assert all(reason and "\n" not in reason for reason in portable.REFUSED.values())


@pytest.mark.parametrize("action", ACTIONS_PORTED)
def test_a_script_is_self_contained_python_3_8_with_the_handler(action: str) -> None:
    from hybridops.steps.registry import ACTIONS, load_builtin_actions

    load_builtin_actions()
    source = portable.script_for(action)
    assert source is not None
    # The file beside the package, with what it imports from _shared.py written in: whole.
    path = Path(portable.__file__).parent / portable.PORTED[action]
    assert "from ._shared import" in path.read_text() and "_shared" not in source
    tree = ast.parse(source, feature_version=(3, 8))  # SSM's oldest Python runtime
    imported = {
        (alias.name if isinstance(node, ast.Import) else str(node.module)).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "jmespath", "__future__"}
    assert imported <= allowed, imported - allowed
    handlers = [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "handler"
    ]
    assert [[a.arg for a in h.args.args] for h in handlers] == [["events", "context"]]
    # Extra payload keys never shadow an input of the action.
    assert not set(portable.EXTRA_INPUTS[action]) & set(ACTIONS[action].inputs.model_fields)
    assert all(where.startswith("env.") for where in portable.EXTRA_INPUTS[action].values())


# Inputs as templating leaves them: numbers as text (an SSM String parameter), words for
# booleans, what the model refuses. The script must convert and refuse as the model does.
INPUT_CASES: dict[str, list[dict[str, Any]]] = {
    "health.probe": [
        {"base_url": "http://x"},
        {"base_url": "http://x", "components": ["a", "b"], "timeout_s": "0.5"},
        {"base_url": "http://x", "timeout_s": 121},
        {"base_url": "http://x", "timeout_s": 0},
        {"base_url": "http://x", "timeout_s": "soon"},
        {"base_url": "http://x", "components": "cache"},
        {"base_url": "http://x", "components": ["cache", 7]},
        {"base_url": None},
        {"components": []},
    ],
    "ecs.plan_scale": [
        {"cluster": "c", "service": "s", "to": "4"},
        {"cluster": "c", "service": "s", "by": " 2 ", "limit": "3.00"},
        {"cluster": "c", "service": "s", "to": 2.0, "adjust_autoscaling": "yes"},
        {"cluster": "c", "service": "s", "to": 2.5},
        {"cluster": "c", "service": "s", "to": "2.5"},
        {"cluster": "c", "service": "s", "to": "1e2"},
        {"cluster": "c", "service": "s", "to": float("inf")},
        {"cluster": "c", "service": "s", "to": [], "region": "secondary"},
        {"cluster": "c", "service": "s", "limit": -1},
        {"cluster": "c", "service": "s", "adjust_autoscaling": "maybe"},
        {"cluster": "c", "service": "s", "adjust_autoscaling": 2},
        {"cluster": "c", "service": "s", "adjust_autoscaling": 0.5},
        {"cluster": "c", "service": "s", "adjust_autoscaling": 0},
        {"cluster": 3, "service": "s"},
        {"service": "s"},
    ],
    "ecs.wait_stable": [
        {"cluster": "c", "service": "s", "desired": None, "timeout_s": "30", "interval_s": "0"},
        {"cluster": "c", "service": "s", "timeout_s": "nan"},
        {"cluster": "c", "service": "s", "interval_s": -1},
        {"cluster": "c", "service": "s", "timeout_s": "٣"},  # not an ASCII digit: refused
        {"cluster": "c", "service": "s", "timeout_s": True},
    ],
    "ecs.wait_deployment": [
        {"cluster": "c", "service": "s", "task_definition": "td:1", "timeout_s": "1_000"},
        {"cluster": "c", "service": "s"},
    ],
    "lambda.plan_provisioned": [
        {"function": "f", "alias": "live", "by": "-3", "limit": "10"},
        {"function": "f", "alias": "live", "limit": -1},
    ],
    "lambda.wait_provisioned": [
        {"function": "f", "alias": "live", "interval_s": "0.25"},
        {"function": "f", "alias": None},
    ],
    "logs.recent": [
        {"groups": ["/a", "/b"], "minutes": "1440", "limit": "10000", "pattern": "ERROR"},
        {"groups": ["/a"], "minutes": 1441},
        {"groups": ["/a"], "limit": 0},
        {"groups": "/a"},
    ],
    "failover.plan": [
        {"to": "secondary", "count": "5", "match_primary": "true"},
        {"to": "tertiary"},
        {"to": "primary", "count": 501},
        {"to": "primary", "match_primary": None},
    ],
    "failover.verify": [
        {"to": "primary", "components": ["cache"]},
        {"to": None},
        {"to": "secondary", "components": [None]},
    ],
}


@pytest.mark.parametrize(
    ("action", "raw"),
    [(action, raw) for action, cases in INPUT_CASES.items() for raw in cases],
)
def test_inputs_are_converted_and_refused_as_the_action_model_does(
    action: str, raw: dict[str, Any]
) -> None:
    from hybridops.errors import ValidationError
    from hybridops.steps.registry import ACTIONS, load_builtin_actions

    load_builtin_actions()
    source = portable.script_for(action)
    assert source is not None
    namespace: dict[str, Any] = {}
    exec(compile(source, action, "exec"), namespace)
    try:
        model = ACTIONS[action].parse_inputs(raw)
    except ValidationError as exc:
        with pytest.raises(Exception) as refused:
            namespace["_inputs"](raw)
        assert (type(refused.value).__name__, str(refused.value)) == (
            "ValidationError",
            exc.message,
        )
        return
    converted = namespace["_inputs"](raw)
    assert converted == model.model_dump()
    assert [type(v) for v in converted.values()] == [type(v) for v in model.model_dump().values()]


# -- health.probe -----------------------------------------------------------------------------


@pytest.fixture
def endpoint(http_server: Callable[..., HttpServer]) -> Iterator[HttpServer]:
    """A health endpoint whose components answer in every way the verdict tells apart."""
    release = threading.Event()
    answers: dict[str, tuple[int, Any]] = {
        "/health": (200, {"status": "healthy", "region": "eu-central-1"}),
        "/health/component/router": (200, {"status": "UP"}),
        "/health/component/cache": (200, {"status": "Degraded", "reason": "slow"}),
        "/health/component/db": (503, {"status": "unhealthy"}),
        "/health/component/plain": (200, b"all good"),
        "/health/component/list": (200, [{"status": "ok"}]),
        "/health/component/nothing": (200, {"status": None}),
        "/health/component/number": (200, {"status": 1.5}),
        "/health/component/empty": (204, b""),
    }

    def respond(method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path == "/health/component/slow":
            release.wait(10)  # held until the probe gave up
            return 200, {"status": "ok"}
        return answers.get(path, (404, {"error": "no such component"}))

    yield http_server(respond)
    release.set()


def _without_latency(outcome: Outcome) -> Outcome:
    """Latency is measured, not compared: a number where one answered, None where none did."""
    if not outcome.ok:
        return outcome
    checks = []
    for check in outcome.value["checks"]:
        latency = check["latency_ms"]
        assert latency is None or (isinstance(latency, float) and latency >= 0), check
        checks.append({**check, "latency_ms": None if latency is None else "measured"})
    return Outcome(True, {**outcome.value, "checks": checks})


@pytest.mark.parametrize(
    ("components", "verdict"),
    [
        ([], "healthy"),
        (["router"], "healthy"),
        (["router", "cache"], "degraded"),
        (["cache", "db"], "unhealthy"),
        (["plain", "list", "nothing", "number", "empty", "missing"], "unhealthy"),
    ],
)
def test_health_probe(
    native: Native, endpoint: HttpServer, write_config: Any, components: list[str], verdict: str
) -> None:
    write_config()
    inputs = {"base_url": endpoint.url + "/", "components": components, "timeout_s": 5}
    expected = _without_latency(native("health.probe", inputs))
    assert expected.ok and expected.value["status"] == verdict
    assert _without_latency(ported("health.probe", inputs)) == expected
    # Both asked the same things.
    paths = [path for _, path, _ in endpoint.requests]
    assert paths[: len(paths) // 2] == paths[len(paths) // 2 :]


def test_health_probe_of_an_endpoint_that_does_not_answer(
    native: Native, endpoint: HttpServer, write_config: Any
) -> None:
    write_config()
    down = {"base_url": f"http://127.0.0.1:{closed_port()}", "components": ["router"]}
    expected = native("health.probe", down)
    assert expected.ok and expected.value["status"] == "unhealthy"
    assert "Connection refused" in expected.value["checks"][0]["detail"]
    assert ported("health.probe", down) == expected
    # 0.2000001 s: shown as hybridops shows a number (0.2), which plain str() would not.
    slow = {"base_url": endpoint.url, "components": ["slow", "router"], "timeout_s": 0.2000001}
    expected = _without_latency(native("health.probe", slow))
    assert expected.value["checks"][1]["detail"].endswith(
        "/health/component/slow: timed out after 0.2s"
    )
    assert _without_latency(ported("health.probe", slow)) == expected


def test_health_probe_refuses_inputs_as_the_action_does(native: Native, write_config: Any) -> None:
    write_config()
    inputs = {"base_url": "http://127.0.0.1:9", "timeout_s": "${{ params.t }}"}
    for value in ("0", "121", "soon"):
        expected = native("health.probe", inputs, {"t": ("string", value)})
        assert expected.failure()[0] == "ValidationError"
        same(expected, ported("health.probe", {**inputs, "timeout_s": value}))


# -- AWS on the moto server -------------------------------------------------------------------

CLUSTER, SERVICE, ACCOUNT = "ops-cluster", "web", "123456789012"


@pytest.fixture
def aws(moto: MotoServer, write_config: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Environment `test` on the moto server (the scripts reach it by AWS_ENDPOINT_URL, as a
    script reaches AWS: no endpoint of its own); returns its `env.*` scope."""
    settings = {
        "sandbox": True,
        "region": "eu-central-1",
        "secondary_region": "us-west-2",
        "endpoint_url": moto.url,
    }
    write_config(moto.url, secondary_region="us-west-2")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.url)
    return scope_of(settings, "test")


def ecs_service(
    moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    *,
    region: str = "eu-central-1",
    desired: int = 2,
    running: int = 0,
) -> str:
    """A service with `running` of `desired` tasks (moto: COMPLETED once all run); its revision."""
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(running))  # read by moto, in-process
    ecs = moto.client("ecs", region)
    ecs.create_cluster(clusterName=CLUSTER)
    arn = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "w", "image": "w:1", "memory": 256}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=CLUSTER, serviceName=SERVICE, taskDefinition=arn, desiredCount=desired
    )
    monkeypatch.delenv("MOTO_ECS_SERVICE_RUNNING")
    return str(arn)


def measured(outcome: Outcome, key: str = "duration_s") -> Outcome:
    """A duration is measured, not compared: a number of seconds either way."""
    if not outcome.ok:
        return outcome
    value = outcome.value[key]
    assert isinstance(value, (int, float)) and 0 <= value < 60, outcome
    return Outcome(True, {**outcome.value, key: "measured"})


def scalable_target(moto: MotoServer, low: int, high: int) -> None:
    moto.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=f"service/{CLUSTER}/{SERVICE}",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=low,
        MaxCapacity=high,
    )


@pytest.mark.parametrize(
    ("given", "bounds", "verdict"),
    [
        ({"to": 5}, None, "ok"),
        ({"to": 25}, None, "Refused"),
        ({"by": 2}, (1, 6), "ok"),
        ({"to": 8}, (1, 6), "Refused"),
        ({}, None, "BadInput"),
        ({"to": 2, "by": 1}, None, "BadInput"),
        ({"to": 1, "region": "secondary"}, None, "ok"),
    ],
)
def test_ecs_plan_scale(
    native: Native,
    aws: dict[str, Any],
    moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    given: dict[str, Any],
    bounds: tuple[int, int] | None,
    verdict: str,
) -> None:
    ecs_service(moto, monkeypatch, desired=2)
    ecs_service(moto, monkeypatch, region="us-west-2", desired=4)
    if bounds:
        scalable_target(moto, *bounds)
    inputs = {"cluster": CLUSTER, "service": SERVICE, **given}
    expected = native("ecs.plan_scale", inputs)
    assert ("ok" if expected.ok else expected.failure()[0]) == verdict
    if "region" in given:  # the secondary region's service (4 tasks), not the primary's (2)
        assert expected.value["from"] == 4
    same(expected, ported("ecs.plan_scale", payload("ecs.plan_scale", inputs, aws)))


def test_ecs_plan_scale_converts_run_time_inputs_as_the_action_does(
    native: Native, aws: dict[str, Any], moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ecs_service(moto, monkeypatch, desired=2)
    inputs = {"cluster": CLUSTER, "service": SERVICE, "to": "${{ params.to }}", "limit": 10}
    for text in ("4", "4.0", "-1", "4.5", "four"):
        expected = native("ecs.plan_scale", inputs, {"to": ("string", text)})
        got = ported("ecs.plan_scale", payload("ecs.plan_scale", {**inputs, "to": text}, aws))
        same(expected, got)
    assert got.failure()[0] == "ValidationError"


def test_an_aws_error_is_aws_own_in_both(
    native: Native, aws: dict[str, Any], moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not an error of the action: hybridops words it "AWS error: ...", SSM shows botocore's.
    inputs = {"cluster": "no-such-cluster", "service": SERVICE, "to": 3}
    kind, message = native("ecs.plan_scale", inputs).failure()
    got_kind, got_message = ported(
        "ecs.plan_scale", payload("ecs.plan_scale", inputs, aws)
    ).failure()
    assert (kind, got_kind) == ("RemoteError", "ClusterNotFoundException")
    assert message == f"AWS error: {got_message}"


def test_ecs_wait_stable(
    native: Native, aws: dict[str, Any], moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ecs_service(moto, monkeypatch, desired=2, running=2)
    for given in ({}, {"desired": 2}, {"desired": "2", "timeout_s": "5", "interval_s": 0}):
        inputs = {"cluster": CLUSTER, "service": SERVICE, **given}
        expected = measured(native("ecs.wait_stable", inputs))
        assert expected.value == {"running": 2, "desired": 2, "duration_s": "measured"}
        got = measured(ported("ecs.wait_stable", payload("ecs.wait_stable", inputs, aws)))
        assert got == expected


@pytest.mark.parametrize(
    ("running", "given"),
    [
        (2, {"desired": 3}),  # never 3: times out, saying so
        (0, {}),  # tasks never start (moto leaves the deployment IN_PROGRESS)
        (2, {"service": "nope"}),
    ],
)
def test_ecs_wait_stable_fails_as_the_action_does(
    native: Native,
    aws: dict[str, Any],
    moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    running: int,
    given: dict[str, Any],
) -> None:
    ecs_service(moto, monkeypatch, desired=2, running=running)
    inputs = {"cluster": CLUSTER, "service": SERVICE, "timeout_s": 0.3000001, "interval_s": 0.1}
    inputs.update(given)
    expected = native("ecs.wait_stable", inputs)
    assert expected.failure()[0] in ("TimedOut", "BadInput")
    same(expected, ported("ecs.wait_stable", payload("ecs.wait_stable", inputs, aws)))


def _moto_service(region: str = "eu-central-1") -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[ACCOUNT][region].services[f"{CLUSTER}:{SERVICE}"]


def test_ecs_wait_deployment_of_a_completed_deployment(
    native: Native, aws: dict[str, Any], moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = ecs_service(moto, monkeypatch, desired=2, running=2)
    _moto_service().events = [
        {"id": f"e{i}", "createdAt": 1.7e9 + i, "message": f"event {i}"} for i in range(25, 0, -1)
    ]
    inputs = {"cluster": CLUSTER, "service": SERVICE, "task_definition": arn}
    expected = measured(native("ecs.wait_deployment", inputs))
    assert expected.value["stable"] is True and expected.value["rollout_state"] == "COMPLETED"
    # Of the 20 newest events, oldest first, the last 10.
    assert expected.value["events"] == [f"event {i}" for i in range(16, 26)]
    assert measured(ported("ecs.wait_deployment", payload("ecs.wait_deployment", inputs, aws))) == (
        expected
    )


@pytest.mark.parametrize("state", ["FAILED", "IN_PROGRESS", "another revision"])
def test_ecs_wait_deployment_fails_as_the_action_does(
    native: Native,
    aws: dict[str, Any],
    moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    state: str,
) -> None:
    arn = ecs_service(moto, monkeypatch, desired=2, running=2)
    deployment = _moto_service().deployments[0]
    if state == "another revision":
        arn = arn.replace(":1", ":7")
    else:
        deployment["rolloutState"] = state
        deployment["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
    inputs = {
        "cluster": CLUSTER,
        "service": SERVICE,
        "task_definition": arn,
        "timeout_s": 0.3000001,  # said as 0.3s
        "interval_s": 0.1,
    }
    expected = native("ecs.wait_deployment", inputs)
    assert expected.failure()[0] == ("StepFailed" if state == "FAILED" else "TimedOut")
    same(expected, ported("ecs.wait_deployment", payload("ecs.wait_deployment", inputs, aws)))


def test_logs_recent(native: Native, aws: dict[str, Any], moto: MotoServer) -> None:
    import time

    now = int(time.time() * 1000)
    minute, hour = 60_000, 3_600_000
    lines = {
        ("eu-central-1", "/app/router"): [
            (now - 23 * hour, "ERROR a day ago"),
            (now - 12 * hour, "INFO half a day ago"),
            (now - 20 * minute, "ERROR old"),
            (now - 5 * minute, "ERROR a1"),
            (now - 3 * minute, "INFO a2"),
            (now - 1 * minute, "ERROR a3"),
        ],
        ("eu-central-1", "/app/bedrock"): [
            (now - 23 * hour + 1, "ERROR b0"),
            (now - 4 * minute, "ERROR b1"),
            (now - 3 * minute, "ERROR b2"),  # the same moment as a2: merged in group order
            (now - 90_000, "WARN b3"),
        ],
        ("us-west-2", "/app/router"): [(now - 2 * minute, "ERROR in the backup region")],
    }
    for (region, group), events in lines.items():
        logs = moto.client("logs", region)
        logs.create_log_group(logGroupName=group)
        for stream in ("one", "two"):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[
                    {"timestamp": at, "message": f"{message} ({stream})"} for at, message in events
                ],
            )
    both = ["/app/router", "/app/bedrock"]
    cases: list[dict[str, Any]] = [
        {"groups": both, "pattern": "ERROR", "limit": 3},
        {"groups": both, "minutes": 30, "limit": 50},
        {"groups": both, "minutes": 1440, "limit": 10000},  # sliced: 16 windows, merged
        {"groups": ["/app/bedrock"], "minutes": "1440", "pattern": "ERROR", "limit": "2"},
        {"groups": ["/app/router"], "region": "secondary"},
        {"groups": []},
        {"groups": ["/app/router", "/no/such/group"]},
    ]
    for inputs in cases:
        expected = native("logs.recent", inputs)
        got = ported("logs.recent", payload("logs.recent", inputs, aws))
        same(expected, got)
    assert got.failure() == ("BadInput", "log group '/no/such/group' does not exist")
    day = native("logs.recent", cases[2]).value
    assert day["count"] == 20 and day["events"][0]["message"] == "ERROR a day ago (one)"


# -- AWS in the sandbox: rollouts, provisioned concurrency, Route 53, health endpoints --------


@pytest.fixture
def estate(sandbox_env: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, Any]]:
    """The sandbox, reset, as `--env sandbox`; the scripts reach it by AWS_ENDPOINT_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox_env.endpoint_url)
    return sandbox_env, scope_of(sandbox_env.environment(), "sandbox")


def side_by_side(
    native: Native, action: str, inputs: dict[str, Any], scope: dict[str, Any]
) -> tuple[Outcome, Outcome]:
    """The native action and the script at once, waiting on the same change."""
    box: dict[str, Outcome] = {}
    script = threading.Thread(
        target=lambda: box.update(out=ported(action, payload(action, inputs, scope)))
    )
    script.start()
    try:
        expected = native(action, inputs)
    finally:
        script.join(60)
    return expected, box["out"]


def test_ecs_wait_stable_while_the_backup_region_scales_out(
    native: Native, estate: tuple[Any, dict[str, Any]]
) -> None:
    from hybridops.sandbox.topology import BACKUP_CLUSTER, SECONDARY
    from hybridops.sandbox.topology import SERVICE as ROUTER

    sandbox, scope = estate
    sandbox.internal_client("ecs", SECONDARY).update_service(
        cluster=BACKUP_CLUSTER, service=ROUTER, desiredCount=3
    )
    inputs = {
        "cluster": BACKUP_CLUSTER,
        "service": ROUTER,
        "region": "secondary",
        "desired": 3,
        "timeout_s": 30,
        "interval_s": 0.1,
    }
    expected, got = side_by_side(native, "ecs.wait_stable", inputs, scope)
    assert measured(expected).value == {"running": 3, "desired": 3, "duration_s": "measured"}
    assert measured(got) == measured(expected)


def _new_revision(sandbox: Any, *, bad: bool = False) -> str:
    """Register a revision of the router and deploy it (a bad one fails its health checks)."""
    from hybridops.sandbox.topology import CLUSTER as ROUTER_CLUSTER
    from hybridops.sandbox.topology import FAMILY, IMAGES, task_definition
    from hybridops.sandbox.topology import SERVICE as ROUTER

    ecs = sandbox.internal_client("ecs")
    arn = ecs.register_task_definition(
        family=FAMILY,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        containerDefinitions=[task_definition(IMAGES[2], "1.5.0")],
    )["taskDefinition"]["taskDefinitionArn"]
    if bad:
        with sandbox.controller.lock:
            sandbox.controller.bad_task_definitions.add(arn)
    ecs.update_service(cluster=ROUTER_CLUSTER, service=ROUTER, taskDefinition=arn)
    return str(arn)


@pytest.mark.parametrize(
    ("bad", "interval_s", "outcome"),
    [
        (False, 0.05, "stable"),
        (True, 0.05, "failed: ECS deployment circuit breaker"),
    ],
)
def test_ecs_wait_deployment_through_a_rollout(
    native: Native, estate: tuple[Any, dict[str, Any]], bad: bool, interval_s: float, outcome: str
) -> None:
    from hybridops.sandbox.topology import CLUSTER as ROUTER_CLUSTER
    from hybridops.sandbox.topology import SERVICE as ROUTER

    sandbox, scope = estate
    arn = _new_revision(sandbox, bad=bad)
    inputs = {
        "cluster": ROUTER_CLUSTER,
        "service": ROUTER,
        "task_definition": arn,
        "timeout_s": 30,
        "interval_s": interval_s,
    }
    expected, got = side_by_side(native, "ecs.wait_deployment", inputs, scope)
    if outcome == "stable":
        assert expected.ok and expected.value["stable"] is True
        assert expected.value["deployment_id"] and expected.value["events"]
        assert measured(got) == measured(expected)
    else:
        kind, message = expected.failure()
        assert kind == "StepFailed" and outcome in message
        same(expected, got)


def test_lambda_plan_provisioned(native: Native, estate: tuple[Any, dict[str, Any]]) -> None:
    from hybridops.sandbox.topology import FUNCTION

    sandbox, scope = estate
    where = {"function": FUNCTION, "alias": "live"}
    cases = [{"to": 5}, {"by": 5}, {"to": 0}, {}, {"to": 5, "by": 1}, {"by": -1}, {"to": 501}]
    outcomes = []
    for given in cases:
        inputs = {**where, **given}
        expected = native("lambda.plan_provisioned", inputs)
        same(
            expected,
            ported("lambda.plan_provisioned", payload("lambda.plan_provisioned", inputs, scope)),
        )
        outcomes.append(expected)
    assert outcomes[0].value == {"from": 0, "to": 5, "capped": False, "limit": 500}
    assert [o.failure()[0] for o in outcomes[2:]] == [
        "Refused",
        "BadInput",
        "BadInput",
        "Refused",
        "Refused",
    ]
    sandbox.internal_client("lambda").put_provisioned_concurrency_config(
        FunctionName=FUNCTION, Qualifier="live", ProvisionedConcurrentExecutions=10
    )
    for given, outcome in (
        ({"by": 5}, {"from": 10, "to": 15, "capped": False, "limit": 500}),
        ({"by": -10}, "the result would be 0: provisioned concurrency must be at least 1"),
        ({"by": 0}, "--by 0 changes nothing: refusing"),
        (
            {"to": 40, "limit": 30},
            "40 is over the limit of 30 (limits.max_provisioned_concurrency)",
        ),
    ):
        inputs = {**where, **given}
        expected = native("lambda.plan_provisioned", inputs)
        assert expected.value == outcome if expected.ok else expected.failure()[1] == outcome
        same(
            expected,
            ported("lambda.plan_provisioned", payload("lambda.plan_provisioned", inputs, scope)),
        )


@pytest.mark.parametrize(
    ("requested", "ready_s", "failure"),
    [
        (10, 0.3, None),  # IN_PROGRESS, READY 0.3 s later
        (950, 0.3, ("StepFailed", "FAILED: FUNCTION_ERROR_INIT_FAILURE: Requested provisioned")),
        (10, 60, ("TimedOut", "not READY after 0.2s (IN_PROGRESS)")),
    ],
)
def test_lambda_wait_provisioned(
    native: Native,
    estate: tuple[Any, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    requested: int | None,
    ready_s: float,
    failure: tuple[str, str] | None,
) -> None:
    from hybridops.sandbox.topology import FUNCTION

    sandbox, scope = estate
    monkeypatch.setattr(sandbox.overlay, "pc_ready_s", ready_s)
    if requested:
        sandbox.internal_client("lambda").put_provisioned_concurrency_config(
            FunctionName=FUNCTION, Qualifier="live", ProvisionedConcurrentExecutions=requested
        )
    inputs = {"function": FUNCTION, "alias": "live", "timeout_s": 20, "interval_s": 0.05}
    if failure and failure[0] == "TimedOut":
        inputs["timeout_s"] = 0.2000001  # said as 0.2s
    expected, got = side_by_side(native, "lambda.wait_provisioned", inputs, scope)
    if failure is None:
        assert expected.value == {"status": "READY", "available": 10}
    else:
        kind, message = expected.failure()
        assert kind == failure[0] and failure[1] in message
    same(expected, got)


def _environment(
    sandbox: Any, write_config: Any, monkeypatch: pytest.MonkeyPatch, **changes: Any
) -> dict[str, Any]:
    """Environment `test`: the sandbox's settings with changes; its `env.*` scope."""
    settings = {**sandbox.environment(), **changes}
    write_config(**settings)
    monkeypatch.setenv("HYBRIDOPS_ENV", "test")
    return scope_of(settings, "test")


def test_failover_plan(native: Native, estate: tuple[Any, dict[str, Any]]) -> None:
    _, scope = estate
    for inputs in (
        {"to": "secondary"},
        {"to": "secondary", "count": 5},
        {"to": "secondary", "match_primary": True},
        {"to": "primary"},  # it serves already
    ):
        expected = native("failover.plan", inputs)
        same(expected, ported("failover.plan", payload("failover.plan", inputs, scope)))
    assert expected.failure() == (
        "Refused",
        "api.example.com already sends traffic to the primary side",
    )
    plan = native("failover.plan", {"to": "secondary", "match_primary": True}).value
    assert plan["mode"] == "failover" and plan["desired"] == 2
    assert plan["undo"] == "hybridops --env sandbox failover --to primary"


def test_failover_plan_pre_flight_failures(
    native: Native,
    estate: tuple[Any, dict[str, Any]],
    write_config: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox, _ = estate
    scope = _environment(
        sandbox,
        write_config,
        monkeypatch,
        backup_service="nope",
        secondary_health_url=f"http://127.0.0.1:{closed_port()}",
        secondary_target_group_arn=(
            "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/nope/0123456789abcdef"
        ),
    )
    expected = native("failover.plan", {"to": "secondary"})
    kind, message = expected.failure()
    assert kind == "CheckFailed" and message.startswith(
        "pre-flight failed: ECS service nope not found in hybrid-routing-cluster-backup;"
        " secondary health endpoint unreachable: HTTP GET http://127.0.0.1:"
    )
    assert "secondary target group: TargetGroupNotFoundException: " in message
    same(expected, ported("failover.plan", payload("failover.plan", {"to": "secondary"}, scope)))
    scope = _environment(sandbox, write_config, monkeypatch, hosted_zone_id=None)
    expected = native("failover.plan", {"to": "secondary"})
    assert (
        expected.failure()[1] == "the environment needs hosted_zone_id and record_name to fail over"
    )
    same(expected, ported("failover.plan", payload("failover.plan", {"to": "secondary"}, scope)))


def test_failover_plan_of_a_simple_record(
    native: Native,
    estate: tuple[Any, dict[str, Any]],
    write_config: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uuid

    from hybridops.sandbox.topology import PRIMARY

    sandbox, _ = estate
    route53 = sandbox.internal_client("route53")
    zone = route53.create_hosted_zone(Name="example.org", CallerReference=str(uuid.uuid4()))
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "api.example.org",
                        "Type": "CNAME",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": sandbox.estate.alb_dns[PRIMARY].upper()}],
                    },
                }
            ]
        },
    )
    outcomes = []
    for changes, inputs in (
        ({}, {"to": "secondary", "count": 4}),
        ({"primary_target": None}, {"to": "secondary"}),  # a simple record needs both targets
    ):
        scope = _environment(
            sandbox,
            write_config,
            monkeypatch,
            hosted_zone_id=zone_id,
            record_name="api.example.org",
            **changes,
        )
        expected = native("failover.plan", inputs)
        same(expected, ported("failover.plan", payload("failover.plan", inputs, scope)))
        outcomes.append(expected)
    plan = outcomes[0].value
    assert (plan["mode"], plan["serving"], plan["desired"]) == ("simple", "primary", 4)
    (change,) = plan["change_batch"]["Changes"]
    assert change["ResourceRecordSet"]["ResourceRecords"] == [
        {"Value": sandbox.estate.alb_dns["us-west-2"]}
    ]
    (revert,) = plan["revert_batch"]["Changes"]
    assert revert["ResourceRecordSet"]["ResourceRecords"][0]["Value"].startswith("HYBRID")
    assert outcomes[1].failure()[0] == "ConfigError"


def _move_traffic(sandbox: Any, *, backup_tasks: int) -> None:
    """Fail the PRIMARY health check (Route 53 serves the SECONDARY) with the backup running."""
    from hybridops.sandbox.topology import BACKUP_CLUSTER, SECONDARY
    from hybridops.sandbox.topology import SERVICE as ROUTER

    if backup_tasks:
        sandbox.internal_client("ecs", SECONDARY).update_service(
            cluster=BACKUP_CLUSTER, service=ROUTER, desiredCount=backup_tasks
        )
        for _ in range(backup_tasks + 1):  # one task starts per convergence step
            sandbox.controller.tick()
    sandbox.internal_client("route53").update_health_check(
        HealthCheckId=sandbox.estate.health_checks["primary"], Inverted=True
    )


@pytest.mark.parametrize(
    ("moved", "backup_tasks", "fault", "to", "failure"),
    [
        (True, 0, None, "secondary", "the secondary side is unhealthy after the switch"),
        (True, 2, None, "secondary", None),
        # Resolvers still send the public name to the primary region, which is down.
        (True, 2, "dns-stale region-outage", "secondary", "the public name answers HTTP 503"),
    ],
)
def test_failover_verify(
    native: Native,
    estate: tuple[Any, dict[str, Any]],
    moved: bool,
    backup_tasks: int,
    fault: str | None,
    to: str,
    failure: str | None,
) -> None:
    from hybridops.sandbox.server import COMPONENTS

    sandbox, scope = estate
    if moved:
        _move_traffic(sandbox, backup_tasks=backup_tasks)
    for name in (fault or "").split():
        sandbox.break_(name)
    inputs = {"to": to, "components": COMPONENTS}
    expected = native("failover.verify", inputs)
    if failure is None:
        region = "eu-central-1" if to == "primary" else "us-west-2"
        assert expected.value == {"serving": to, "verdict": "healthy", "public_region": region}
    else:
        assert expected.failure()[0] == "CheckFailed" and failure in expected.failure()[1]
    same(expected, ported("failover.verify", payload("failover.verify", inputs, scope)))
