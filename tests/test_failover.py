"""`hybridops failover` against the sandbox (real rollouts, a public name that follows Route 53)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from hybridops.sandbox.topology import PRIMARY, RECORD, SECONDARY
from hybridops.state.sqlite import SqliteStore
from tests.support import Cli


@pytest.fixture
def estate(sandbox_env: Any) -> Any:
    return sandbox_env


def backup_desired(sandbox: Any) -> int:
    ecs = sandbox.internal_client("ecs", SECONDARY)
    return ecs.describe_services(
        cluster="hybrid-routing-cluster-backup", services=["hybrid-router-service"]
    )["services"][0]["desiredCount"]


def failover(cli: Cli, *args: str, tty: bool | None = None) -> Any:
    return cli("--yes", "-o", "json", "failover", *args, tty=tty)


def test_fail_over_and_back(cli: Cli, estate: Any) -> None:
    result = failover(cli, "--to", "secondary")
    assert result.code == 0, result.err
    doc = result.json()
    assert (doc["status"], doc["from_region"], doc["to_region"]) == (
        "succeeded",
        PRIMARY,
        SECONDARY,
    )
    assert doc["record"] == RECORD and doc["traffic_moved"] is True
    assert doc["undo"] == "hybridops --env sandbox failover --to primary"
    assert [s["name"] for s in doc["steps"]][:3] == ["preflight", "confirm", "scale"]
    assert estate.serving_region() == SECONDARY and estate.public_region() == SECONDARY
    assert backup_desired(estate) == 3
    status = cli("-o", "json", "failover", "status").json()
    assert (status["serving"], status["serving_region"]) == ("secondary", SECONDARY)
    assert status["secondary"]["health"] == "healthy"

    again = failover(cli, "--to", "secondary")
    assert again.code == 3 and "already sends traffic" in again.json()["error"]["message"]

    back = failover(cli, "--to", "primary")
    assert back.code == 0, back.err
    assert estate.serving_region() == PRIMARY


def test_unhealthy_backup_is_refused_and_nothing_moves(cli: Cli, estate: Any) -> None:
    estate.break_("backup-broken")
    result = failover(cli, "--to", "secondary")
    assert result.code == 3
    doc = result.json()
    assert "the target side is unhealthy" in doc["error"]["message"]
    assert {s["name"]: s["status"] for s in doc["steps"]}["switch"] == "not_run"
    assert estate.serving_region() == PRIMARY


def test_force_needs_the_region_typed(cli: Cli, estate: Any) -> None:
    estate.break_("backup-broken")
    cli.answers = ["eu-west-1"]  # the wrong region
    wrong = failover(cli, "--to", "secondary", "--force", tty=True)
    assert wrong.code == 3 and estate.serving_region() == PRIMARY
    assert "Type 'us-west-2'" in cli.prompts[-1]
    # Typed right, traffic moves; verification then fails (the backup is broken) and the
    # operator is asked whether to revert: yes.
    cli.answers = ["us-west-2", "y"]
    forced = failover(cli, "--to", "secondary", "--force", tty=True)
    assert forced.code == 1
    doc = forced.json()
    assert doc["reverted"] is True and doc["traffic_moved"] is False
    assert "Revert api.example.com" in cli.prompts[-1]
    assert estate.serving_region() == PRIMARY


def test_failure_after_the_switch_reverts_with_auto_revert(cli: Cli, estate: Any) -> None:
    estate.break_("dns-stale")  # the public name keeps answering from the primary
    result = failover(cli, "--to", "secondary", "--auto-revert")
    assert result.code == 1
    doc = result.json()
    assert "still served by eu-central-1" in doc["error"]["message"]
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["switch"]["compensation"]["status"] == "succeeded"
    assert doc["reverted"] is True
    assert estate.serving_region() == PRIMARY


def test_failure_after_the_switch_without_a_terminal_leaves_it_and_says_how_to_undo(
    cli: Cli, estate: Any
) -> None:
    estate.break_("dns-stale")
    result = failover(cli, "--to", "secondary")
    assert result.code == 1
    doc = result.json()
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["switch"]["compensation"]["status"] == "skipped"
    assert doc["traffic_moved"] is True and doc["undo"].endswith("failover --to primary")
    assert estate.serving_region() == SECONDARY


def test_dry_run_sends_no_mutating_call(cli: Cli, estate: Any) -> None:
    assert estate.overlay is not None
    before = dict(estate.overlay.requests)
    result = cli("--dry-run", "-o", "json", "run", "regional-failover")
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["status"] == "planned"
    assert doc["calls"] and not any(c["sent"] for c in doc["calls"])
    sent = {k: v - before.get(k, 0) for k, v in estate.overlay.requests.items()}
    mutating = [k for k, v in sent.items() if v and (k == "UpdateService" or k.startswith("POST"))]
    assert mutating == []
    assert estate.serving_region() == PRIMARY and backup_desired(estate) == 0


def test_a_held_lock_refuses_naming_the_holder(cli: Cli, estate: Any, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "home" / "state.db")
    assert store.acquire_lock("failover:sandbox", "alice@laptop run R1", 600) is None
    result = failover(cli, "--to", "secondary")
    store.close()
    assert result.code == 3
    assert "held by alice@laptop run R1" in result.json()["error"]["message"]
    assert estate.serving_region() == PRIMARY and backup_desired(estate) == 0


def test_two_concurrent_lock_takers_exactly_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStore(path).close()
    barrier = threading.Barrier(8)
    outcomes: list[bool] = []

    def take(n: int) -> None:
        store = SqliteStore(path)
        barrier.wait()
        outcomes.append(store.acquire_lock("failover:prod", f"run {n}", 600) is None)
        store.close()

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 7 + [True]


def test_simple_record_is_switched_and_restored(cli: Cli, estate: Any) -> None:
    r53 = estate.internal_client("route53")
    zone = estate.estate.hosted_zone_id
    pair = [
        r
        for r in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        if r["Name"].rstrip(".") == RECORD
    ]
    simple = {
        "Name": RECORD,
        "Type": "CNAME",
        "TTL": 60,
        "ResourceRecords": [{"Value": estate.estate.alb_dns[PRIMARY]}],
    }
    r53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": r} for r in pair]},
    )
    r53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": simple}]},
    )
    try:
        result = failover(cli, "--to", "secondary")
        assert result.code == 0, result.err
        steps = {s["name"]: s["status"] for s in result.json()["steps"]}
        assert (steps["move"], steps["insync"], steps["switch"]) == (
            "succeeded",
            "succeeded",
            "skipped",
        )
        assert estate.serving_region() == SECONDARY
        assert failover(cli, "--to", "primary").code == 0
        assert estate.serving_region() == PRIMARY
    finally:
        current = [
            r
            for r in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
            if r["Name"].rstrip(".") == RECORD
        ]
        # Two batches: moto checks a CREATE against the records before the same batch's DELETE.
        r53.change_resource_record_sets(
            HostedZoneId=zone,
            ChangeBatch={
                "Changes": [{"Action": "DELETE", "ResourceRecordSet": r} for r in current]
            },
        )
        r53.change_resource_record_sets(
            HostedZoneId=zone,
            ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": r} for r in pair]},
        )


def test_two_concurrent_failovers_exactly_one_proceeds(
    cli: Cli, estate: Any, tmp_path: Path
) -> None:
    import subprocess
    import sys

    env = {**os.environ, "NO_COLOR": "1"}
    argv = [
        sys.executable,
        "-m",
        "hybridops",
        "--yes",
        "-o",
        "json",
        "failover",
        "--to",
        "secondary",
    ]
    runs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = sorted((run.wait(timeout=120), run.stdout.read()) for run in runs if run.stdout)
    assert [code for code, _ in outcomes] == [0, 3]
    refusal = json.loads(outcomes[1][1])["error"]["message"]
    # Refused by the lock while the other runs, or (if it already finished) because traffic
    # is already on the backup: either way, never a second move.
    assert "held by" in refusal or "already sends traffic" in refusal
    assert estate.serving_region() == SECONDARY
