"""The gate: dry-run sends nothing mutating, read-only refuses, confirmation, audit, secrets."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from hybridops.gate.classify import is_read_only
from tests.support import Cli, MotoServer

MUTATING_BOOK = textwrap.dedent(
    """
    name: change-things
    parameters:
      token: {type: string, default: s3cr3t-t0ken-value, secret: true}
    steps:
      - name: before
        aws: {service: ecs, operation: list_clusters}
        outputs: {arns: clusterArns}
      - name: create
        aws: {service: ecs, operation: create_cluster, params: {clusterName: made}}
        outputs: {arn: cluster.clusterArn}
      - name: notify
        http:
          method: POST
          url: "${{ env.health_url }}/hook"
          headers: {authorization: "Bearer ${{ params.token }}"}
          json: {text: "token ${{ params.token }}"}
      - name: tag
        aws: {service: ecs, operation: tag_resource,
              params: {resourceArn: "${{ steps.create.outputs.arn }}", tags: [{key: k, value: v}]}}
      - name: after
        aws: {service: ecs, operation: describe_clusters, params: {clusters: [made]}}
    """
).lstrip()

MUTATING_LABELS = {"CreateCluster", "TagResource"}


@pytest.fixture
def setup(moto: MotoServer, http_server, write_config, write_runbook):
    hook = http_server(lambda m, p, b: (200, {"ok": True}))
    write_config(moto.url, health_url=hook.url)
    return hook, write_runbook(MUTATING_BOOK)


def test_dry_run_sends_no_mutating_request(cli: Cli, moto: MotoServer, setup) -> None:
    hook, path = setup
    result = cli("--dry-run", "-o", "json", "run", str(path))
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["status"] == "planned"
    # Zero mutating requests reached the AWS server or the HTTP hook.
    assert not MUTATING_LABELS & set(moto.requests)
    assert "ListClusters" in moto.requests
    assert hook.requests == []
    planned = [c for c in doc["calls"] if not c["sent"]]
    assert [(c["step"], c["service"], c["operation"]) for c in planned] == [
        ("create", "ecs", "create_cluster"),
        ("notify", "http", "POST"),
        ("tag", "ecs", "tag_resource"),
    ]
    assert planned[0]["params"] == {"clusterName": "made"}
    assert all(c["mutating"] for c in planned)
    statuses = {s["name"]: s["status"] for s in doc["steps"]}
    assert statuses["before"] == "succeeded"
    assert statuses["create"] == statuses["notify"] == statuses["tag"] == "planned"
    assert "s3cr3t-t0ken-value" not in result.out + result.err
    assert moto.client("ecs").list_clusters()["clusterArns"] == []


def test_dry_run_counts_via_botocore_events_too(moto: MotoServer, write_config) -> None:
    """The same guarantee, observed at the client: no mutating request is ever sent."""
    from hybridops.engine.runner import execute, prepare
    from hybridops.options import Options
    from hybridops.runtime import Runtime

    write_config(moto.url)
    sent: list[str] = []
    runtime = Runtime(Options(dry_run=True))
    runtime.extra_aws_hooks.append(
        ("before-send", lambda request, **_: sent.append(request.headers.get("X-Amz-Target", b"")))
    )
    from pathlib import Path

    path = Path("dry.yaml")
    path.write_text(
        "name: d\nsteps:\n  - name: c\n    aws: {service: ecs, operation: create_cluster,"
        " params: {clusterName: x}}\n  - name: l\n    aws: {service: ecs, operation: list_clusters}\n"
    )
    loaded, params = prepare(runtime, str(path), {})
    result = execute(runtime, loaded, params)
    runtime.close()
    assert result.status == "planned"
    targets = [t.decode() if isinstance(t, bytes) else t for t in sent]
    assert [t.rsplit(".", 1)[-1] for t in targets] == ["ListClusters"]


def test_read_only_refuses_before_sending(cli: Cli, moto: MotoServer, setup) -> None:
    hook, path = setup
    result = cli("--read-only", "-o", "json", "run", str(path))
    assert result.code == 3
    doc = result.json()
    assert doc["status"] == "refused"
    assert "read-only" in doc["error"]["message"]
    assert [s["status"] for s in doc["steps"]] == [
        "succeeded",
        "refused",
        "not_run",
        "not_run",
        "not_run",
    ]
    assert not MUTATING_LABELS & set(moto.requests)
    assert hook.requests == []


def test_no_terminal_and_no_yes_is_refused(cli: Cli, moto: MotoServer, setup) -> None:
    _hook, path = setup
    result = cli("run", str(path))
    assert result.code == 3
    assert "no terminal to ask on" in result.out
    assert not MUTATING_LABELS & set(moto.requests)


def test_terminal_confirmation_declined_and_accepted(cli: Cli, moto: MotoServer, setup) -> None:
    _hook, path = setup
    cli.tty = True
    cli.answers = ["n"]
    assert cli("run", str(path)).code == 3
    assert "CreateCluster" not in moto.requests
    assert "ecs.create_cluster" in cli.prompts[0]
    cli.answers = ["y", "yes", "y"]
    result = cli("-o", "json", "run", str(path))
    assert result.code == 0, result.out
    assert len(cli.prompts) == 4  # one prompt per mutating step
    assert "s3cr3t-t0ken-value" not in "".join(cli.prompts)


def test_yes_runs_and_audits_before_and_after(cli: Cli, moto: MotoServer, setup) -> None:
    hook, path = setup
    result = cli("--yes", "-o", "json", "run", str(path))
    assert result.code == 0, result.err
    run_id = result.json()["run_id"]
    assert set(moto.requests) >= MUTATING_LABELS
    assert hook.requests[0][0] == "POST"
    records = cli("-o", "json", "audit", "--since", "1h").json()["records"]
    ours = [r for r in records if r["run_id"] == run_id]
    assert [(r["step"], r["operation"], r["outcome"]) for r in ours] == [
        ("create", "create_cluster", "started"),
        ("create", "create_cluster", "succeeded"),
        ("notify", "POST", "started"),
        ("notify", "POST", "succeeded"),
        ("tag", "tag_resource", "started"),
        ("tag", "tag_resource", "succeeded"),
    ]
    first = ours[0]
    assert first["env"] == "test"
    assert first["runbook"] == "change-things"
    assert first["caller_arn"].startswith("arn:aws:sts::")
    assert first["user"]
    assert first["params"] == {"clusterName": "made"}
    # The secret parameter was sent to the hook but is in no output, journal or audit record.
    assert b"s3cr3t-t0ken-value" in hook.requests[0][2]
    journal = Path(result.json()["journal"]).read_text()
    for text in (result.out, result.err, json.dumps(records), journal):
        assert "s3cr3t-t0ken-value" not in text


def test_failed_mutating_call_is_audited_as_failed(
    cli: Cli, moto: MotoServer, write_config, write_runbook
) -> None:
    write_config(moto.url)
    path = write_runbook(
        "name: f\nsteps:\n  - name: upd\n    aws: {service: ecs, operation: update_service,"
        " params: {cluster: nope, service: nope, desiredCount: 1}}\n"
    )
    result = cli("--yes", "run", str(path))
    assert result.code == 4
    records = cli("-o", "json", "audit").json()["records"]
    assert [r["outcome"] for r in records] == ["started", "failed"]
    assert (
        "ClusterNotFoundException" in records[1]["error"]
        or "not found" in records[1]["error"].lower()
    )


def test_mutating_override_forces_the_gate(
    cli: Cli, moto: MotoServer, write_config, write_runbook
) -> None:
    write_config(moto.url)
    path = write_runbook(
        "name: o\nsteps:\n  - name: l\n    mutating: true\n    aws: {service: ecs, operation: list_clusters}\n"
    )
    assert cli("--read-only", "run", str(path)).code == 3
    assert moto.requests == []


@pytest.mark.parametrize(
    ("operation", "read_only"),
    [
        ("describe_services", True),
        ("list_clusters", True),
        ("get_parameter", True),
        ("filter_log_events", True),
        ("lookup_events", True),
        ("search_resources", True),
        ("simulate_principal_policy", True),
        ("test_dns_answer", True),
        ("validate_template", True),
        ("check_dns_availability", True),
        ("start_query", True),
        ("get_query_results", True),
        ("update_service", False),
        ("put_provisioned_concurrency_config", False),
        ("change_resource_record_sets", False),
        ("publish", False),
        ("stop_query", True),  # cancels only an Insights read of ours
        ("delete_log_group", False),
    ],
)
def test_read_only_classification(operation: str, read_only: bool) -> None:
    assert is_read_only(operation) is read_only
