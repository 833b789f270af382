"""Each step kind, run for real: moto for AWS, local HTTP servers, real SQLite state."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.support import Cli, MotoServer


def book(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def test_aws_step_outputs_and_expect(
    cli: Cli, moto: MotoServer, write_config, write_runbook
) -> None:
    moto.client("ecs").create_cluster(clusterName="alpha")
    moto.forget_requests()
    write_config(moto.url)
    path = write_runbook(
        book(
            """
            name: aws-step
            parameters:
              cluster: {type: string, default: alpha}
            steps:
              - name: describe
                aws: {service: ecs, operation: describe_clusters,
                      params: {clusters: ["${{ params.cluster }}"]}}
                outputs: {arn: "clusters[0].clusterArn", status: "clusters[0].status"}
                expect: {"clusters[0].status": [ACTIVE, PROVISIONING]}
            """
        )
    )
    result = cli("-o", "json", "run", str(path))
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["status"] == "succeeded"
    step = doc["steps"][0]
    assert step["outputs"]["arn"].endswith(":cluster/alpha")
    assert step["outputs"]["status"] == "ACTIVE"
    assert moto.requests == ["DescribeClusters"]


def test_expectation_failure_fails_the_step_exit_1(
    cli: Cli, moto: MotoServer, write_config, write_runbook
) -> None:
    moto.client("ecs").create_cluster(clusterName="alpha")
    write_config(moto.url)
    path = write_runbook(
        book(
            """
            name: expect-fail
            steps:
              - name: describe
                aws: {service: ecs, operation: describe_clusters, params: {clusters: [alpha]}}
                expect: {"clusters[0].runningTasksCount": {min: 1}}
              - name: after
                sleep: 0
            """
        )
    )
    result = cli("-o", "json", "run", str(path))
    assert result.code == 1
    doc = result.json()
    assert doc["status"] == "failed"
    assert [s["status"] for s in doc["steps"]] == ["failed", "not_run"]
    assert "clusters[0].runningTasksCount: expected {'min': 1}, got 0" in doc["error"]["message"]


def test_http_step_result_shape(cli: Cli, http_server, write_config, write_runbook) -> None:
    server = http_server(lambda m, p, b: (200, {"status": "healthy", "path": p}))
    write_config(health_url=server.url)
    path = write_runbook(
        book(
            """
            name: http-step
            steps:
              - name: probe
                http: {url: "${{ env.health_url }}/health/component/cache", timeout_s: 2}
                outputs: {status: status, body: json, ms: elapsed_ms}
                expect: {status: 200, "json.status": healthy, text: {regex: "healthy"}}
            """
        )
    )
    result = cli("-o", "json", "run", str(path))
    assert result.code == 0, result.err
    outputs = result.json()["steps"][0]["outputs"]
    assert outputs["status"] == 200
    assert outputs["body"] == {"status": "healthy", "path": "/health/component/cache"}
    assert isinstance(outputs["ms"], float)
    assert server.requests[0][:2] == ("GET", "/health/component/cache")


def test_http_connection_refused_is_exit_4(cli: Cli, write_config, write_runbook) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_config(health_url=f"http://127.0.0.1:{port}")
    path = write_runbook(
        "name: x\nsteps:\n  - name: probe\n    http: {url: '${{ env.health_url }}/health'}\n"
    )
    result = cli("run", str(path))
    assert result.code == 4
    assert "HTTP GET" in result.out


def test_wait_polls_until_condition(cli: Cli, http_server, write_config, write_runbook) -> None:
    calls = {"n": 0}

    def responder(method: str, path: str, body: bytes) -> tuple[int, dict[str, str]]:
        calls["n"] += 1
        return (200, {"status": "healthy" if calls["n"] >= 3 else "starting"})

    server = http_server(responder)
    write_config(health_url=server.url)
    path = write_runbook(
        book(
            """
            name: wait-step
            steps:
              - name: settle
                wait:
                  http: {url: "${{ env.health_url }}/health"}
                  until: {"json.status": healthy}
                  interval_s: 0
                  timeout_s: 30
                outputs: {final: json.status}
            """
        )
    )
    result = cli("-o", "json", "run", str(path))
    assert result.code == 0, result.err
    assert result.json()["steps"][0]["outputs"]["final"] == "healthy"
    assert calls["n"] == 3


def test_wait_timeout_is_exit_5(cli: Cli, http_server, write_config, write_runbook) -> None:
    server = http_server(lambda m, p, b: (200, {"status": "starting"}))
    write_config(health_url=server.url)
    path = write_runbook(
        book(
            """
            name: wait-timeout
            steps:
              - name: settle
                wait:
                  http: {url: "${{ env.health_url }}/health"}
                  until: {"json.status": healthy}
                  interval_s: 0.05
                  timeout_s: 0.3
            """
        )
    )
    result = cli("-o", "json", "run", str(path))
    assert result.code == 5
    doc = result.json()
    assert doc["steps"][0]["status"] == "timed_out"
    assert "json.status: expected 'healthy', got 'starting'" in doc["error"]["message"]


def test_assert_step_over_params_and_outputs(cli: Cli, write_runbook, write_config) -> None:
    write_config()
    path = write_runbook(
        book(
            """
            name: asserts
            parameters:
              count: {type: integer, default: 3}
            steps:
              - name: check
                assert:
                  that: {"params.count": {min: 1, max: 5}}
              - name: check-too-big
                assert:
                  that: {"params.count": {max: 2}}
                  message: count is over the limit
            """
        )
    )
    result = cli("-o", "json", "run", str(path))
    assert result.code == 1
    doc = result.json()
    assert [s["status"] for s in doc["steps"]] == ["succeeded", "failed"]
    assert doc["error"]["message"].startswith("count is over the limit")


def test_confirm_step_without_terminal_is_refused(cli: Cli, write_runbook, write_config) -> None:
    write_config()
    path = write_runbook(
        "name: x\nsteps:\n  - name: ask\n    confirm: {message: 'go on'}\n  - name: b\n    sleep: 0\n"
    )
    result = cli("-o", "json", "run", str(path))
    assert result.code == 3
    assert result.json()["status"] == "refused"
    assert cli("-o", "json", "--yes", "run", str(path)).code == 0


def test_confirm_step_on_terminal(cli: Cli, write_runbook, write_config) -> None:
    write_config()
    path = write_runbook(
        "name: x\nsteps:\n  - name: ask\n    confirm: {message: 'fail over?', typed: us-west-2}\n"
    )
    cli.tty = True
    cli.answers = ["us-west-1"]
    assert cli("run", str(path)).code == 3
    cli.answers = ["us-west-2"]
    assert cli("run", str(path)).code == 0
    assert "Type 'us-west-2' to continue" in cli.prompts[-1]
    # A typed confirmation cannot be skipped with --yes.
    assert cli("--yes", "run", str(path), tty=False).code == 3


def test_sleep_and_when(cli: Cli, write_runbook, write_config) -> None:
    write_config()
    path = write_runbook(
        book(
            """
            name: sleepy
            parameters:
              pause: {type: boolean, default: false}
            steps:
              - name: maybe
                when: params.pause
                sleep: 0.01
              - name: always
                sleep: {seconds: 0}
            """
        )
    )
    doc = cli("-o", "json", "run", str(path)).json()
    assert [s["status"] for s in doc["steps"]] == ["skipped", "succeeded"]
    doc = cli("-o", "json", "run", str(path), "-p", "pause=true").json()
    assert [s["status"] for s in doc["steps"]] == ["succeeded", "succeeded"]


def test_action_step_probes_components(cli: Cli, http_server, write_runbook, write_config) -> None:
    def responder(method: str, path: str, body: bytes) -> tuple[int, dict[str, str]]:
        if path.endswith("/cache"):
            return 503, {"status": "unhealthy"}
        if path.endswith("/database"):
            return 200, {"status": "degraded"}
        return 200, {"status": "healthy"}

    server = http_server(responder)
    write_config(health_url=server.url, components=["hybrid-router", "cache", "database"])
    path = write_runbook(
        book(
            """
            name: probe
            steps:
              - name: health
                action:
                  name: health.probe
                  inputs: {base_url: "${{ env.health_url }}", components: "${{ env.components }}"}
                outputs: {verdict: status, checks: checks}
            """
        )
    )
    result = cli("-o", "json", "run", str(path))
    assert result.code == 0, result.err
    outputs = result.json()["steps"][0]["outputs"]
    assert outputs["verdict"] == "unhealthy"
    by_name = {c["name"]: c["status"] for c in outputs["checks"]}
    assert by_name == {
        "health": "pass",
        "hybrid-router": "pass",
        "cache": "fail",
        "database": "warn",
    }


def test_retries_then_success(cli: Cli, http_server, write_runbook, write_config) -> None:
    calls = {"n": 0}

    def responder(method: str, path: str, body: bytes) -> tuple[int, dict[str, int]]:
        calls["n"] += 1
        return (503 if calls["n"] < 3 else 200), {"n": calls["n"]}

    server = http_server(responder)
    write_config(health_url=server.url)
    path = write_runbook(
        book(
            """
            name: retry
            steps:
              - name: flaky
                http: {url: "${{ env.health_url }}/health"}
                expect: {status: 200}
                retries: 3
                retry_delay_s: 0
            """
        )
    )
    doc = cli("-o", "json", "run", str(path)).json()
    assert doc["status"] == "succeeded"
    assert calls["n"] == 3


def test_on_failure_continue_runs_later_steps_but_fails_run(
    cli: Cli, write_runbook, write_config
) -> None:
    write_config()
    path = write_runbook(
        book(
            """
            name: continue
            steps:
              - name: soft
                assert: {that: {"`1`": 2}}
                on_failure: continue
              - name: later
                sleep: 0
            """
        )
    )
    result = cli("-o", "json", "run", str(path))
    doc = result.json()
    assert [s["status"] for s in doc["steps"]] == ["failed", "succeeded"]
    assert result.code == 1


def test_env_reference_to_unset_setting_is_exit_2_before_anything_runs(
    cli: Cli, http_server, write_runbook, write_config
) -> None:
    server = http_server(lambda m, p, b: (200, {}))
    write_config()  # no health_url
    path = write_runbook(
        f"name: x\nsteps:\n  - name: a\n    http: {{url: '{server.url}/first'}}\n"
        "  - name: b\n    http: {url: '${{ env.health_url }}/health'}\n"
    )
    result = cli("run", str(path))
    assert result.code == 2
    assert "env.health_url" in result.err
    assert server.requests == []


def test_journal_is_written(cli: Cli, write_runbook, write_config, tmp_path) -> None:
    write_config()
    path = write_runbook("name: j\nsteps:\n  - name: a\n    sleep: 0\n")
    doc = cli("-o", "json", "run", str(path)).json()
    journal = json.loads(Path(doc["journal"]).read_text())
    assert journal["run_id"] == doc["run_id"]
    assert journal["runbook"] == "j"
    assert journal["status"] == "succeeded"
    assert journal["steps"][0]["name"] == "a"
    assert journal["steps"][0]["status"] == "succeeded"
    assert journal["journal"].startswith(str(tmp_path / "home"))


def test_step_timeout_bounds_a_wait(cli: Cli, http_server, write_config, write_runbook) -> None:
    server = http_server(lambda m, p, b: (200, {"status": "starting"}))
    write_config(health_url=server.url)
    path = write_runbook(
        book(
            """
            name: bounded
            steps:
              - name: settle
                timeout_s: 0.2
                wait:
                  http: {url: "${{ env.health_url }}/health"}
                  until: {"json.status": healthy}
                  interval_s: 0.05
                  timeout_s: 600
            """
        )
    )
    result = cli("-o", "json", "run", str(path))
    assert result.code == 5
    assert "not done after 0.2s" in result.json()["error"]["message"]


def test_interrupt_is_exit_130_and_journaled(cli: Cli, write_config, write_runbook) -> None:
    from pydantic import BaseModel

    from hybridops.steps.registry import ACTIONS, action

    class NoInputs(BaseModel):
        pass

    @action("test.interrupt", inputs=NoInputs)
    def interrupt(inputs: NoInputs, ctx: object) -> None:
        """Simulate Ctrl-C in the middle of a step."""
        raise KeyboardInterrupt

    try:
        write_config()
        path = write_runbook(
            "name: i\nsteps:\n  - name: a\n    sleep: 0\n  - name: b\n    action: {name: test.interrupt}\n"
            "  - name: c\n    sleep: 0\n"
        )
        result = cli("-o", "json", "run", str(path))
    finally:
        ACTIONS.pop("test.interrupt")
    assert result.code == 130
    doc = result.json()
    assert doc["status"] == "interrupted"
    assert [s["status"] for s in doc["steps"]] == ["succeeded", "interrupted", "not_run"]
    journal = json.loads(Path(doc["journal"]).read_text())
    assert journal["status"] == "interrupted"
