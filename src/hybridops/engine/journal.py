"""The run journal: one JSON document per run in the state dir, plus an index entry."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from hybridops.engine.events import (
    Event,
    RunFinished,
    RunResult,
    RunStarted,
    StepFinished,
)
from hybridops.gate.redact import Redactor
from hybridops.paths import make_private_dir, write_private
from hybridops.state.errors import store_errors
from hybridops.state.store import StateStore


class JournalWriter:
    """Event handler writing the journal atomically after every step."""

    # Between steps the journal is rewritten at most this often: a crash loses at most this much
    # of it, and a 50-step runbook no longer rewrites (and re-redacts) it 50 times.
    MIN_INTERVAL_S = 0.5
    # No journal, no run: a run that cannot be recorded sends nothing.
    must_succeed = (RunStarted,)
    label = "journal not written"

    def __init__(self, store: StateStore, redactor: Redactor) -> None:
        self.store = store
        self.redact = redactor
        self.result: RunResult | None = None
        self.path: Path | None = None
        self._last = 0.0

    def handle(self, event: Event) -> None:
        """Persist the run's journal on start, after steps (throttled), and at the end."""
        if isinstance(event, RunStarted):
            self.result = event.result
            self.path = self.store.journal_dir / f"{event.result.run_id}.json"
            event.result.journal = str(self.path)
            self._write(index=True)
        elif isinstance(event, RunFinished) and self.result is not None:
            self._write(index=True)
        elif (
            isinstance(event, StepFinished)
            and self.result is not None
            # A finished change is always written: a resume must never repeat it.
            and (event.record.mutating or time.monotonic() - self._last >= self.MIN_INTERVAL_S)
        ):
            self._write(index=False)

    def _write(self, *, index: bool) -> None:
        assert self.result is not None and self.path is not None
        document: dict[str, Any] = self.redact(self.result.to_dict())
        # Created 0600 in a 0700 dir; a full or read-only disk is one line, not a traceback.
        with store_errors(self.path):
            make_private_dir(self.path.parent)
            write_private(self.path, json.dumps(document, indent=2, default=str))
        self._last = time.monotonic()
        if not index:
            return
        # The shared run index changes at the start and the end of a run only.
        self.store.record_run(
            {
                key: document[key]
                for key in (
                    "run_id",
                    "runbook",
                    "env",
                    "status",
                    "started_at",
                    "finished_at",
                    "dry_run",
                    "journal",
                    "exit_code",
                )
            }
        )
