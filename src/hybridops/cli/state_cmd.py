"""`hybridops state` (init, check, migrate) and `hybridops lock` (list, release)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.state import AppState, app_state

app = group("The state store: create the team table, check access, migrate local history.")
lock_app = group("Run locks: who holds what; release a stale one.")


def _emit(state: AppState, doc: dict[str, Any], text: str) -> None:
    if state.json:
        from hybridops.cli.render import emit_json

        emit_json(state.environment, doc)
    else:
        state.out_console().print(text, markup=False, highlight=False)


def _dynamo(state: AppState) -> Any:
    from hybridops.errors import ConfigError
    from hybridops.state.dynamodb import DynamoStore

    store = state.runtime().store
    if not isinstance(store, DynamoStore):
        raise ConfigError("state.backend is sqlite: set `state: {backend: dynamodb, table: NAME}`")
    return store


@app.command("init")
def init(ctx: typer.Context) -> int:
    """Create the DynamoDB table (on-demand billing, TTL on lock leases)."""
    state = app_state(ctx)
    store = _dynamo(state)
    created = store.create_table()
    _emit(
        state,
        {"table": store.table, "created": created},
        f"table {store.table} {'created' if created else 'already exists'}",
    )
    return 0


@app.command("check")
def check(ctx: typer.Context) -> int:
    """Verify the state store can be read and written."""
    from hybridops.state.dynamodb import DynamoStore

    state = app_state(ctx)
    store = state.runtime().store
    if isinstance(store, DynamoStore):
        doc = {"backend": "dynamodb"} | store.check()
    else:
        store.list_runs(limit=1)
        doc = {"backend": "sqlite", "path": str(getattr(store, "path", ""))}
    _emit(state, doc | {"ok": True}, f"state store ok: {doc}")
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
    state = app_state(ctx)
    store = _dynamo(state)
    path = state_path(state.runtime().loaded_config)
    if not path.exists():
        raise BadInput(f"no local history at {path}")
    local = SqliteStore(path)
    try:
        counts = migrate(local, store)
    finally:
        local.close()
    _emit(state, {"copied": counts}, "copied " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


@lock_app.command("list")
def lock_list(ctx: typer.Context) -> int:
    """Every lock held now: name, holder, since, lease expiry."""
    state = app_state(ctx)
    locks = state.runtime().store.list_locks()
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
    _emit(state, {"locks": rows}, text or "no locks held")
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
    from hybridops.incidents import actor
    from hybridops.state.store import iso, utcnow

    if not force:
        raise BadInput("releasing a lock someone holds needs --force (the release is audited)")
    state = app_state(ctx)
    runtime = state.runtime()
    if runtime.mode.read_only:
        raise Refused("--read-only: locks are not released")
    store = runtime.store
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
    _emit(
        state,
        {"name": name, "released": held is not None, "holder": held.holder if held else None},
        f"released {name} (held by {held.holder})" if held else f"{name} was not held",
    )
    return 0
