"""Where hybridops keeps its files (config, state, sandbox records)."""

from __future__ import annotations

import os
from pathlib import Path

APP = "hybridops"


def user_config_dir() -> Path:
    """The per-user configuration directory."""
    from platformdirs import user_config_path

    return user_config_path(APP)


def user_data_dir() -> Path:
    """The per-user data directory (state.db, journals)."""
    override = os.environ.get("HYBRIDOPS_HOME")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP)


def default_state_path() -> Path:
    """The default SQLite state file."""
    return user_data_dir() / "state.db"


def sandbox_record_path() -> Path:
    """Where a running sandbox records its endpoints, for `--env sandbox`."""
    override = os.environ.get("HYBRIDOPS_SANDBOX_FILE")
    if override:
        return Path(override).expanduser()
    return user_data_dir() / "sandbox.json"


def builtin_runbooks_dir() -> Path:
    """Directory of the built-in runbooks: inside the wheel, or the source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "runbooks"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "runbooks"


def write_named_file(path: Path, text: str, option: str = "--out") -> None:
    """Write a file the operator named; an unwritable path is bad input (exit 2), not a crash."""
    from hybridops.errors import BadInput

    try:
        path.write_text(text)
    except OSError as exc:
        raise BadInput(f"{option}: cannot write {path}: {exc.strerror or exc}") from None
