"""The demo: the P0 "hybrid router down" procedure on the embedded estate, end to end."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hybridops.sandbox.server import Sandbox


@dataclass
class DemoStep:
    """One real command the demo runs, the exit code it must give, and what it gave."""

    title: str
    argv: list[str]
    expect_exit: int = 0
    exit_code: int | None = None

    @property
    def shell(self) -> str:
        """The command as it can be pasted into a shell."""
        import shlex

        return shlex.join(["hybridops", "--env", "sandbox", *self.argv])

    @property
    def ok(self) -> bool:
        """Whether the command ended as the procedure expects."""
        return self.exit_code == self.expect_exit


def demo_steps(rollback_to: str | None = None) -> list[DemoStep]:
    """The procedure, command by command, inside a declared incident."""
    rollback = ["--yes", "run", "rollback-service", "--param", "interval_s=0.5"]
    if rollback_to:
        rollback += ["--param", f"to={rollback_to}", "--param", "timeout_s=60"]
    return [
        DemoStep(
            "A bad deploy reaches production (scenario bad-deploy)",
            ["sandbox", "break", "bad-deploy"],
        ),
        DemoStep("Page: the hybrid router is down — health is red", ["health"], 1),
        DemoStep(
            "Declare a P0 incident (every command from now on goes on its timeline)",
            [
                "incident",
                "open",
                "--severity",
                "P0",
                "--title",
                "Hybrid router down after deploy",
                "--impact",
                "routing requests fail in eu-central-1",
                "--commander",
                "on-call",
            ],
        ),
        DemoStep("Triage: what is wrong, and the command to run first", ["triage"], 1),
        DemoStep(
            "Investigate: recent ERROR logs",
            ["logs", "search", "--since", "10m", "--grep", "ERROR", "--limit", "5"],
        ),
        DemoStep("Plan the rollback (dry run: nothing is changed)", ["--dry-run", *rollback[1:]]),
        DemoStep("Roll back to the last known-good revision and wait", rollback),
        DemoStep("Verify: health is green again", ["health"]),
        DemoStep(
            "Resolve the incident",
            ["incident", "resolve", "--note", "rolled back to the last known-good revision"],
        ),
        DemoStep(
            "The post-mortem draft, timeline and metrics filled in", ["incident", "postmortem"]
        ),
    ]


@contextlib.contextmanager
def running_sandbox(rollout_s: float = 2.0) -> Iterator[Sandbox]:
    """An in-process sandbox whose record makes `--env sandbox` find it; torn down after."""
    with tempfile.TemporaryDirectory(prefix="hybridops-demo-") as tmp:
        record = Path(tmp) / "sandbox.json"
        keys = ("HYBRIDOPS_SANDBOX_FILE", "HYBRIDOPS_ENV", "HYBRIDOPS_STATE_PATH")
        previous = {k: os.environ.get(k) for k in keys}
        sandbox = Sandbox(rollout_s=rollout_s, log_hours=2).start()
        try:
            sandbox.write_record(record, os.getpid())
            os.environ["HYBRIDOPS_SANDBOX_FILE"] = str(record)
            os.environ["HYBRIDOPS_ENV"] = "sandbox"
            # The demo's audit trail and journals stay out of the operator's real state.
            os.environ["HYBRIDOPS_STATE_PATH"] = str(Path(tmp) / "state.db")
            yield sandbox
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            sandbox.stop()


def run_demo(
    run_command: Callable[[DemoStep], int], *, rollback_to: str | None = None
) -> tuple[bool, list[DemoStep], dict[str, object]]:
    """Run the procedure; True only if every step behaved and the estate really recovered."""
    steps = demo_steps(rollback_to)
    with running_sandbox() as sandbox:
        for step in steps:
            step.exit_code = run_command(step)
            if not step.ok:
                break
        final = sandbox.state()
    recovered = (
        final["health"].get("eu-central-1") == "healthy" and final["scenario"] == "bad-deploy"
    )
    services = final["services"]
    healthy_revision = (
        isinstance(services, dict)
        and services.get("eu-central-1", {}).get("task_definition") != "hybrid-router:3"
    )
    return all(s.ok for s in steps) and recovered and healthy_revision, steps, final
