"""Running the sandbox in the foreground or detached, and finding it again by its record."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hybridops.errors import BadInput, RemoteError, TimedOut


def read_record(path: Path) -> dict[str, Any] | None:
    """The record of a running sandbox, or None."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pid_alive(pid: int) -> bool:
    """Whether a process exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def endpoint_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether an HTTP endpoint accepts a connection."""
    import httpx

    try:
        httpx.get(url, timeout=timeout)
    except httpx.HTTPError:
        return False
    return True


def status(path: Path) -> dict[str, Any]:
    """`{"running", "pid", "endpoint_url", "health_url", "secondary_health_url", "scenario"}`."""
    record = read_record(path) or {}
    pid = record.get("pid")
    running = (
        isinstance(pid, int) and pid_alive(pid) and endpoint_answers(record.get("endpoint_url", ""))
    )
    return {
        "running": running,
        "pid": pid if running else None,
        "endpoint_url": record.get("endpoint_url") if running else None,
        "health_url": record.get("health_url") if running else None,
        "secondary_health_url": record.get("secondary_health_url") if running else None,
        "scenario": record.get("scenario") if running else None,
        "record": str(path),
    }


def serve(
    path: Path, *, on_ready: Callable[[dict[str, Any]], None], rollout_s: float = 3.0
) -> None:
    """Run a sandbox in this process until SIGTERM or Ctrl-C; keep the record while up."""
    from hybridops.sandbox.server import Sandbox

    current = status(path)
    if current["running"]:
        raise BadInput(
            f"a sandbox is already running (pid {current['pid']})", hint="hybridops sandbox down"
        )
    sandbox = Sandbox(rollout_s=rollout_s).start()
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sandbox.write_record(path, os.getpid())
        on_ready(sandbox.record(os.getpid()))
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        record = read_record(path)
        if record and record.get("pid") == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        sandbox.stop()


def start_detached(
    path: Path, *, timeout_s: float = 90.0, log_path: Path | None = None
) -> dict[str, Any]:
    """Start `hybridops sandbox up` in a new session; return its record once it is ready."""
    current = status(path)
    if current["running"]:
        return current
    log_path = log_path or path.with_suffix(".log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HYBRIDOPS_SANDBOX_FILE=str(path))
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "hybridops", "--quiet", "sandbox", "up"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = read_record(path)
        if record and record.get("pid") == child.pid:
            return status(path)
        if child.poll() is not None:
            raise RemoteError(f"the sandbox exited early (code {child.returncode}); see {log_path}")
        time.sleep(0.1)
    child.terminate()
    raise TimedOut(f"the sandbox did not start within {timeout_s:g}s; see {log_path}")


def stop(path: Path, *, timeout_s: float = 15.0) -> bool:
    """Stop the sandbox named by the record; False if none was running."""
    record = read_record(path)
    if not record or not record.get("pid") or not pid_alive(int(record["pid"])):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return False
    pid = int(record["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid_alive(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return True


def control(path: Path, verb: str, name: str | None = None) -> dict[str, Any]:
    """Ask the running sandbox to inject a scenario, reset, or report its state."""
    import httpx

    current = status(path)
    if not current["running"]:
        raise BadInput("no sandbox is running", hint="hybridops sandbox up --detach")
    base = f"{current['endpoint_url']}/_hybridops"
    url = {"break": f"{base}/scenario/{name}", "reset": f"{base}/reset", "state": f"{base}/state"}[
        verb
    ]
    try:
        response = httpx.post(url, timeout=60) if verb != "state" else httpx.get(url, timeout=10)
    except httpx.HTTPError as exc:
        raise RemoteError(f"sandbox control API: {exc}") from None
    try:
        document = response.json()
    except ValueError:  # not the sandbox's JSON: say what answered, not a decoder's error
        document = {"error": response.text.strip()[:200] or "no body"}
    if response.status_code == 400:
        raise BadInput(document.get("error", "bad request"))
    if response.status_code != 200:
        raise RemoteError(
            f"sandbox control API answered {response.status_code}:"
            f" {document.get('error', 'no reason given')}"
        )
    return dict(document)
