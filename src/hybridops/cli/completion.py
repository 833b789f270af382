"""Dynamic shell completion: environment names, runbook names, incident ids.

Completion runs on every TAB: each function is quick, reads only local files, and never raises
(a broken config must not break the shell).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def environments(incomplete: str) -> list[str]:
    """Environment names from the config file, plus the sandbox."""
    names = {"sandbox"}
    try:
        from hybridops.config import load_config

        names |= set(load_config(os.environ.get("HYBRIDOPS_CONFIG")).config.environments)
    except Exception:  # completion must never fail the shell
        pass
    return sorted(n for n in names if n.startswith(incomplete))


def runbooks(incomplete: str) -> list[str]:
    """Built-in runbook names, and YAML files under the current directory."""
    from hybridops.paths import builtin_runbooks_dir

    names = {p.stem for p in builtin_runbooks_dir().glob("*.yaml")}
    base = Path(incomplete).parent if "/" in incomplete else Path(".")
    with contextlib.suppress(OSError):
        names |= {
            str(p) if "/" in incomplete else p.name
            for pattern in ("*.yaml", "*.yml")
            for p in base.glob(pattern)
        }
    return sorted(n for n in names if n.startswith(incomplete))


def incidents(incomplete: str) -> list[str]:
    """Incident ids in the local state store, open ones first, newest first."""
    try:
        from hybridops.config import load_config, state_path
        from hybridops.state.sqlite import SqliteStore

        loaded = load_config(os.environ.get("HYBRIDOPS_CONFIG"))
        if loaded.config.state.backend != "sqlite":
            return []  # a network round trip per TAB is not worth it
        path = state_path(loaded)
        if not path.exists():
            return []
        store = SqliteStore(path)
        try:
            rows = store.list_incidents()
        finally:
            store.close()
    except Exception:  # completion must never fail the shell
        return []

    def newest_first(resolved: bool) -> list[str]:
        ids = [str(r.get("id", "")) for r in rows if (r.get("status") == "resolved") == resolved]
        return sorted(ids, reverse=True)

    return [i for i in newest_first(False) + newest_first(True) if i.startswith(incomplete)]
