"""`hybridops health`: passing, slow and failing endpoints, AWS checks, exit codes, reports."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support import Cli


@pytest.fixture
def estate_config(shared_sandbox, write_config, http_server):
    """A config whose AWS side is the sandbox and whose health endpoint is ours to shape."""
    shared_sandbox.reset()
    behaviour: dict[str, tuple[int, dict, float]] = {}

    def responder(method: str, path: str, body: bytes):
        status, payload, delay = behaviour.get(path, (200, {"status": "healthy"}, 0.0))
        if delay:
            time.sleep(delay)  # the server is slow, not the test
        return status, payload

    server = http_server(responder)
    env = shared_sandbox.environment()
    write_config(
        env["endpoint_url"],
        health_url=server.url,
        cluster=env["cluster"],
        service=env["service"],
        target_group_arn=env["target_group_arn"],
    )
    return behaviour, shared_sandbox


def test_all_healthy(cli: Cli, estate_config) -> None:
    result = cli("-o", "json", "health")
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["status"] == "healthy"
    kinds = {c["kind"] for c in doc["checks"]}
    assert kinds == {"http", "ecs", "alb", "alarms", "route53"}
    assert all(set(c) == {"name", "kind", "status", "detail", "latency_ms"} for c in doc["checks"])


def test_mix_of_passing_slow_and_failing(cli: Cli, estate_config) -> None:
    behaviour, _ = estate_config
    behaviour["/health/component/cache"] = (200, {"status": "healthy"}, 6.0)
    behaviour["/health/component/database"] = (
        503,
        {"status": "unhealthy", "reason": "pool exhausted"},
        0.0,
    )
    behaviour["/health/component/bedrock-client"] = (200, {"status": "degraded"}, 0.0)
    started = time.monotonic()
    # A timeout a loaded CI machine still meets for the endpoints that answer at once.
    result = cli("-o", "json", "health", "--timeout", "1")
    elapsed = time.monotonic() - started
    assert result.code == 1
    doc = result.json()
    assert doc["status"] == "unhealthy"
    by_name = {c["name"]: c for c in doc["checks"]}
    assert by_name["component cache"]["status"] == "fail"
    assert "timed out after 1s" in by_name["component cache"]["detail"]
    assert by_name["component database"]["detail"] == "HTTP 503 unhealthy: pool exhausted"
    assert by_name["component bedrock-client"]["status"] == "warn"
    assert by_name["component hybrid-router"]["status"] == "pass"
    # A slow endpoint costs its timeout (and one retry), never its whole delay.
    assert elapsed < 4.0


def test_degraded_exit_code_and_fail_on(cli: Cli, estate_config) -> None:
    behaviour, _ = estate_config
    behaviour["/health/component/cache"] = (200, {"status": "degraded"}, 0.0)
    assert cli("health").code == 0
    assert cli("health", "--fail-on", "degraded").code == 1


def test_only_named_components(cli: Cli, estate_config) -> None:
    doc = cli("-o", "json", "health", "cache").json()
    http = [c["name"] for c in doc["checks"] if c["kind"] == "http"]
    assert http == ["component cache"]
    bad = cli("health", "cache", "kafka")
    assert bad.code == 2
    assert "unknown component 'kafka'" in bad.err


def test_aws_side_failures_are_seen(cli: Cli, estate_config) -> None:
    _, sandbox = estate_config
    sandbox.break_("region-outage")
    sandbox.controller.tick()
    doc = cli("-o", "json", "health").json()
    by_name = {c["name"]: c for c in doc["checks"]}
    assert by_name["alb targets"]["status"] == "fail"
    assert "Target.FailedHealthChecks" in by_name["alb targets"]["detail"]
    assert by_name["cloudwatch alarms"]["status"] == "warn"
    assert "hybrid-router-5xx" in by_name["cloudwatch alarms"]["detail"]


def test_junit_report(cli: Cli, estate_config, tmp_path: Path) -> None:
    behaviour, _ = estate_config
    behaviour["/health/component/database"] = (503, {"status": "unhealthy"}, 0.0)
    report = tmp_path / "health.xml"
    assert cli("health", "--junit", str(report)).code == 1
    suite = ET.parse(report).getroot()
    assert suite.get("tests") == "9"
    assert suite.get("failures") == "1"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["component database"]


def test_text_table(cli: Cli, estate_config) -> None:
    result = cli("health")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["check", "status", "detail", "latency"]
    assert lines[-1] == "healthy · eu-central-1"
