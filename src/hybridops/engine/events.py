"""Engine events, observed by handlers (the renderer, the journal, ...)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("hybridops.engine")


@dataclass
class StepRecord:
    """What happened to one step."""

    name: str
    kind: str
    mutating: bool
    status: str = "pending"  # succeeded|failed|skipped|planned|refused|timed_out|pending
    started_at: str | None = None
    duration_s: float = 0.0
    attempts: int = 0
    passes: int = 0  # times it ran (more than once in a loop)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    detail: str | None = None
    compensation: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON shape of a step in run output."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "mutating": self.mutating,
            "duration_s": round(self.duration_s, 3),
        }
        if self.passes > 1 or (self.passes and self.status in ("skipped", "not_run")):
            # Ran, and then not in the last pass of a loop: its status alone would hide that.
            out["passes"] = self.passes
        if self.outputs:
            out["outputs"] = self.outputs
        if self.error:
            out["error"] = self.error
        if self.detail:
            out["detail"] = self.detail
        if self.compensation:
            out["compensation"] = self.compensation
        return out


@dataclass
class RunResult:
    """The outcome of a run."""

    run_id: str
    runbook: str
    env: str
    params: dict[str, Any]
    status: str = "running"  # succeeded|failed|planned|refused|interrupted
    started_at: str = ""
    finished_at: str | None = None
    duration_s: float = 0.0
    dry_run: bool = False
    steps: list[StepRecord] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    exit_code: int = 0
    journal: str | None = None
    warnings: list[str] = field(default_factory=list)
    unrecorded_audit: list[dict[str, Any]] = field(default_factory=list)
    # The runbook's `report:` resolved at the end of the run, secrets masked (engine.report).
    report: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document for `run --output json` and the journal."""
        extra: dict[str, Any] = {}
        if self.warnings:
            extra["warnings"] = self.warnings
        if self.unrecorded_audit:
            extra["unrecorded_audit"] = self.unrecorded_audit
        if self.report:
            extra["report"] = self.report
        return {
            "run_id": self.run_id,
            "runbook": self.runbook,
            "env": self.env,
            "status": self.status,
            "dry_run": self.dry_run,
            "params": self.params,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round(self.duration_s, 3),
            "steps": [s.summary() for s in self.steps],
            "calls": self.calls,
            "error": self.error,
            "exit_code": self.exit_code,
            "journal": self.journal,
        } | extra


@dataclass
class RunStarted:
    """A run began."""

    result: RunResult
    total_steps: int


@dataclass
class StepStarted:
    """A step began (or began another attempt)."""

    run_id: str
    record: StepRecord
    index: int
    total: int
    description: str


@dataclass
class StepNote:
    """Something a step says to the operator (what was confirmed by --yes, what would be asked)."""

    run_id: str
    step: str
    text: str


@dataclass
class StepFinished:
    """A step reached its final status."""

    run_id: str
    record: StepRecord


@dataclass
class WaitProgress:
    """A poll inside a wait step."""

    run_id: str
    step: str
    elapsed_s: float
    timeout_s: float
    detail: str


@dataclass
class CompensationStarted:
    """A completed step is being undone."""

    run_id: str
    step: str
    description: str


@dataclass
class CompensationFinished:
    """A compensation ended."""

    run_id: str
    step: str
    status: str
    error: str | None = None


@dataclass
class RunFinished:
    """A run ended."""

    result: RunResult


Event = (
    RunStarted
    | StepStarted
    | StepNote
    | StepFinished
    | WaitProgress
    | CompensationStarted
    | CompensationFinished
    | RunFinished
)


class EventHandler(Protocol):
    """Observes engine events."""

    def handle(self, event: Event) -> None:
        """React to one event."""


class EventBus:
    """Delivers events to handlers; a failing handler never breaks the run."""

    def __init__(self, handlers: list[EventHandler] | None = None) -> None:
        self.handlers: list[EventHandler] = list(handlers or [])

    def subscribe(self, handler: EventHandler) -> None:
        """Add a handler."""
        self.handlers.append(handler)

    def emit(self, event: Event) -> None:
        """Send an event to every handler."""
        for handler in self.handlers:
            try:
                handler.handle(event)
            except Exception as exc:
                # An observer must not change the outcome of a run, except one whose record
                # must exist before anything is sent (the journal, at the start).
                if isinstance(event, getattr(handler, "must_succeed", ())):
                    raise
                # One line (a full disk is news, not a crash); the traceback only at -vv.
                log.warning("%s: %s", getattr(handler, "label", type(handler).__name__), exc)
                log.debug("event handler %r failed", handler, exc_info=True)
