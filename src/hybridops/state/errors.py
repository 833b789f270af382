"""The one mapping from SQLite and file-system failures of the state store to hybridops errors.

Every SqliteStore method and every journal write goes through `store_errors`, so a full disk,
a read-only mount, a stuck writer or a damaged file is one line naming the file (exit 1, or
exit 2 for a damaged file), never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from hybridops.errors import HybridOpsError, StateStoreCorrupt, StateStoreFailed

# Primary result codes from sqlite3.h; an extended code carries its primary in the low byte.
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26

# An I/O error with less free space than this is taken for a full disk: SQLite reports a
# failed write of a WAL frame or of the shared-memory file as "disk I/O error", not "full".
NEARLY_FULL_BYTES = 1 << 20

FULL_HINT = "free space on that file system, or point state.path / HYBRIDOPS_HOME elsewhere"
READ_ONLY_HINT = "remount it read-write, or point state.path / HYBRIDOPS_HOME at a writable place"
LOCKED_HINT = "another process holds a write lock on it (a hung hybridops? `fuser PATH`)"


# Where the fix starts in a damaged store's message (doctor shows it as the fix).
CORRUPT_FIX_MARK = ": move it aside"


def corrupt(path: Path | str, reason: str) -> StateStoreCorrupt:
    """The one-line error for a damaged store file, with the fix."""
    return StateStoreCorrupt(
        f"state store {path} is damaged ({reason}){CORRUPT_FIX_MARK}"
        f" (`mv {path} {path}.broken`) and rerun; `hybridops doctor` checks it"
    )


def full(path: Path | str) -> StateStoreFailed:
    """No space left where the store lives."""
    return StateStoreFailed(f"state store full: {path}", hint=FULL_HINT)


def read_only(path: Path | str) -> StateStoreFailed:
    """The store's file system (or file) refuses writes."""
    return StateStoreFailed(f"state store read-only: {path}", hint=READ_ONLY_HINT)


def locked(path: Path | str) -> StateStoreFailed:
    """Another writer held the store past the busy timeout."""
    return StateStoreFailed(
        f"state store locked: {path}", hint=LOCKED_HINT.replace("PATH", str(path))
    )


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def _filesystem_problem(path: Path) -> StateStoreFailed | None:
    """Read-only or full, from the file system itself, when SQLite only says "I/O error"."""
    try:
        fs = os.statvfs(_nearest_existing(path))
    except OSError:
        return None
    if fs.f_flag & os.ST_RDONLY:
        return read_only(path)
    if fs.f_bavail * fs.f_frsize < NEARLY_FULL_BYTES or (fs.f_files and fs.f_favail == 0):
        return full(path)
    return None


def _from_os_error(exc: OSError, path: Path) -> StateStoreFailed:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return full(path)
    if exc.errno == errno.EROFS:
        return read_only(path)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return StateStoreFailed(
            f"state store not writable: {path} (permission denied)",
            hint="check the owner and mode of the state directory (`hybridops doctor`)",
        )
    return StateStoreFailed(f"state store failed: {path} ({exc.strerror or exc})")


def translate_store_error(exc: BaseException, path: Path) -> HybridOpsError | None:
    """The hybridops error for a store failure, or None when `exc` is not one (a bug)."""
    if isinstance(exc, OSError):
        return _from_os_error(exc, path)
    # Not imported here: a journal write of a DynamoDB-backed run need not load sqlite3.
    sqlite3 = sys.modules.get("sqlite3")
    if (
        sqlite3 is None
        or not isinstance(exc, sqlite3.DatabaseError)
        or isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError))
    ):
        return None
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB) or text in (
        "file is not a database",
        "database disk image is malformed",
    ):
        return corrupt(path, text)
    if code == SQLITE_FULL:
        return full(path)
    if code == SQLITE_READONLY:
        return read_only(path)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return locked(path)
    if code in (SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_PERM):
        return _filesystem_problem(path) or StateStoreFailed(
            f"state store unusable: {path} ({text})",
            hint="check the path exists and is writable by you",
        )
    return StateStoreFailed(f"state store failed: {path} ({text})")


@contextlib.contextmanager
def store_errors(path: Path) -> Iterator[None]:
    """Re-raise SQLite and OS failures inside the block as StateStoreFailed/Corrupt."""
    try:
        yield
    except Exception as exc:
        mapped = translate_store_error(exc, path)
        if mapped is None:
            raise
        raise mapped from exc


Method = TypeVar("Method", bound=Callable[..., Any])
Class = TypeVar("Class", bound=type)


def _guard(method: Method) -> Method:
    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            # __init__ sets self.path first; anything earlier failed on its first argument.
            path = getattr(self, "path", None) or Path(str(args[0] if args else "?"))
            mapped = translate_store_error(exc, path)
            if mapped is None:
                raise
            raise mapped from exc

    return guarded  # type: ignore[return-value]


def guarded(cls: Class) -> Class:
    """Class decorator: every public method (and __init__) maps its failures via store_errors."""
    for name, attribute in list(vars(cls).items()):
        if callable(attribute) and (name == "__init__" or not name.startswith("_")):
            setattr(cls, name, _guard(attribute))
    return cls
