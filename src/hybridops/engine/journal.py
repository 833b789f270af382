"""The run journal: one JSON document per run in the state dir, plus an index entry."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hybridops.engine.events import (
    Event,
    RunFinished,
    RunResult,
    RunStarted,
    StepFinished,
)
from hybridops.engine.redact import Redactor
from hybridops.state.store import StateStore


class JournalWriter:
    """Event handler writing the journal atomically after every step."""

    def __init__(self, store: StateStore, redactor: Redactor) -> None:
        self.store = store
        self.redact = redactor
        self.result: RunResult | None = None
        self.path: Path | None = None

    def handle(self, event: Event) -> None:
        """Persist the run's journal on start, after each step, and at the end."""
        if isinstance(event, RunStarted):
            self.result = event.result
            self.path = self.store.journal_dir / f"{event.result.run_id}.json"
            event.result.journal = str(self.path)
            self._write()
        elif isinstance(event, (StepFinished, RunFinished)) and self.result is not None:
            self._write()

    def _write(self) -> None:
        assert self.result is not None and self.path is not None
        document: dict[str, Any] = self.redact(self.result.to_dict())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(document, indent=2, default=str))
        os.replace(tmp, self.path)
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
