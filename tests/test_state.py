"""The state store contract, run against both backends: SQLite and DynamoDB (moto server)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hybridops.state.sqlite import SqliteStore
from hybridops.state.store import StateStore
from tests.support import Cli, MotoServer, present

TABLE = "hybridops-state"


def dynamo_client(url: str) -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        region_name="eu-central-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], StateStore]:
    """A factory of store instances (separate connections/clients) on one shared state."""
    if request.param == "sqlite":
        path = tmp_path / "state.db"
        return lambda: SqliteStore(path)
    from hybridops.state.dynamodb import DynamoStore

    moto: MotoServer = request.getfixturevalue("moto")
    first = DynamoStore(dynamo_client(moto.url), TABLE, tmp_path / "runs")
    assert first.create_table() is True
    assert first.create_table() is False
    return lambda: DynamoStore(dynamo_client(moto.url), TABLE, tmp_path / "runs")


def test_round_trip(backend: Callable[[], StateStore]) -> None:
    store = backend()
    store.append_audit({"at": "2026-11-29T01:00:00.000000Z", "id": "a1", "operation": "x"})
    store.append_audit({"at": "2026-11-29T02:00:00.000000Z", "id": "a2", "operation": "y"})
    assert [r["id"] for r in store.list_audit()] == ["a1", "a2"]
    store.record_run({"run_id": "20261129T010000Z-a", "started_at": "2026-11-29T01:00:00Z"})
    store.record_run({"run_id": "20261129T020000Z-b", "started_at": "2026-11-29T02:00:00Z"})
    store.record_run({"run_id": "20261129T020000Z-b", "started_at": "2026-11-29T02:00:00Z", "x": 1})
    runs = store.list_runs()
    assert [r["run_id"] for r in runs] == ["20261129T020000Z-b", "20261129T010000Z-a"]
    assert runs[0]["x"] == 1
    store.record_known_good("hybrid-router", "arn:td:2")
    assert store.known_good("hybrid-router") == {"arn:td:2"}
    record = {"id": "INC-1", "started_at": "2026-11-29T01:00:00Z", "status": "investigating"}
    assert store.create_incident(record) is True
    assert store.create_incident(record) is False
    store.set_active_incident("INC-1")
    assert store.active_incident() == "INC-1"
    store.set_active_incident(None)
    assert store.active_incident() is None
    updated = store.update_incident("INC-1", lambda r: r | {"status": "resolved"})
    assert updated is not None and present(store.get_incident("INC-1"))["status"] == "resolved"
    assert store.update_incident("INC-nope", lambda r: r) is None
    number = store.add_action("INC-1", {"text": "t", "owner": "o", "due": "2030-01-01"})
    assert store.add_action("INC-1", {"text": "u", "owner": "o", "due": "2030-01-01"}) == number + 1
    assert present(store.complete_action(number, "now"))["done_at"] == "now"
    assert [a["n"] for a in store.list_actions()] == [number, number + 1]
    assert store.complete_action(999, "now") is None


def test_one_maintenance_window_per_environment_seen_from_every_machine(
    backend: Callable[[], StateStore],
) -> None:
    here, there = backend(), backend()
    window = {"id": "MW-1", "env": "prod", "started_at": "2026-11-29T01:00:00Z", "muted": {}}
    assert here.open_maintenance(window) is None
    assert present(there.open_window("prod"))["id"] == "MW-1"  # another machine sees it
    second = {"id": "MW-2", "env": "prod", "started_at": "2026-11-29T02:00:00Z", "muted": {}}
    assert present(there.open_maintenance(second))["id"] == "MW-1"  # refused: the open one is named
    staging = {"id": "MW-3", "env": "staging", "started_at": "2026-11-29T03:00:00Z", "muted": {}}
    assert here.open_maintenance(staging) is None  # other environments are free
    assert there.close_maintenance(second | {"status": "ended"}) is False  # not the open one
    assert there.close_maintenance(window | {"status": "ended"}) is True
    assert here.open_window("prod") is None
    assert here.close_maintenance(window | {"status": "ended"}) is False  # already ended
    assert [w["id"] for w in here.list_maintenance()] == ["MW-3", "MW-1"]
    assert {w["id"]: w.get("status") for w in here.list_maintenance()}["MW-1"] == "ended"


def test_lock_rules(backend: Callable[[], StateStore]) -> None:
    alice, bob = backend(), backend()
    assert alice.acquire_lock("failover:prod", "alice", 60) is None
    held = bob.acquire_lock("failover:prod", "bob", 60)
    assert held is not None and held.holder == "alice"
    assert [h.name for h in bob.list_locks()] == ["failover:prod"]
    assert bob.refresh_lock("failover:prod", "bob", 60) is False
    assert alice.refresh_lock("failover:prod", "alice", 60) is True
    bob.release_lock("failover:prod", "bob")  # not bob's: nothing happens
    assert present(alice.lock_holder("failover:prod")).holder == "alice"
    alice.release_lock("failover:prod", "alice")
    assert bob.acquire_lock("failover:prod", "bob", 60) is None
    assert present(alice.force_release("failover:prod")).holder == "bob"
    assert alice.lock_holder("failover:prod") is None


def test_an_abandoned_lease_is_taken_over(backend: Callable[[], StateStore]) -> None:
    crashed, next_run = backend(), backend()
    # A lease from another host, stale by more than a lease length: its holder is gone.
    assert crashed.acquire_lock("service:prod", "crashed run", -61) is None
    assert next_run.lock_holder("service:prod") is None
    assert next_run.acquire_lock("service:prod", "next run", 60) is None
    assert crashed.refresh_lock("service:prod", "crashed run", 60) is False
    assert present(next_run.lock_holder("service:prod")).holder == "next run"


def test_a_just_expired_lease_from_another_host_is_not_stolen(
    backend: Callable[[], StateStore],
) -> None:
    """Expired by our clock only a little: a clock jump, or a skew, must not steal it."""
    holder, contender = backend(), backend()
    assert holder.acquire_lock("service:prod", "ann@elsewhere pid 4242 run R1", -30) is None
    held = contender.acquire_lock("service:prod", "bob@here pid 1 run R2", 60)
    assert held is not None and held.holder.startswith("ann@elsewhere")


def test_a_live_holder_on_this_host_keeps_its_lease_whatever_the_clock(
    backend: Callable[[], StateStore],
) -> None:
    import os
    import socket

    me = f"ann@{socket.gethostname()} pid {os.getpid()} run R1"
    holder, contender = backend(), backend()
    # Expired an hour ago by the clock (as after a wall-clock jump): the process is alive.
    assert holder.acquire_lock("service:prod", me, -3600) is None
    held = contender.acquire_lock("service:prod", "bob@x pid 1 run R2", 60)
    assert held is not None and held.holder == me


def test_a_dead_holder_on_this_host_is_taken_over_at_once(
    backend: Callable[[], StateStore],
) -> None:
    import socket
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid names no process
    dead = f"ann@{socket.gethostname()} pid {gone.pid} run R1"
    holder, contender = backend(), backend()
    assert holder.acquire_lock("service:prod", dead, 600) is None  # unexpired
    assert contender.acquire_lock("service:prod", "bob@x pid 1 run R2", 60) is None


def test_racing_for_a_lock_exactly_one_wins_every_round(
    backend: Callable[[], StateStore],
) -> None:
    rounds, racers = 25, 4
    stores = [backend() for _ in range(racers)]
    for n in range(rounds):
        barrier = threading.Barrier(racers)
        wins: list[int] = []

        def race(
            i: int, n: int = n, barrier: threading.Barrier = barrier, wins: list[int] = wins
        ) -> None:
            barrier.wait()
            if stores[i].acquire_lock(f"race-{n}", f"racer-{i}", 60) is None:
                wins.append(i)

        threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(wins) == 1, (n, wins)


RACER = """
import sys
sys.path.insert(0, {root!r})
from tests.test_state import open_for_racer
store = open_for_racer({kind!r}, {where!r})
won = [n for n in range({count}) if store.acquire_lock(f"p-{{n}}", {me!r}, 60) is None]
print(",".join(map(str, won)))
"""


def open_for_racer(kind: str, where: str) -> StateStore:
    """A store in a racer process."""
    if kind == "sqlite":
        return SqliteStore(Path(where))
    from hybridops.state.dynamodb import DynamoStore

    return DynamoStore(dynamo_client(where), TABLE, Path("/tmp"))


def test_two_processes_racing_never_both_win(
    backend: Callable[[], StateStore], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = backend()
    kind = "sqlite" if isinstance(store, SqliteStore) else "dynamodb"
    where = str(tmp_path / "state.db") if kind == "sqlite" else request.getfixturevalue("moto").url
    count = 60
    root = str(Path(__file__).resolve().parent.parent)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RACER.format(root=root, kind=kind, where=where, count=count, me=f"proc-{i}"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    won = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        won.append({int(x) for x in out.strip().split(",") if x})
    assert won[0] & won[1] == set()
    assert won[0] | won[1] == set(range(count))


def test_concurrent_timeline_appends_lose_nothing(backend: Callable[[], StateStore]) -> None:
    first = backend()
    first.create_incident({"id": "INC-T", "started_at": "2026-11-29T01:00:00Z"})

    def writer(name: str) -> None:
        store = backend()
        for i in range(500):
            store.add_timeline("INC-T", {"at": "2026-11-29T01:00:00Z", "text": f"{name}-{i}"})

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    texts = {e["text"] for e in first.timeline("INC-T")}
    assert len(texts) == 1000


def test_concurrent_incident_updates_are_never_lost(backend: Callable[[], StateStore]) -> None:
    first = backend()
    first.create_incident({"id": "INC-U", "started_at": "2026-11-29T01:00:00Z", "count": 0})

    def bump() -> None:
        store = backend()
        for _ in range(15):
            store.update_incident("INC-U", lambda r: r | {"count": r["count"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert present(first.get_incident("INC-U"))["count"] == 45


def test_a_conflicting_dynamodb_update_is_detected(moto: MotoServer, tmp_path: Path) -> None:
    from hybridops.state.dynamodb import ConflictError, DynamoStore

    store = DynamoStore(dynamo_client(moto.url), TABLE, tmp_path)
    store.create_table()
    store.create_incident({"id": "INC-C", "started_at": "x", "status": "investigating"})
    assert store.put_incident({"id": "INC-C", "started_at": "x", "status": "identified"}, 1) == 2
    with pytest.raises(ConflictError, match="changed concurrently"):
        store.put_incident({"id": "INC-C", "started_at": "x", "status": "monitoring"}, 1)
    assert present(store.get_incident("INC-C"))["status"] == "identified"


def test_state_commands_against_dynamodb(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    import yaml

    path = write_config(moto.url)
    config = yaml.safe_load(path.read_text())
    local = tmp_path / "local.db"
    config["state"] = {"backend": "dynamodb", "table": TABLE, "path": str(local)}
    path.write_text(yaml.safe_dump(config))
    old = SqliteStore(local)
    old.append_audit({"at": "2026-11-28T01:00:00.000000Z", "id": "old-1"})
    old.create_incident({"id": "INC-OLD", "started_at": "2026-11-28T01:00:00Z"})
    old.add_timeline("INC-OLD", {"at": "2026-11-28T01:00:00Z", "text": "entry"})
    old.close()
    assert cli("-o", "json", "state", "init").json() == {"table": TABLE, "created": True}
    assert cli("-o", "json", "state", "check").json()["ok"] is True
    copied = cli("-o", "json", "state", "migrate", "--from", "sqlite", "--to", "dynamodb")
    assert copied.json()["copied"]["incidents"] == 1 and copied.json()["copied"]["timeline"] == 1
    again = cli("-o", "json", "state", "migrate").json()["copied"]
    assert again["incidents"] == 0 and again["timeline"] == 0
    timeline = cli("-o", "json", "incident", "timeline", "INC-OLD")
    assert "entries" in timeline.json(), timeline.out + timeline.err
    assert timeline.json()["entries"][0]["text"] == "entry"
    # Locks through the table; release is audited.
    from hybridops.state.dynamodb import DynamoStore

    shared = DynamoStore(dynamo_client(moto.url), TABLE, tmp_path)
    shared.acquire_lock("failover:test", "gone@laptop pid 1", 600)
    assert [lk["name"] for lk in cli("-o", "json", "lock", "list").json()["locks"]] == [
        "failover:test"
    ]
    assert cli("lock", "release", "failover:test").code == 2  # needs --force
    released = cli("-o", "json", "lock", "release", "failover:test", "--force").json()
    assert released == {"name": "failover:test", "released": True, "holder": "gone@laptop pid 1"}
    audit = [r for r in shared.list_audit() if r.get("operation") == "force_release_lock"]
    assert audit and audit[0]["params"]["holder"] == "gone@laptop pid 1"
    assert json.dumps(audit)  # serialisable
