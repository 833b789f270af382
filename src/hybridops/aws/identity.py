"""The caller identity for audit records, remembered per access key.

An access key belongs to exactly one principal for its whole life (a role session's key to
that session), so the ARN STS returned for it never changes. Remembering it saves an STS
client and a round trip on every mutating command. Only a hash of the key is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from hybridops.paths import (
    PRIVATE_FILE_MODE,
    is_data_dir,
    make_private_dir,
    tighten_mode,
    write_private,
)

MAX_ENTRIES = 64


def cache_key(access_key: str, endpoint: str | None) -> str:
    """A hash of the access key and endpoint: the key itself is never written."""
    return hashlib.sha256(f"{access_key}|{endpoint or ''}".encode()).hexdigest()


def remembered_caller(path: Path, key: str, lookup: Callable[[], str]) -> str:
    """The ARN remembered for `key`, else `lookup()` — remembered for next time."""
    try:
        known = json.loads(path.read_text())
        tighten_mode(path, PRIVATE_FILE_MODE)  # one written loose by an older version
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    arn = known.get(key)
    if isinstance(arn, str):
        return arn
    arn = lookup()
    known[key] = arn
    while len(known) > MAX_ENTRIES:
        known.pop(next(iter(known)))
    try:
        # Owner-only, like everything in the state dir: it names who ran what.
        make_private_dir(path.parent, tighten=is_data_dir(path.parent))
        write_private(path, json.dumps(known))
    except OSError:
        pass  # a read-only home only costs the STS call next time
    return arn
