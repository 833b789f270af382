"""The state store interface every backend implements."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def utcnow() -> dt.datetime:
    """Timezone-aware now in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    """ISO-8601 UTC with a Z, sortable as text."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def holder_host_pid(holder: str) -> tuple[str, int] | None:
    """The host and pid in a holder string (`user@host pid N run ID ...`), if it names them."""
    import re

    match = re.match(r"\S+@(\S+) pid (\d+)(?:\s|$)", holder)
    return (match.group(1), int(match.group(2))) if match else None


def holder_alive(holder: str) -> bool | None:
    """Whether the holder's process is alive: known on this host only (None elsewhere)."""
    import os
    import socket

    where = holder_host_pid(holder)
    if where is None or where[0] != socket.gethostname():
        return None
    try:
        os.kill(where[1], 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def lease_abandoned(holder: str, expires_at: dt.datetime, now: dt.datetime, grace_s: float) -> bool:
    """Whether a lease may be taken over, judged so that a wall-clock jump cannot steal it.

    On this host the holder's process decides, not the clock: alive means held, gone means
    free. Elsewhere the lease must be stale by one more lease length (a clock jump or skew of
    up to that cannot steal a live lease; `lock release --force` is the way past it).
    """
    alive = holder_alive(holder)
    if alive is not None:
        return not alive
    return now > expires_at + dt.timedelta(seconds=max(grace_s, 0.0))


def parse_iso(text: str) -> dt.datetime:
    """The inverse of `iso`."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, since when, until when (a crashed holder's lock expires)."""

    name: str
    holder: str
    acquired_at: str
    expires_at: str


class StateStore(abc.ABC):
    """Audit trail, run index and (later) incidents and locks."""

    journal_dir: Path

    def release_reserve(self) -> bool:
        """Free the space kept for the last records of a run on a full disk (True if freed)."""
        return False

    @abc.abstractmethod
    def append_audit(self, record: dict[str, Any]) -> None:
        """Append one audit record (already redacted)."""

    @abc.abstractmethod
    def list_audit(
        self, since: dt.datetime | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Audit records, oldest first, optionally since a moment."""

    @abc.abstractmethod
    def record_run(self, summary: dict[str, Any]) -> None:
        """Insert or update a run's summary in the index."""

    @abc.abstractmethod
    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent run summaries, newest first."""

    @abc.abstractmethod
    def record_known_good(self, family: str, task_definition: str) -> None:
        """Remember that a revision was seen serving healthily."""

    @abc.abstractmethod
    def known_good(self, family: str) -> set[str]:
        """Revisions of a family hybridops has seen healthy."""

    @abc.abstractmethod
    def acquire_lock(self, name: str, holder: str, ttl_s: float) -> LockHolder | None:
        """Take the lock atomically: None when taken, else the current (unexpired) holder."""

    @abc.abstractmethod
    def release_lock(self, name: str, holder: str) -> None:
        """Release the lock if `holder` still holds it."""

    @abc.abstractmethod
    def lock_holder(self, name: str) -> LockHolder | None:
        """The current holder of a lock, if any."""

    @abc.abstractmethod
    def refresh_lock(self, name: str, holder: str, ttl_s: float) -> bool:
        """Extend our lease (heartbeat); False if the lock is no longer ours."""

    @abc.abstractmethod
    def list_locks(self) -> list[LockHolder]:
        """Every unexpired lock."""

    @abc.abstractmethod
    def force_release(self, name: str) -> LockHolder | None:
        """Remove a lock whoever holds it; returns who held it."""

    # -- incidents ------------------------------------------------------------------------
    @abc.abstractmethod
    def create_incident(self, record: dict[str, Any]) -> bool:
        """Insert a new incident; False if its id is taken."""

    @abc.abstractmethod
    def get_incident(self, incident_id: str) -> dict[str, Any] | None:
        """One incident record."""

    @abc.abstractmethod
    def update_incident(
        self, incident_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Apply `change` atomically (no concurrent update is lost); the new record or None."""

    @abc.abstractmethod
    def list_incidents(self) -> list[dict[str, Any]]:
        """Every incident, newest first."""

    @abc.abstractmethod
    def add_timeline(self, incident_id: str, entry: dict[str, Any]) -> None:
        """Append one timeline entry (append-only: concurrent writers never collide)."""

    @abc.abstractmethod
    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        """The incident's timeline, oldest first."""

    @abc.abstractmethod
    def set_active_incident(self, incident_id: str | None) -> None:
        """Make an incident the active one (None: no active incident)."""

    @abc.abstractmethod
    def active_incident(self) -> str | None:
        """The active incident's id, if any."""

    @abc.abstractmethod
    def add_action(self, incident_id: str, item: dict[str, Any]) -> int:
        """Add a post-incident action item; returns its number (unique across incidents)."""

    @abc.abstractmethod
    def list_actions(self) -> list[dict[str, Any]]:
        """Every action item with its number, oldest first."""

    @abc.abstractmethod
    def complete_action(self, number: int, at: str) -> dict[str, Any] | None:
        """Mark an action item done; the item, or None if there is no such number."""

    @abc.abstractmethod
    def open_maintenance(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Open a window for record["env"]; None if opened, else the window already open."""

    @abc.abstractmethod
    def open_window(self, env: str) -> dict[str, Any] | None:
        """The environment's open maintenance window, if any."""

    @abc.abstractmethod
    def close_maintenance(self, record: dict[str, Any]) -> bool:
        """Store the ended window and clear its environment's open mark; False if not open."""

    @abc.abstractmethod
    def list_maintenance(self) -> list[dict[str, Any]]:
        """Every window, newest first."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


def open_store(
    backend: str,
    path: Path,
    *,
    table: str | None = None,
    client: Callable[[], Any] | None = None,
) -> StateStore:
    """Open the configured backend: SQLite at `path`, or the DynamoDB `table`."""
    if backend == "sqlite":
        from hybridops.state.sqlite import SqliteStore

        return SqliteStore(path)
    from hybridops.errors import ConfigError

    if backend == "dynamodb":
        from hybridops.state.dynamodb import open_dynamodb

        if client is None:
            raise ConfigError("state.backend dynamodb needs an AWS client")
        return open_dynamodb(table, client(), path.parent / "runs")
    raise ConfigError(f"state.backend {backend!r}: expected sqlite or dynamodb")


def login_name() -> str:
    """Who runs hybridops, as records name them; "unknown" where there is no login name."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers (no USER, no passwd entry)
        return "unknown"


def actor() -> str:
    """Who is acting, as records name them: user@host."""
    import socket

    return f"{login_name()}@{socket.gethostname()}"
