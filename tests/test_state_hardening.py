"""The SQLite state store under hostile conditions: other users, damaged files, full and
read-only disks, a stuck writer. Real SQLite files, real file systems (tmpfs mounts)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hybridops.engine.events import RunResult, RunStarted
from hybridops.engine.journal import JournalWriter
from hybridops.errors import StateStoreCorrupt, StateStoreFailed
from hybridops.gate.redact import Redactor
from hybridops.state.sqlite import SqliteStore
from tests.support import Cli, MotoServer, Result, fill

BOOK = textwrap.dedent(
    """
    name: make-cluster
    steps:
      - name: create
        aws: {service: ecs, operation: create_cluster, params: {clusterName: made}}
      - name: look
        aws: {service: ecs, operation: list_clusters}
    """
).lstrip()


def exactly(message: str) -> str:
    """A pytest.raises pattern matching the whole message."""
    return f"^{re.escape(message)}$"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def modes_under(root: Path) -> dict[str, int]:
    """Every dir and file below `root` (and root itself), relative name -> permission bits."""
    found = {".": mode(root)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = mode(path)
    return found


def one_error_line(result: Result) -> str:
    """The single line on stderr (asserting there is exactly one and no traceback)."""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The loosest umask: any file that comes out private was created private on purpose."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"  # HYBRIDOPS_HOME (conftest)


# -- permissions ------------------------------------------------------------------------------


def test_a_run_leaves_only_owner_only_dirs_and_files(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any, home: Path, open_umask: None
) -> None:
    write_config(moto.url)
    result = cli("--yes", "-o", "json", "run", str(write_runbook(BOOK)))
    assert result.code == 0, result.err
    assert [r["outcome"] for r in cli("-o", "json", "audit").json()["records"]] == [
        "started",
        "succeeded",
    ]
    found = modes_under(home)
    # The audit trail, the journal and the remembered identity are all there...
    run_id = result.json()["run_id"]
    assert {"state.db", "identities.json", f"runs/{run_id}.json"} <= set(found)
    # ...and nobody but the owner can read or list any of it.
    loose = {
        name: oct(bits)
        for name, bits in found.items()
        if bits != (0o700 if (home / name).is_dir() else 0o600)
    }
    assert loose == {}


def test_wal_and_shm_files_are_owner_only_while_open(home: Path, open_umask: None) -> None:
    store = SqliteStore(home / "state.db")
    store.append_audit({"at": "2026-01-01T00:00:00Z", "id": "a"})
    try:
        assert mode(home / "state.db-wal") == mode(home / "state.db-shm") == 0o600
        assert mode(home) == 0o700
    finally:
        store.close()


def test_looser_modes_left_by_others_are_tightened_on_open(cli: Cli, home: Path) -> None:
    (home / "runs").mkdir(parents=True)
    sqlite3.connect(home / "state.db").close()
    (home / "identities.json").write_text("{}")
    (home / "runs" / "old.json").write_text("{}")
    for path, bits in (
        (home, 0o755),
        (home / "runs", 0o777),
        (home / "state.db", 0o644),
        (home / "identities.json", 0o666),
        (home / "runs" / "old.json", 0o644),
    ):
        path.chmod(bits)
    assert cli("audit").code == 0
    assert modes_under(home) == {
        ".": 0o700,
        "runs": 0o700,
        "state.db": 0o600,
        "state.db.reserve": 0o600,
        "identities.json": 0o600,
        "runs/old.json": 0o600,
    }


def test_a_custom_state_dir_is_not_chmodded(tmp_path: Path) -> None:
    shared = tmp_path / "team"
    shared.mkdir()
    shared.chmod(0o755)
    SqliteStore(shared / "state.db").close()
    assert mode(shared) == 0o755  # not ours to close off
    assert mode(shared / "state.db") == 0o600


def test_identities_are_written_owner_only(home: Path, open_umask: None) -> None:
    from hybridops.aws.identity import remembered_caller

    path = home / "identities.json"
    assert remembered_caller(path, "k", lambda: "arn:aws:sts::1:assumed-role/R/s").endswith("/s")
    assert mode(path) == 0o600 and mode(home) == 0o700
    assert [p.name for p in home.iterdir()] == ["identities.json"]  # no temporary file left


# -- damaged files ----------------------------------------------------------------------------


def _page_corrupted(path: Path) -> None:
    store = SqliteStore(path)
    store.append_audit({"at": "2026-01-01T00:00:00Z", "id": "a", "outcome": "started"})
    store.close()
    assert not path.with_name("state.db-wal").exists()  # all of it is in the main file
    with path.open("r+b") as handle:
        handle.seek(4096)  # page 2: the audit table's root
        handle.write(b"\xde\xad\xbe\xef" * 1024)


def _not_sqlite(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("these are my notes, not a database\n" * 10)


DAMAGE: dict[str, Callable[[Path], None]] = {"page": _page_corrupted, "text": _not_sqlite}
REASONS = {"page": "database disk image is malformed", "text": "file is not a database"}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_a_damaged_store_is_one_line_and_exit_2(
    cli: Cli, write_config: Any, home: Path, damage: str, json_output: bool
) -> None:
    write_config()
    db = home / "state.db"
    DAMAGE[damage](db)
    result = cli(*(["-o", "json"] if json_output else []), "audit")
    assert result.code == 2
    assert one_error_line(result) == (
        f"error: state store {db} is damaged ({REASONS[damage]}): move it aside"
        f" (`mv {db} {db}.broken`) and rerun; `hybridops doctor` checks it"
    )
    if json_output:
        doc = json.loads(result.out)  # exactly one document
        assert doc["status"] == "error"
        assert doc["error"]["type"] == "StateStoreCorrupt" and str(db) in doc["error"]["message"]
    else:
        assert result.out == ""


@pytest.mark.parametrize(
    "command",
    [
        ["incident", "list"],
        ["lock", "list"],
        ["state", "check"],
        ["incident", "open", "-s", "P3", "-t", "x"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_every_command_that_opens_a_non_sqlite_store_exits_2(
    cli: Cli, write_config: Any, home: Path, command: list[str]
) -> None:
    write_config()
    _not_sqlite(home / "state.db")
    result = cli("-o", "json", *command)
    assert result.code == 2, result.err
    assert "is damaged (file is not a database)" in one_error_line(result)
    assert json.loads(result.out)["status"] == "error"


def test_a_run_on_a_non_sqlite_store_exits_2_before_any_call(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any, home: Path
) -> None:
    write_config(moto.url)
    _not_sqlite(home / "state.db")
    result = cli("--yes", "run", str(write_runbook(BOOK)))
    assert result.code == 2
    assert f"state store {home / 'state.db'} is damaged" in one_error_line(result)
    assert "CreateCluster" not in moto.requests


@pytest.mark.parametrize("damage", DAMAGE)
def test_doctor_fails_a_damaged_store_with_the_fix(
    cli: Cli, moto: MotoServer, write_config: Any, home: Path, damage: str
) -> None:
    write_config(moto.url)
    db = home / "state.db"
    DAMAGE[damage](db)
    result = cli("-o", "json", "doctor")
    assert result.code == 1
    checks = {c["name"]: c for c in result.json()["checks"]}
    state = checks["state store"]
    assert state["status"] == "fail", state
    assert str(db) in state["detail"] and "readable and writable" not in state["detail"]
    assert f"mv {db} {db}.broken" in state["fix"]
    # The other checks still ran: a damaged store does not hide the AWS ones.
    assert checks["credentials"]["status"] == "pass"


def test_doctor_passes_a_sound_store(cli: Cli, moto: MotoServer, write_config: Any) -> None:
    write_config(moto.url)
    checks = {c["name"]: c for c in cli("-o", "json", "doctor").json()["checks"]}
    assert checks["state store"]["status"] == "pass"
    assert checks["state permissions"]["status"] == "pass"


def test_doctor_fails_loose_modes_with_the_chmod_fix(
    cli: Cli, moto: MotoServer, write_config: Any, home: Path
) -> None:
    write_config(moto.url)
    SqliteStore(home / "state.db").close()
    (home / "runs").mkdir(mode=0o700)
    journal = home / "runs" / "r1.json"
    journal.write_text("{}")
    journal.chmod(0o644)  # inside a private dir: not tightened on open, only reported
    home.chmod(0o755)
    (home / "state.db").chmod(0o644)
    result = cli("-o", "json", "doctor")
    assert result.code == 1
    found = {c["name"]: c for c in result.json()["checks"]}["state permissions"]
    assert found["status"] == "fail"
    assert f"{home} 0755" in found["detail"] and f"{home / 'state.db'} 0644" in found["detail"]
    assert f"{journal} 0644" in found["detail"]
    assert found["fix"] == f"chmod -R go= {home}"
    subprocess.run(found["fix"], shell=True, check=True)
    again = {c["name"]: c for c in cli("-o", "json", "doctor").json()["checks"]}
    assert again["state permissions"]["status"] == "pass"


def test_doctor_in_text_mode_prints_the_fix(
    cli: Cli, moto: MotoServer, write_config: Any, home: Path
) -> None:
    write_config(moto.url)
    _not_sqlite(home / "state.db")
    result = cli("doctor")
    assert result.code == 1
    assert "fail state store: state store" in result.out
    assert f"fix: move it aside (`mv {home / 'state.db'}" in result.out


# -- full, read-only, locked ------------------------------------------------------------------


def remount_read_only(mount_point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)


def a_store_with_history(db: Path) -> None:
    store = SqliteStore(db)
    store.append_audit({"at": "2026-01-01T00:00:00Z", "id": "a", "outcome": "started"})
    store.close()


def journal_writer(journal_dir: Path, tmp_path: Path) -> JournalWriter:
    store = SqliteStore(tmp_path / "elsewhere" / "state.db")
    store.journal_dir = journal_dir
    return JournalWriter(store, Redactor())


def run_started() -> RunStarted:
    result = RunResult("20260101T000000Z-abc", "book", "test", {"big": "x" * 300_000})
    return RunStarted(result, 1)


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_audit_on_a_full_disk_says_full(cli: Cli, tmpfs: Path, json_output: bool) -> None:
    db = tmpfs / "home" / "state.db"
    a_store_with_history(db)
    fill(tmpfs)
    result = cli(*(["-o", "json"] if json_output else []), "audit")
    assert result.code == 1
    assert result.err.splitlines()[0] == f"error: state store full: {db}"
    assert "Traceback" not in result.err
    if json_output:
        doc = json.loads(result.out)
        assert doc["status"] == "error" and doc["error"]["type"] == "StateStoreFailed"


def test_writes_on_a_full_disk_say_full(cli: Cli, tmpfs: Path, tmp_path: Path) -> None:
    db = tmpfs / "home" / "state.db"
    a_store_with_history(db)
    # Open before the disk fills: its -wal and -shm exist, so the CLI below can open too.
    store = SqliteStore(db)
    try:
        fill(tmpfs)
        big = {"at": "2026-01-01T00:00:01Z", "id": "b", "blob": "x" * 300_000}
        with pytest.raises(StateStoreFailed, match=exactly(f"state store full: {db}")):
            store.append_audit(big)
        # Inside a transaction SQLite rolls back by itself: the error must survive ours.
        with pytest.raises(StateStoreFailed, match=exactly(f"state store full: {db}")):
            store.acquire_lock("failover", "h" * 300_000, 60)
        result = cli("-o", "json", "incident", "open", "-s", "P3", "-t", "x" * 300_000)
        assert result.code == 1
        assert result.err.splitlines()[0] == f"error: state store full: {db}"
        assert "Traceback" not in result.err
        assert json.loads(result.out)["error"]["type"] == "StateStoreFailed"
        # What is there can still be read.
        assert [r["id"] for r in store.list_audit()] == ["a"]
        writer = journal_writer(tmpfs / "home" / "runs", tmp_path)
        with pytest.raises(StateStoreFailed, match=r"^state store full: .*runs/.*json$"):
            writer.handle(run_started())
        writer.store.close()
    finally:
        store.close()


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_a_read_only_store_says_read_only(cli: Cli, tmpfs: Path, json_output: bool) -> None:
    db = tmpfs / "home" / "state.db"
    a_store_with_history(db)
    remount_read_only(tmpfs)
    result = cli(*(["-o", "json"] if json_output else []), "audit")
    assert result.code == 1
    assert result.err.splitlines()[0] == f"error: state store read-only: {db}"
    assert "Traceback" not in result.err
    if json_output:
        assert json.loads(result.out)["error"]["type"] == "StateStoreFailed"


def test_a_journal_on_a_read_only_disk_says_read_only(tmpfs: Path, tmp_path: Path) -> None:
    (tmpfs / "home" / "runs").mkdir(parents=True)
    remount_read_only(tmpfs)
    writer = journal_writer(tmpfs / "home" / "runs", tmp_path)
    try:
        with pytest.raises(StateStoreFailed, match=r"^state store read-only: .*runs/.*json$"):
            writer.handle(run_started())
    finally:
        writer.store.close()


def test_a_read_only_database_says_read_only(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = SqliteStore(db)
    # SQLite's own refusal ("attempt to write a readonly database"), on a real file.
    store._conn.close()
    store._conn = sqlite3.connect(
        f"file:{db}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    try:
        with pytest.raises(StateStoreFailed, match=exactly(f"state store read-only: {db}")):
            store.append_audit({"at": "2026-01-01T00:00:00Z", "id": "a"})
    finally:
        store.close()


def test_a_stuck_writer_says_locked(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = SqliteStore(db, busy_timeout_s=0)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StateStoreFailed, match=exactly(f"state store locked: {db}")) as caught:
            store.append_audit({"at": "2026-01-01T00:00:00Z", "id": "a"})
        assert caught.value.hint and "fuser" in caught.value.hint
        with pytest.raises(StateStoreFailed, match=r"^state store locked"):
            store.acquire_lock("failover", "me", 60)
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.append_audit({"at": "2026-01-01T00:00:00Z", "id": "a"})  # usable again
    store.close()


def test_a_store_that_cannot_be_opened_is_one_error(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("HYBRIDOPS_STATE_PATH", str(blocker / "state.db"))
    result = cli("audit")
    assert result.code == 1
    assert result.err.splitlines()[0].startswith(f"error: state store failed: {blocker}")
    assert "Traceback" not in result.err


def test_bugs_are_not_disguised_as_store_failures(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        store.list_audit()
    assert not issubclass(StateStoreCorrupt, StateStoreFailed)
