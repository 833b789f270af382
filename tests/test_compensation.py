"""A failing step undoes the completed ones, newest first; the journal records it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.support import Cli, MotoServer

BOOK = textwrap.dedent(
    """
    name: three-changes
    parameters:
      fail: {type: boolean, default: true}
    steps:
      - name: one
        aws: {service: ecs, operation: create_cluster, params: {clusterName: one}}
        compensate:
          aws: {service: ecs, operation: delete_cluster, params: {cluster: one}}
      - name: two
        http: {method: POST, url: "${{ env.health_url }}/do/2"}
        compensate:
          http: {method: POST, url: "${{ env.health_url }}/undo/2"}
      - name: read
        aws: {service: ecs, operation: list_clusters}
      - name: three
        aws: {service: ecs, operation: create_cluster, params: {clusterName: three}}
        outputs: {arn: cluster.clusterArn}
        compensate:
          http: {method: POST, url: "${{ env.health_url }}/undo/3?arn=${{ steps.three.outputs.arn }}"}
      - name: check
        assert: {that: {"params.fail": false}, message: injected failure}
      - name: never
        http: {method: POST, url: "${{ env.health_url }}/never"}
    """
).lstrip()


def test_compensation_runs_in_reverse_order(
    cli: Cli, moto: MotoServer, http_server, write_config, write_runbook
) -> None:
    hook = http_server(lambda m, p, b: (200, {"ok": True}))
    write_config(moto.url, health_url=hook.url)
    path = write_runbook(BOOK)
    result = cli("--yes", "-o", "json", "run", str(path))
    assert result.code == 1
    doc = result.json()
    assert doc["status"] == "failed"
    assert doc["error"]["message"].startswith("injected failure")
    paths = [p for _, p, _ in hook.requests]
    assert paths[0] == "/do/2"
    assert paths[1].startswith("/undo/3?arn=arn:aws:ecs:eu-central-1:")
    assert paths[1:] == [paths[1], "/undo/2"]
    assert "/never" not in paths
    # The AWS compensation ran last, and really deleted the cluster.
    assert moto.requests[-1] == "DeleteCluster"
    described = moto.client("ecs").describe_clusters(clusters=["one", "three"])
    status = {c["clusterName"]: c["status"] for c in described["clusters"]}
    assert status.get("one", "INACTIVE") == "INACTIVE"
    assert status["three"] == "ACTIVE"
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["one"]["compensation"]["status"] == "succeeded"
    assert steps["two"]["compensation"]["status"] == "succeeded"
    assert steps["three"]["compensation"]["status"] == "succeeded"
    assert "compensation" not in steps["read"]
    assert steps["never"]["status"] == "not_run"
    journal = json.loads(Path(doc["journal"]).read_text())
    assert journal["steps"][0]["compensation"]["status"] == "succeeded"
    assert "↶ compensating three" in result.err


def test_no_compensation_when_everything_succeeds(
    cli: Cli, moto: MotoServer, http_server, write_config, write_runbook
) -> None:
    hook = http_server(lambda m, p, b: (200, {"ok": True}))
    write_config(moto.url, health_url=hook.url)
    path = write_runbook(BOOK)
    result = cli("--yes", "-o", "json", "run", str(path), "-p", "fail=false")
    assert result.code == 0, result.err
    assert not any(p.startswith("/undo") for _, p, _ in hook.requests)
    assert "/never" in [p for _, p, _ in hook.requests]


def test_failed_compensation_is_reported_and_others_still_run(
    cli: Cli, moto: MotoServer, http_server, write_config, write_runbook
) -> None:
    def responder(method: str, path: str, body: bytes) -> tuple[int, dict[str, bool]]:
        return (500 if path.startswith("/undo/3") else 200), {"ok": True}

    hook = http_server(responder)
    write_config(moto.url, health_url=hook.url)
    path = write_runbook(BOOK.replace("/undo/3?arn=${{ steps.three.outputs.arn }}", "/undo/3"))
    # An http compensation that answers 500 has still been sent; make it an error instead.
    path.write_text(
        path.read_text().replace(
            'http: {method: POST, url: "${{ env.health_url }}/undo/3"}',
            "aws: {service: ecs, operation: delete_cluster, params: {cluster: no-such}}",
        )
    )
    doc = cli("--yes", "-o", "json", "run", str(path)).json()
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["three"]["compensation"]["status"] == "failed"
    assert steps["two"]["compensation"]["status"] == "succeeded"
    assert steps["one"]["compensation"]["status"] == "succeeded"
