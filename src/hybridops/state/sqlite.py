"""SQLite state store: WAL, busy timeout, one file per user by default, owner-only modes."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hybridops.paths import (
    PRIVATE_FILE_MODE,
    is_data_dir,
    make_private_dir,
    open_private,
    tighten_mode,
)
from hybridops.state.errors import corrupt, guarded
from hybridops.state.store import (
    LockHolder,
    StateStore,
    iso,
    lease_abandoned,
    parse_iso,
    utcnow,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
CREATE TABLE IF NOT EXISTS known_good (
    family TEXT NOT NULL,
    task_definition TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (family, task_definition)
);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS timeline (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    at TEXT NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS timeline_incident ON timeline(incident_id, seq);
CREATE TABLE IF NOT EXISTS actions (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    item TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS maintenance (
    id TEXT PRIMARY KEY,
    env TEXT NOT NULL,
    started_at TEXT NOT NULL,
    open INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS maintenance_one_open ON maintenance(env) WHERE open = 1;
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""


# Every public method maps SQLite/OS failures (full, read-only, locked, damaged) to one-line
# hybridops errors (state/errors.py). A store up to QUICK_CHECK_MAX_BYTES is checked on open
# with `PRAGMA quick_check` (~0.7 ms per MB), so any command on a damaged one says so; above
# that, damage shows when a query touches the bad page, and `hybridops doctor` checks it all.
@guarded
class SqliteStore(StateStore):
    """State in one SQLite file; journals as JSON files beside it."""

    QUICK_CHECK_MAX_BYTES = 32 * 1024 * 1024

    def __init__(self, path: Path, *, busy_timeout_s: float = 10.0) -> None:
        self.path = path
        self.journal_dir = path.parent / "runs"
        # A custom state.path may sit in a shared directory: only our own one is tightened.
        make_private_dir(path.parent, tighten=is_data_dir(path.parent))
        if self.journal_dir.is_dir():
            make_private_dir(self.journal_dir)
        # Created 0600 before SQLite opens it: SQLite gives -wal and -shm the same mode.
        os.close(open_private(path, os.O_RDWR))
        for suffix in ("-wal", "-shm", "-journal"):
            tighten_mode(path.with_name(path.name + suffix), PRIVATE_FILE_MODE)
        conn = sqlite3.connect(
            str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            if path.stat().st_size <= self.QUICK_CHECK_MAX_BYTES:
                problems = conn.execute("PRAGMA quick_check(1)").fetchall()
                if problems and problems[0][0] != "ok":
                    # SQLite's own words for it (the finding itself spans lines; doctor shows it).
                    raise corrupt(path, "database disk image is malformed")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            conn.executescript(SCHEMA)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._lock = threading.Lock()
        self._keep_reserve()

    # Space set aside on the store's file system: when the disk fills mid-run, freeing it lets
    # the run still write what it must (the undo's audit records, the lock release, the final
    # journal) instead of leaving a change made, locked and unrecorded.
    RESERVE_BYTES = 256 * 1024

    @property
    def reserve_path(self) -> Path:
        """The reserve file beside the database."""
        return self.path.with_name(self.path.name + ".reserve")

    def _keep_reserve(self) -> None:
        if self.reserve_path.exists():
            return
        try:
            fd = open_private(self.reserve_path, os.O_WRONLY)
            try:
                os.posix_fallocate(fd, 0, self.RESERVE_BYTES)
            finally:
                os.close(fd)
        except OSError:  # no room for it now: the store works without one
            with contextlib.suppress(OSError):
                self.reserve_path.unlink()

    def release_reserve(self) -> bool:
        """Free the reserve (a full disk): room for the last records of this run."""
        try:
            self.reserve_path.unlink()
        except OSError:
            return False
        return True

    def _rollback(self) -> None:
        # SQLite has already rolled back after some errors (a full disk): a second ROLLBACK
        # would fail and hide the error that matters.
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def integrity_check(self) -> list[str]:
        """`PRAGMA integrity_check`: [] when the file is sound, else SQLite's findings."""
        with self._lock:
            try:
                rows = self._conn.execute("PRAGMA integrity_check(20)").fetchall()
            except sqlite3.DatabaseError as exc:  # too damaged to even walk
                return [str(exc)]
        problems = [str(r[0]) for r in rows]
        return [] if problems == ["ok"] else problems

    def append_audit(self, record: dict[str, Any]) -> None:
        """Append one audit record."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO audit(at, record) VALUES (?, ?)",
                (record["at"], json.dumps(record, default=str)),
            )

    def list_audit(
        self, since: dt.datetime | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Audit records oldest first."""
        query = "SELECT record FROM audit"
        args: list[Any] = []
        if since is not None:
            query += " WHERE at >= ?"
            args.append(iso(since))
        query += " ORDER BY seq"
        with self._lock:
            rows = self._conn.execute(query, args).fetchall()
        records = [json.loads(r[0]) for r in rows]
        return records[-limit:] if limit else records

    def record_run(self, summary: dict[str, Any]) -> None:
        """Upsert a run summary."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO runs(run_id, started_at, summary) VALUES (?, ?, ?)"
                " ON CONFLICT(run_id) DO UPDATE SET summary = excluded.summary",
                (summary["run_id"], summary["started_at"], json.dumps(summary, default=str)),
            )

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest runs first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT summary FROM runs ORDER BY started_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def record_known_good(self, family: str, task_definition: str) -> None:
        """Upsert a healthy sighting."""
        from hybridops.state.store import utcnow

        with self._lock:
            self._conn.execute(
                "INSERT INTO known_good(family, task_definition, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT(family, task_definition) DO UPDATE SET seen_at = excluded.seen_at",
                (family, task_definition, iso(utcnow())),
            )

    def known_good(self, family: str) -> set[str]:
        """Revisions seen healthy."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT task_definition FROM known_good WHERE family = ?", (family,)
            ).fetchall()
        return {r[0] for r in rows}

    def all_known_good(self) -> list[tuple[str, str]]:
        """Every (family, revision) seen healthy (for migration)."""
        with self._lock:
            rows = self._conn.execute("SELECT family, task_definition FROM known_good").fetchall()
        return [(r[0], r[1]) for r in rows]

    def acquire_lock(self, name: str, holder: str, ttl_s: float) -> LockHolder | None:
        """Take the lock in one IMMEDIATE transaction: other processes wait, then see it held.

        A lease still in the table is taken over only when it is abandoned (`lease_abandoned`).
        """
        now = utcnow()
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT name, holder, acquired_at, expires_at FROM locks WHERE name = ?",
                    (name,),
                ).fetchone()
                if row is not None and lease_abandoned(row[1], parse_iso(row[3]), now, ttl_s):
                    conn.execute("DELETE FROM locks WHERE name = ? AND holder = ?", (name, row[1]))
                    row = None
                if row is None:
                    conn.execute(
                        "INSERT INTO locks(name, holder, acquired_at, expires_at)"
                        " VALUES (?, ?, ?, ?)",
                        (name, holder, iso(now), iso(now + dt.timedelta(seconds=ttl_s))),
                    )
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        return None if row is None else LockHolder(*row)

    def release_lock(self, name: str, holder: str) -> None:
        """Release if still ours."""
        with self._lock:
            self._conn.execute("DELETE FROM locks WHERE name = ? AND holder = ?", (name, holder))

    def lock_holder(self, name: str) -> LockHolder | None:
        """The unexpired holder, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT name, holder, acquired_at, expires_at FROM locks"
                " WHERE name = ? AND expires_at >= ?",
                (name, iso(utcnow())),
            ).fetchone()
        return None if row is None else LockHolder(*row)

    def refresh_lock(self, name: str, holder: str, ttl_s: float) -> bool:
        """Extend our lease."""
        expires = iso(utcnow() + dt.timedelta(seconds=ttl_s))
        with self._lock:
            cursor = self._conn.execute(
                "UPDATE locks SET expires_at = ? WHERE name = ? AND holder = ?",
                (expires, name, holder),
            )
        return cursor.rowcount == 1

    def list_locks(self) -> list[LockHolder]:
        """Unexpired locks."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, holder, acquired_at, expires_at FROM locks WHERE expires_at >= ?"
                " ORDER BY name",
                (iso(utcnow()),),
            ).fetchall()
        return [LockHolder(*row) for row in rows]

    def force_release(self, name: str) -> LockHolder | None:
        """Delete whoever holds it."""
        current = self.lock_holder(name)
        with self._lock:
            self._conn.execute("DELETE FROM locks WHERE name = ?", (name,))
        return current

    # -- incidents ------------------------------------------------------------------------
    def create_incident(self, record: dict[str, Any]) -> bool:
        """Insert; False if the id exists."""
        with self._lock:
            try:
                self._conn.execute(
                    "INSERT INTO incidents(id, started_at, record) VALUES (?, ?, ?)",
                    (record["id"], record["started_at"], json.dumps(record, default=str)),
                )
            except sqlite3.IntegrityError:
                return False
        return True

    def get_incident(self, incident_id: str) -> dict[str, Any] | None:
        """One record."""
        with self._lock:
            row = self._conn.execute(
                "SELECT record FROM incidents WHERE id = ?", (incident_id,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def update_incident(
        self, incident_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Read-modify-write in one IMMEDIATE transaction: other writers wait their turn."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT record FROM incidents WHERE id = ?", (incident_id,)
                ).fetchone()
                if row is None:
                    conn.execute("ROLLBACK")
                    return None
                record = change(json.loads(row[0]))
                conn.execute(
                    "UPDATE incidents SET record = ? WHERE id = ?",
                    (json.dumps(record, default=str), incident_id),
                )
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        return record

    def list_incidents(self) -> list[dict[str, Any]]:
        """Newest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT record FROM incidents ORDER BY started_at DESC, id DESC"
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def add_timeline(self, incident_id: str, entry: dict[str, Any]) -> None:
        """Append."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO timeline(incident_id, at, entry) VALUES (?, ?, ?)",
                (incident_id, entry["at"], json.dumps(entry, default=str)),
            )

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        """Oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT entry FROM timeline WHERE incident_id = ? ORDER BY seq", (incident_id,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def set_active_incident(self, incident_id: str | None) -> None:
        """Remember (or clear) the active incident."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO settings(key, value) VALUES ('active_incident', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (incident_id,),
            )

    def active_incident(self) -> str | None:
        """The active incident's id."""
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM settings WHERE key = 'active_incident'"
            ).fetchone()
        return row[0] if row and row[0] else None

    def add_action(self, incident_id: str, item: dict[str, Any]) -> int:
        """Insert; the autoincrement number is the item's handle."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO actions(incident_id, item) VALUES (?, ?)",
                (incident_id, json.dumps(item, default=str)),
            )
        return int(cursor.lastrowid or 0)

    def list_actions(self) -> list[dict[str, Any]]:
        """Oldest first, with `n` and `incident_id`."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT n, incident_id, item FROM actions ORDER BY n"
            ).fetchall()
        return [{"n": n, "incident_id": i} | json.loads(item) for n, i, item in rows]

    def complete_action(self, number: int, at: str) -> dict[str, Any] | None:
        """Set done_at."""
        with self._lock:
            row = self._conn.execute(
                "SELECT incident_id, item FROM actions WHERE n = ?", (number,)
            ).fetchone()
            if row is None:
                return None
            item = json.loads(row[1]) | {"done_at": at}
            self._conn.execute(
                "UPDATE actions SET item = ? WHERE n = ?", (json.dumps(item), number)
            )
        return {"n": number, "incident_id": row[0]} | item

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    # -- maintenance windows ------------------------------------------------------------------
    def open_maintenance(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Insert as the open window; the unique index makes a second one fail."""
        with self._lock:
            try:
                self._conn.execute(
                    "INSERT INTO maintenance(id, env, started_at, open, record)"
                    " VALUES (?, ?, ?, 1, ?)",
                    (record["id"], record["env"], record["started_at"], json.dumps(record)),
                )
            except sqlite3.IntegrityError:
                pass
            else:
                return None
        existing = self.open_window(record["env"])
        return existing or record

    def open_window(self, env: str) -> dict[str, Any] | None:
        """The open one."""
        with self._lock:
            row = self._conn.execute(
                "SELECT record FROM maintenance WHERE env = ? AND open = 1", (env,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def close_maintenance(self, record: dict[str, Any]) -> bool:
        """Only the open window of that id is closed."""
        with self._lock:
            cursor = self._conn.execute(
                "UPDATE maintenance SET open = 0, record = ? WHERE id = ? AND open = 1",
                (json.dumps(record), record["id"]),
            )
        return cursor.rowcount == 1

    def list_maintenance(self) -> list[dict[str, Any]]:
        """Newest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT record FROM maintenance ORDER BY started_at DESC, id DESC"
            ).fetchall()
        return [json.loads(r[0]) for r in rows]
