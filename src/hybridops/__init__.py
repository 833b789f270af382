"""hybridops: executable, guarded runbooks for the hybrid routing service."""

import sys

__version__ = "0.1.0"

# httpx imports its optional command-line client (click, pygments, rich tables: ~0.1 s) at
# import time when those happen to be installed. hybridops never uses it, and every probe run
# pays for the import, so mark it absent; httpx falls back to a stub by design.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
