"""hybridops: executable, guarded runbooks for the hybrid routing service."""

import os
import sys

__version__ = "0.1.0"

# httpx imports its optional command-line client (click, pygments, rich tables: ~0.1 s) at
# import time when those happen to be installed. hybridops never uses it, and every probe run
# pays for the import, so mark it absent; httpx falls back to a stub by design.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

# Pydantic scans every installed distribution's entry points for plugins the first time a
# model is built (~5 ms a run); hybridops uses none. An explicit setting by the user wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
