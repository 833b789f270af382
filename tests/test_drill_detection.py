"""Drills measure what happened: any command detects, runs end with their final status, the
clock moves, and nothing but the sandbox is ever drilled."""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hybridops.cli.main import main
from hybridops.context import Terminal
from hybridops.sandbox.server import Sandbox
from tests.support import Cli


@pytest.fixture
def drilled(recorded_sandbox: Sandbox) -> Sandbox:
    """The shared sandbox as the one `drill` finds; no scenario yet."""
    return recorded_sandbox


def wait_for_scenario(sandbox: Sandbox, name: str) -> None:
    """Until the drill has injected its fault."""
    deadline = time.monotonic() + 60
    while sandbox.scenario != name:
        assert time.monotonic() < deadline, "the drill never injected its fault"
        time.sleep(0.02)


@pytest.fixture
def drill_in_thread(drilled: Sandbox) -> Iterator[Any]:
    """Start `drill bad-deploy` (through a pipe) in a thread; what it returns joins it."""
    threads: list[threading.Thread] = []

    def start(*options: str) -> Any:
        out, err = io.StringIO(), io.StringIO()
        result: dict[str, Any] = {}

        def run() -> None:
            env = Terminal(
                stdout=out, stderr=err, stdin_isatty=False, stderr_isatty=False, no_color=True
            )
            argv = [*options, "drill", "bad-deploy", "--interval", "0.05", "--timeout", "2m"]
            result["code"] = main(argv, env)

        thread = threading.Thread(target=run)
        threads.append(thread)
        thread.start()
        wait_for_scenario(drilled, "bad-deploy")

        def finish() -> tuple[int, str, str]:
            thread.join(timeout=120)
            assert not thread.is_alive(), "the drill never saw the estate recover"
            return result["code"], out.getvalue(), err.getvalue()

        return finish

    yield start
    for thread in threads:
        thread.join(timeout=120)


def test_any_command_detects_and_runs_show_their_final_status(
    cli: Cli, drill_in_thread: Any
) -> None:
    finish = drill_in_thread()
    # Detection is a read-only command that runs no runbook.
    looked = cli("--env", "sandbox", "logs", "search", "--since", "5m", "--grep", "ERROR")
    assert looked.code == 0
    assert "upstream error" in looked.out
    # The rollback keeps verifying for up to a second after the estate is green: the report
    # must wait for its final status.
    fixed = cli("--env", "sandbox", "--yes", "run", "rollback-service", "-p", "interval_s=1")
    assert fixed.code == 0, fixed.err
    code, out, err = finish()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("drill report — bad-deploy")
    first = next(line for line in lines if line.strip().startswith("first command"))
    assert "logs FilterLogEvents" in first
    runs = [line.split() for line in lines[lines.index("  runs (final status; times UTC):") + 1 :]]
    assert runs[0][1:] == ["rollback-service", "succeeded"]
    detect, mitigate, recover = (
        float(re.search(rf"{label}\s+([\d.]+)s", out).group(1))  # type: ignore[union-attr]
        for label in ("time to detect", "time to mitigate", "time to recover")
    )
    assert detect <= mitigate <= recover  # tenths of a second: the first two may round alike
    # (The cold backup's wording in the status line is checked on a terminal, below: through a
    # pipe a line is printed only when the estate changes, which may come after the fix.)
    assert "{'" not in err and "{'" not in out


def test_detection_is_the_first_command_not_the_first_runbook(
    cli: Cli, drill_in_thread: Any
) -> None:
    finish = drill_in_thread("-o", "json")
    assert cli("--env", "sandbox", "health").code == 1
    assert cli("--env", "sandbox", "alarms", "list").code in (0, 1)
    fixed = cli("--env", "sandbox", "--yes", "run", "rollback-service", "-p", "interval_s=0.05")
    assert fixed.code == 0, fixed.err
    code, out, err = finish()
    assert code == 0, out + err
    report = json.loads(out)
    first = report["first_request"]
    (run,) = report["commands"]
    assert run["runbook"] == "rollback-service" and run["status"] == "succeeded"
    # `health` came first, well before the only runbook run: it is the detection.
    assert report["detected_at"] == first["at"] < run["at"]
    assert report["requests_seen"] > 1
    assert 0 <= report["time_to_detect_s"] <= report["time_to_mitigate_s"]


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_drill_of_a_real_environment_is_refused(
    cli: Cli, drilled: Sandbox, write_config: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    write_config(None, sandbox=False)  # the environment `test`, a real account
    argv = ["drill", "bad-deploy", "--interval", "0.05", "--timeout", "5s"]
    if how == "flag":
        argv = ["--env", "test", *argv]
    else:
        monkeypatch.setenv("HYBRIDOPS_ENV", "test")
    text = cli(*argv)
    assert text.code == 2
    assert "error: drill injects faults into the sandbox only: environment 'test'" in text.err
    assert "hint: hybridops --env sandbox drill bad-deploy" in text.err
    doc = cli("-o", "json", *argv)
    assert doc.code == 2 and doc.json()["error"]["exit_code"] == 2
    assert drilled.scenario is None  # nothing was injected anywhere


def _read_until(fd: int, pattern: str, seen: list[str], timeout_s: float = 60.0) -> re.Match[str]:
    """Read the terminal until `pattern` matches what it showed (select-driven: no sleeping)."""
    deadline = time.monotonic() + timeout_s
    while True:
        match = re.search(pattern, "".join(seen))
        if match:
            return match
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{pattern!r} never appeared in {''.join(seen)[-800:]!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                seen.append(os.read(fd, 4096).decode(errors="replace"))
            except OSError:  # EIO: the command ended
                match = re.search(pattern, "".join(seen))
                assert match, f"{pattern!r} never appeared in {''.join(seen)[-800:]!r}"
                return match


def test_on_a_terminal_the_clock_moves_and_the_report_reads_well(
    cli: Cli, drilled: Sandbox
) -> None:
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    # Wide enough for the whole status line (a narrower one ends in an ellipsis).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridops", "drill", "bad-deploy", "--interval", "3"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color"},
    )
    os.close(slave)
    seen: list[str] = []
    try:
        clock = _read_until(
            master, r"drill bad-deploy: (\d+):(\d\d) — eu-central-1: unhealthy", seen
        )
        later = int(clock.group(1)) * 60 + int(clock.group(2)) + 1
        # The same status line a second later, between two polls: its clock moves on its own.
        _read_until(master, rf"drill bad-deploy: {later // 60}:{later % 60:02d} — ", seen)
        assert "us-west-2: standby (desired 0)" in "".join(seen)
        assert cli("--env", "sandbox", "health").code == 1
        fixed = cli("--env", "sandbox", "--yes", "run", "rollback-service", "-p", "interval_s=0.05")
        assert fixed.code == 0, fixed.err
        _read_until(master, r"changes made:\s+\S+\s+ecs\.update_service\s+succeeded", seen)
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
        os.close(master)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", "".join(seen))
    assert code == 0, shown[-2000:]
    assert re.search(r"time to detect\s+\d+\.\ds", shown)
    # `health` sends its AWS reads and HTTP probes at once: any of them may arrive first.
    assert re.search(
        r"first command\s+\d\d:\d\d:\d\d\s+([a-z0-9-]+ [A-Z]\w+|GET /health\S*)", shown
    )
    assert re.search(r"\d\d:\d\d:\d\d\s+rollback-service\s+succeeded", shown)


def test_a_dry_run_drill_injects_nothing(cli: Any, sandbox_env: Any) -> None:
    result = cli("--dry-run", "drill", "bad-deploy", "--timeout", "5s")
    assert result.code == 0, result.err
    assert "would inject 'bad-deploy' into the sandbox" in result.out
    assert "nothing injected" in result.out
    # No fault: the estate is as healthy as before.
    assert cli("-o", "json", "health").json()["status"] == "healthy"
