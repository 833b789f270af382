"""Where hybridops keeps its files (config, state, sandbox records)."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from pathlib import Path

APP = "hybridops"

# The state dir holds the audit trail, run journals and caller identities: the owner's only.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


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


def is_data_dir(path: Path) -> bool:
    """Whether `path` is hybridops's own data dir (safe to tighten; a custom state dir is not)."""
    return os.path.abspath(path) == os.path.abspath(user_data_dir())


def tighten_mode(path: Path | int, mode: int) -> bool:
    """Drop the bits beyond `mode` (a path or an open fd); True if it was looser."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
        if current & ~mode:
            os.chmod(path, current & mode)
            return True
    except OSError:  # absent, not ours, or read-only: `hybridops doctor` reports what is left
        pass
    return False


def make_private_dir(path: Path, *, tighten: bool = True) -> None:
    """Create `path` (and its parents) with mode 0700; tighten an existing looser one."""
    if path.parent != path and is_data_dir(path.parent):
        # mkdir(parents=True) makes parents 0777 & ~umask: our data dir (runs/'s parent) not.
        make_private_dir(path.parent)
    try:
        # The mode is given at creation: no moment where another user could open it.
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True)
    except FileExistsError:
        if tighten and tighten_mode(path, PRIVATE_DIR_MODE):
            # Open to others until now (an older version made it): so were the files in it.
            for child in path.iterdir():
                if not child.is_symlink() and child.is_file():
                    tighten_mode(child, PRIVATE_FILE_MODE)


def open_private(path: Path, flags: int) -> int:
    """os.open, creating the file 0600 (an existing looser one is tightened); the fd."""
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE_MODE)
    tighten_mode(fd, PRIVATE_FILE_MODE)
    return fd


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text` through a temporary file created 0600."""
    # Unique per process and thread: two writers never share (or truncate) one temporary file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def loose_modes(state_file: Path) -> list[tuple[Path, int, int]]:
    """(path, mode, wanted) of every state dir and file readable or writable by others."""
    data = user_data_dir()
    dirs = {data, data / "runs", state_file.parent / "runs"}
    if is_data_dir(state_file.parent):
        dirs.add(state_file.parent)
    files = {data / "identities.json"}
    files.update(state_file.with_name(state_file.name + suffix) for suffix in ("", "-wal", "-shm"))
    for directory in list(dirs):
        if directory.name == "runs" and directory.is_dir():
            files.update(p for p in directory.iterdir() if p.is_file())
    found = []
    for path, wanted in sorted(
        [(d, PRIVATE_DIR_MODE) for d in dirs] + [(f, PRIVATE_FILE_MODE) for f in files]
    ):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue  # absent: nothing to expose
        if mode & ~wanted:
            found.append((path, mode, wanted))
    return found
