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

    def remaining(self) -> float | None:
        """Seconds left before the step's deadline, if it has one."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()
