"""What a step implementation gets to work with."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybridops.aws.session import ClientFactory
    from hybridops.engine.events import Event
    from hybridops.gate.core import Gate, GateMode
    from hybridops.http.client import HttpClientFactory
    from hybridops.state.store import StateStore


@dataclass
class StepContext:
    """Services and facts for one step execution."""

    run_id: str
    step_name: str
    clients: ClientFactory
    http: HttpClientFactory
    gate: Gate
    mode: GateMode
    scope: dict[str, Any]
    emit: Callable[[Event], None]
    interactive: bool = False
    ask: Callable[[str], str] | None = None
    deadline: float | None = None
    timeout_s: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    sleeper: Callable[[float], None] | None = None
    store: StateStore | None = None

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early if the run is being stopped."""
        if self.sleeper is not None:
            self.sleeper(seconds)
            return
        self.stop.wait(max(0.0, seconds))

    def wait_window(self, timeout_s: float) -> tuple[float, float]:
        """(start, seconds) of a wait of timeout_s from now, bounded by the step's deadline.

        When the step's timeout_s ends first, its own start and timeout_s: the wait then stops
        at the step's deadline and says the bound the runbook wrote, whatever ran before it.
        """
        now = time.monotonic()
        step_ends = self.deadline
        if step_ends is not None and self.timeout_s is not None and step_ends < now + timeout_s:
            return step_ends - self.timeout_s, self.timeout_s
        return now, timeout_s

    def remaining(self) -> float | None:
        """Seconds left before the step's deadline, if it has one."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()
