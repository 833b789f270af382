"""`hybridops state` (init, check, migrate) and `hybridops lock` (list, release)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from hybridops.cli.apps import group
from hybridops.cli.invocation import Invocation, invocation_of
from hybridops.errors import aws_error_code

if TYPE_CHECKING:
    from hybridops.state.store import StateStore

app = group("The state store: create the team table, check access, migrate local history.")
lock_app = group("Run locks: who holds what; release a stale one.")


def _dynamo(invocation: Invocation) -> Any:
    from hybridops.errors import ConfigError
    from hybridops.state.dynamodb import DynamoStore

    store = invocation.runtime().store
    if not isinstance(store, DynamoStore):
        raise ConfigError("state.backend is sqlite: set `state: {backend: dynamodb, table: NAME}`")
    return store


@app.command("init")
def init(ctx: typer.Context) -> int:
    """Create the DynamoDB table (on-demand billing, TTL on lock leases)."""
    invocation = invocation_of(ctx)
    store = _dynamo(invocation)
    if invocation.options.dry_run:
        exists = _table_exists(store)
        invocation.emit(
            {"status": "planned", "table": store.table, "created": False, "exists": exists},
            f"dry run: table {store.table} "
            + ("already exists: nothing to do" if exists else "would be created"),
        )
        return 0
    created = store.create_table()
    invocation.emit(
        {"table": store.table, "created": created},
        f"table {store.table} {'created' if created else 'already exists'}",
    )
    return 0


def _table_exists(store: Any) -> bool:
    """Whether the DynamoDB table exists (a read: DescribeTable)."""
    try:
        store.client.describe_table(TableName=store.table)
    except Exception as exc:
        if aws_error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True


@app.command("check")
def check(ctx: typer.Context) -> int:
    """Verify the state store can be read and written."""
    from hybridops.state.dynamodb import DynamoStore

    invocation = invocation_of(ctx)
    store = invocation.runtime().store
    if isinstance(store, DynamoStore) and invocation.options.dry_run:
        # The write check puts and deletes an item: a dry run only reads the table.
        described = store.client.describe_table(TableName=store.table)["Table"]
        doc = {
            "backend": "dynamodb",
            "table": store.table,
            "status": described.get("TableStatus"),
            "write_checked": False,
        }
    elif isinstance(store, DynamoStore):
        doc = {"backend": "dynamodb"} | store.check()
    else:
        store.list_runs(limit=1)
        doc = {"backend": "sqlite", "path": str(getattr(store, "path", ""))}
    from hybridops.plaintext import scalar

    facts = ", ".join(
        f"{k.replace('_', ' ')} {scalar(v)}" for k, v in doc.items() if k != "backend"
    )
    invocation.emit(doc | {"ok": True}, f"state store ok ({doc['backend']}): {facts}")
    return 0


@app.command("migrate")
def migrate_cmd(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--from", help="sqlite")] = "sqlite",
    target: Annotated[str, typer.Option("--to", help="dynamodb")] = "dynamodb",
) -> int:
    """Copy the local SQLite history (audit, runs, incidents, timelines, actions) up."""
    from hybridops.config import state_path
    from hybridops.errors import BadInput
    from hybridops.state.migrate import migrate
    from hybridops.state.sqlite import SqliteStore

    if (source, target) != ("sqlite", "dynamodb"):
        raise BadInput("only --from sqlite --to dynamodb is supported")
    invocation = invocation_of(ctx)
    store = _dynamo(invocation)
    path = state_path(invocation.runtime().loaded_config)
    if not path.exists():
        raise BadInput(f"no local history at {path}")
    local = SqliteStore(path)
    dry_run = invocation.options.dry_run
    try:
        counts = migrate(local, cast("StateStore", _Counting(store)) if dry_run else store)
    finally:
        local.close()
    words = ", ".join(f"{v} {k}" for k, v in counts.items())
    if dry_run:
        invocation.emit({"status": "planned", "copied": counts}, f"dry run: would copy {words}")
        return 0
    invocation.emit({"copied": counts}, f"copied {words}")
    return 0


class _Counting:
    """Stands in for the target of a dry-run migration: reads pass through, writes are counted.

    `migrate` itself decides what it would copy (e.g. skipping incidents already there), so the
    plan is the same walk as the real thing, without one write.
    """

    def __init__(self, target: Any) -> None:
        self.target = target
        self.created: set[str] = set()

    def append_audit(self, record: dict[str, Any]) -> None:
        """Counted, not written."""

    def record_run(self, summary: dict[str, Any]) -> None:
        """Counted, not written."""

    def record_known_good(self, family: str, task_definition: str) -> None:
        """Counted, not written."""

    def create_incident(self, record: dict[str, Any]) -> bool:
        """Whether it would be created: not in the target, not seen in this run."""
        if record["id"] in self.created or self.target.get_incident(record["id"]) is not None:
            return False
        self.created.add(record["id"])
        return True

    def add_timeline(self, incident_id: str, entry: dict[str, Any]) -> None:
        """Counted, not written."""

    def add_action(self, incident_id: str, item: dict[str, Any]) -> int:
        """Counted, not written (no number is handed out)."""
        return 0


@lock_app.command("list")
def lock_list(ctx: typer.Context) -> int:
    """Every lock held now: name, holder, since, lease expiry."""
    invocation = invocation_of(ctx)
    locks = invocation.runtime().store.list_locks()
    rows = [
        {
            "name": h.name,
            "holder": h.holder,
            "acquired_at": h.acquired_at,
            "expires_at": h.expires_at,
        }
        for h in locks
    ]
    text = "\n".join(f"{r['name']}  {r['holder']}  since {r['acquired_at']}" for r in rows)
    invocation.emit({"locks": rows}, text or "no locks held")
    return 0


@lock_app.command("release")
def lock_release(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lock name, e.g. failover:prod.")],
    force: Annotated[
        bool, typer.Option("--force", help="Required: release someone else's lock.")
    ] = False,
) -> int:
    """Release a stale lock (audited). Only for a holder that is gone."""
    from hybridops.errors import BadInput, Refused
    from hybridops.state.store import actor, iso, utcnow

    if not force:
        raise BadInput("releasing a lock someone holds needs --force (the release is audited)")
    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    if runtime.mode.read_only:
        raise Refused("--read-only: locks are not released")
    store = runtime.store
    if runtime.mode.dry_run:
        holder = store.lock_holder(name)
        invocation.emit(
            {
                "status": "planned",
                "name": name,
                "released": False,
                "holder": holder.holder if holder else None,
            },
            f"dry run: would release {name} (held by {holder.holder})"
            if holder
            else f"dry run: {name} is not held: nothing to release",
        )
        return 0
    held = store.force_release(name)
    store.append_audit(
        {
            "at": iso(utcnow()),
            "phase": "after",
            "outcome": "succeeded",
            "user": actor(),
            "env": runtime.env.name,
            "service": "hybridops",
            "operation": "force_release_lock",
            "params": {"name": name, "holder": held.holder if held else None},
        }
    )
    invocation.emit(
        {"name": name, "released": held is not None, "holder": held.holder if held else None},
        f"released {name} (held by {held.holder})" if held else f"{name} was not held",
    )
    return 0
