"""The demo: the embedded estate and the real commands, end to end, then torn down."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hybridops.sandbox.server import Sandbox


@dataclass
class DemoStep:
    """One command the demo runs, with its outcome."""

    title: str
    argv: list[str]
    exit_code: int | None = None


@dataclass
class DemoPlan:
    """The commands of the demo, in order, and whether each must succeed."""

    steps: list[DemoStep] = field(default_factory=list)


def demo_plan() -> DemoPlan:
    """The procedure the demo walks through (grows as commands land)."""
    return DemoPlan(
        [
            DemoStep("Snapshot of the estate (read-only)", ["run", "service-status"]),
            DemoStep(
                "Plan a restart (dry run: nothing is changed)",
                ["--dry-run", "run", "restart-service"],
            ),
            DemoStep(
                "Restart the service and wait until it is stable",
                ["--yes", "run", "restart-service", "--param", "timeout_s=60"],
            ),
            DemoStep("Verify: the estate is healthy", ["run", "service-status"]),
        ]
    )


@contextlib.contextmanager
def running_sandbox(rollout_s: float = 2.0) -> Iterator[Sandbox]:
    """An in-process sandbox whose record makes `--env sandbox` find it; torn down after."""
    with tempfile.TemporaryDirectory(prefix="hybridops-demo-") as tmp:
        record = Path(tmp) / "sandbox.json"
        previous = {k: os.environ.get(k) for k in ("HYBRIDOPS_SANDBOX_FILE", "HYBRIDOPS_ENV")}
        sandbox = Sandbox(rollout_s=rollout_s, log_hours=2).start()
        try:
            sandbox.write_record(record, os.getpid())
            os.environ["HYBRIDOPS_SANDBOX_FILE"] = str(record)
            os.environ["HYBRIDOPS_ENV"] = "sandbox"
            yield sandbox
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            sandbox.stop()


def run_demo(run_command: Callable[[DemoStep], int]) -> tuple[bool, DemoPlan]:
    """Run every demo step through `run_command`; True if all succeeded."""
    plan = demo_plan()
    with running_sandbox():
        for step in plan.steps:
            step.exit_code = run_command(step)
            if step.exit_code != 0:
                return False, plan
    return True, plan
