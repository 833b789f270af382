"""SIGTERM and SIGHUP get what Ctrl-C gets: journal, audit, undo rules, lock, one JSON document."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from hybridops.state.sqlite import SqliteStore
from tests.support import MotoServer
from tests.test_faults import INTERRUPTIBLE

# The runbook that changes /flag, then waits forever (shared with the Ctrl-C tests).
FLIP = INTERRUPTIBLE


@pytest.fixture
def flip(moto: MotoServer, write_config: Any, tmp_path: Path) -> tuple[Any, Path]:
    """SSM /flag = original, and a runbook that changes it then waits forever."""
    write_config(moto.url)
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/flag", Value="original", Type="String")
    book = tmp_path / "flip.yaml"
    book.write_text(FLIP)
    return ssm, book


def _store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "home" / "state.db")


def _audit(tmp_path: Path) -> list[tuple[str, str, str]]:
    store = _store(tmp_path)
    try:
        return [(r["step"], r["phase"], r["outcome"]) for r in store.list_audit()]
    finally:
        store.close()


def _locks(tmp_path: Path) -> list[Any]:
    store = _store(tmp_path)
    try:
        return store.list_locks()
    finally:
        store.close()


def _start(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hybridops", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        **kwargs,
    )


def _signal_when(proc: subprocess.Popen[str], needle: str, signum: int) -> list[str]:
    """Send signum once stderr shows needle (event-driven); return stderr lines read so far."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if needle in line:
            break
    proc.send_signal(signum)
    return seen


@pytest.mark.parametrize(
    ("signum", "code", "name"),
    [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGHUP, 129, "SIGHUP")],
)
def test_a_signal_with_yes_undoes_completes_audit_releases_lock(
    flip: tuple[Any, Path], tmp_path: Path, signum: int, code: int, name: str
) -> None:
    ssm, book = flip
    proc = _start("--yes", "-o", "json", "run", str(book))
    _signal_when(proc, "wait-forever", signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    doc = json.loads(out)  # exactly one document
    assert doc["status"] == "interrupted"
    assert doc["error"]["message"] == f"interrupted ({name})"
    assert doc["exit_code"] == code
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["wait-forever"]["status"] == "interrupted"
    assert steps["set"]["compensation"]["status"] == "succeeded"
    assert ssm.get_parameter(Name="/flag")["Parameter"]["Value"] == "original"
    assert json.loads(Path(doc["journal"]).read_text())["status"] == "interrupted"
    assert _audit(tmp_path) == [
        ("set", "before", "started"),
        ("set", "after", "succeeded"),
        ("set:compensate", "before", "started"),
        ("set:compensate", "after", "succeeded"),
    ]
    assert _locks(tmp_path) == []
    assert "Traceback" not in err


def test_sighup_after_a_confirmed_change_leaves_the_undo_command(
    flip: tuple[Any, Path], tmp_path: Path
) -> None:
    """The terminal closed: nobody can answer, no --yes: left changed, the undo command kept."""
    from tests.test_faults import _read_until

    ssm, book = flip
    proc, master = _pty_run(book)
    seen: list[str] = []
    try:
        _read_until(master, "Proceed? [y/N]", seen)
        os.write(master, b"y\n")
        _read_until(master, "wait-forever", seen)
        proc.send_signal(signal.SIGHUP)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        os.close(master)
    assert proc.returncode == 129
    doc = json.loads(out)
    assert doc["status"] == "interrupted"
    comp = {s["name"]: s for s in doc["steps"]}["set"]["compensation"]
    assert comp["status"] == "skipped"
    assert "nobody to ask" in comp["reason"]
    assert comp["undo"].startswith("aws ssm put-parameter --region eu-central-1")
    assert "--name /flag --value original" in comp["undo"]
    assert ssm.get_parameter(Name="/flag")["Parameter"]["Value"] == "changed"
    journal = json.loads(Path(doc["journal"]).read_text())
    assert journal["status"] == "interrupted"
    assert {s["name"]: s for s in journal["steps"]}["set"]["compensation"]["undo"] == comp["undo"]
    assert _locks(tmp_path) == []


def test_sigterm_in_text_mode_prints_what_was_left_and_how_to_undo(
    flip: tuple[Any, Path], tmp_path: Path
) -> None:
    """Read through a pipe: the undo is narrated, the verdict names the signal."""
    ssm, book = flip
    proc = _start("--yes", "run", str(book))
    _signal_when(proc, "wait-forever", signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert "↶ compensating set" in err
    assert "interrupted · run" in out
    assert "error: interrupted (SIGTERM)" in out
    assert ssm.get_parameter(Name="/flag")["Parameter"]["Value"] == "original"


def test_sigterm_mid_request_completes_the_audit_record(
    moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    arrived, release = threading.Event(), threading.Event()

    def slow(method: str, path: str, body: bytes) -> tuple[int, Any]:
        arrived.set()
        release.wait(30)
        return 200, {"ok": True}

    server = http_server(slow)
    write_config(moto.url)
    book = tmp_path / "post.yaml"
    book.write_text(
        "name: post\nsteps:\n"
        f"  - name: post\n    http: {{method: POST, url: '{server.url}/x', timeout_s: 30}}\n"
    )
    proc = _start("--yes", "-o", "json", "run", str(book))
    try:
        assert arrived.wait(30)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        release.set()
    assert proc.returncode == 143, err
    assert json.loads(out)["steps"][0]["status"] == "interrupted"
    store = _store(tmp_path)
    records = store.list_audit()
    store.close()
    assert [(r["phase"], r["outcome"]) for r in records] == [
        ("before", "started"),
        ("after", "interrupted"),
    ]
    assert records[0]["id"] == records[1]["id"]
    assert "may have been applied" in records[1]["error"]
    assert _locks(tmp_path) == []


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_in_any_command_keeps_one_json_document(
    moto: MotoServer, http_server: Any, write_config: Any, signum: int, code: int
) -> None:
    arrived, release = threading.Event(), threading.Event()

    def hang(method: str, path: str, body: bytes) -> tuple[int, Any]:
        arrived.set()
        release.wait(30)
        return 200, {"status": "healthy"}

    server = http_server(hang)
    write_config(moto.url, health_url=server.url)
    proc = _start("-o", "json", "health", "--timeout", "30")
    try:
        assert arrived.wait(30)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        release.set()
    assert proc.returncode == code, err
    doc = json.loads(out)
    assert doc["status"] == "interrupted"
    assert doc["error"]["exit_code"] == code
    assert "Traceback" not in err


def _pty_run(book: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    import pty

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridops", "-o", "json", *extra, "run", str(book)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**env, "TERM": "dumb"},
    )
    os.close(slave)
    return proc, master


def test_sighup_at_the_undo_question_leaves_the_undo_command(
    flip: tuple[Any, Path], tmp_path: Path
) -> None:
    from tests.test_faults import _read_until

    ssm, book = flip
    proc, master = _pty_run(book)
    seen: list[str] = []
    try:
        _read_until(master, "Proceed? [y/N]", seen)
        os.write(master, b"y\n")
        _read_until(master, "wait-forever", seen)
        proc.send_signal(signal.SIGTERM)
        _read_until(master, "Undo the changes made by set? [y/N]", seen)
        proc.send_signal(signal.SIGHUP)  # the terminal closed at the question
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        os.close(master)
    assert proc.returncode == 143  # the first signal's code stands
    doc = json.loads(out)
    comp = {s["name"]: s for s in doc["steps"]}["set"]["compensation"]
    assert comp["status"] == "skipped"
    assert "--name /flag --value original" in comp["undo"]
    assert ssm.get_parameter(Name="/flag")["Parameter"]["Value"] == "changed"
    assert _locks(tmp_path) == []


def test_end_of_input_at_a_prompt_is_no(flip: tuple[Any, Path], tmp_path: Path) -> None:
    """Ctrl-D at "Proceed?" declines (exit 3); nothing is sent."""
    ssm, book = flip
    proc, master = _pty_run(book)
    from tests.test_faults import _read_until

    seen: list[str] = []
    try:
        _read_until(master, "Proceed? [y/N]", seen)
        os.write(master, b"\x04")  # Ctrl-D
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        os.close(master)
    assert proc.returncode == 3
    assert json.loads(out)["status"] == "refused"
    assert ssm.get_parameter(Name="/flag")["Parameter"]["Value"] == "original"


def test_a_second_signal_while_undoing_leaves_the_undo_command(
    moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    arrived, release = threading.Event(), threading.Event()

    def slow_undo(method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path.startswith("/undo"):
            arrived.set()
            release.wait(30)
        return 200, {"ok": True}

    server = http_server(slow_undo)
    write_config(moto.url, health_url=server.url)
    book = tmp_path / "undo.yaml"
    book.write_text(
        "name: undo\nsteps:\n"
        "  - name: change\n    http: {method: POST, url: '${{ env.health_url }}/do'}\n"
        "    compensate:\n      http: {method: POST, url: '${{ env.health_url }}/undo',"
        " timeout_s: 30}\n"
        "  - name: hold\n    wait:\n      http: {url: '${{ env.health_url }}/never'}\n"
        "      until: {status: 599}\n      interval_s: 0.1\n      timeout_s: 60\n"
    )
    proc = _start("--yes", "-o", "json", "run", str(book))
    try:
        _signal_when(proc, "hold", signal.SIGTERM)
        assert arrived.wait(30)  # undoing: its request hangs
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        release.set()
    assert proc.returncode == 143, err
    comp = {s["name"]: s for s in json.loads(out)["steps"]}["change"]["compensation"]
    assert comp["status"] == "skipped"
    assert "interrupted again" in comp["reason"]
    assert "/undo" in comp["undo"]
    store = _store(tmp_path)
    records = store.list_audit()
    store.close()
    assert all(r["run_id"] for r in records)  # completed records keep their run
