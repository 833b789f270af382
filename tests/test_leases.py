"""Locks are leases a run keeps checking: a lost lease stops it, a live holder is never resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hybridops.state.sqlite import SqliteStore
from tests.support import Cli, MotoServer

TWO_CHANGES = """name: two-changes
steps:
  - name: read
    aws: {service: ssm, operation: get_parameter, params: {Name: /a}}
    outputs: {previous: Parameter.Value}
  - name: first
    aws:
      service: ssm
      operation: put_parameter
      params: {Name: /a, Value: changed, Type: String, Overwrite: true}
    compensate:
      aws:
        service: ssm
        operation: put_parameter
        params: {Name: /a, Value: "${{ steps.read.outputs.previous }}", Type: String, Overwrite: true}
  - name: hold
    wait:
      aws: {service: ssm, operation: get_parameter, params: {Name: /go}}
      until: {Parameter.Value: go}
      interval_s: 0.1
      timeout_s: 60
  - name: second
    aws:
      service: ssm
      operation: put_parameter
      params: {Name: /b, Value: changed, Type: String, Overwrite: true}
"""


@pytest.fixture
def book(moto: MotoServer, write_config: Any, tmp_path: Path) -> tuple[Any, Path]:
    """/a, /b = original, /go = wait; the runbook changes /a, waits for /go, changes /b."""
    write_config(moto.url)
    ssm = moto.client("ssm")
    for name in ("/a", "/b"):
        ssm.put_parameter(Name=name, Value="original", Type="String")
    ssm.put_parameter(Name="/go", Value="wait", Type="String")
    path = tmp_path / "two.yaml"
    path.write_text(TWO_CHANGES)
    return ssm, path


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hybridops", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _wait_for(proc: subprocess.Popen[str], needle: str) -> str:
    assert proc.stderr is not None
    for line in proc.stderr:
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} never shown")


def test_a_run_that_lost_its_lease_stops_before_its_next_change(
    book: tuple[Any, Path], tmp_path: Path
) -> None:
    ssm, path = book
    proc = _start("--yes", "-o", "json", "run", str(path))
    try:
        _wait_for(proc, "hold")
        # Someone forced the lock away and another run took it.
        store = SqliteStore(tmp_path / "home" / "state.db")
        assert store.force_release("two-changes:test") is not None
        assert store.acquire_lock("two-changes:test", "bob@elsewhere pid 7 run R9", 600) is None
        store.close()
        ssm.put_parameter(Name="/go", Value="go", Type="String", Overwrite=True)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 3, err
    doc = json.loads(out)
    assert doc["status"] == "refused"
    assert (
        "was taken over by another run: stopped before ssm.put_parameter"
        in (doc["error"]["message"])
    )
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["second"]["status"] == "refused"
    # Nothing sent after the loss: /b unchanged; /a not undone (the new holder may rely on it),
    # with the command to undo it by hand.
    assert ssm.get_parameter(Name="/b")["Parameter"]["Value"] == "original"
    assert ssm.get_parameter(Name="/a")["Parameter"]["Value"] == "changed"
    comp = steps["first"]["compensation"]
    assert comp["status"] == "skipped" and "taken over" in comp["reason"]
    assert "--name /a --value original" in comp["undo"]
    store = SqliteStore(tmp_path / "home" / "state.db")
    held = store.lock_holder("two-changes:test")
    operations = [r["operation"] for r in store.list_audit() if r["phase"] == "before"]
    store.close()
    assert held is not None and held.holder == "bob@elsewhere pid 7 run R9"  # not released
    assert operations == ["put_parameter"]


def test_resuming_a_run_that_is_still_alive_is_refused(
    cli: Cli, book: tuple[Any, Path], tmp_path: Path
) -> None:
    ssm, path = book
    proc = _start("--yes", "-o", "json", "run", str(path))
    try:
        line = _wait_for(proc, "run two-changes")
        run_id = line.split()[-1]
        _wait_for(proc, "hold")
        refused = cli("--yes", "-o", "json", "run", str(path), "--resume", run_id)
        assert refused.code == 3, refused.err
        assert f"run {run_id} is still running" in refused.json()["error"]["message"]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143
    # The live run was left alone until it stopped, then undid its change itself.
    assert ssm.get_parameter(Name="/a")["Parameter"]["Value"] == "original"
    assert ssm.get_parameter(Name="/b")["Parameter"]["Value"] == "original"


COPY_SECRET = """name: copy-secret
steps:
  - name: read
    aws: {service: ssm, operation: get_parameter, params: {Name: /src, WithDecryption: true}}
    outputs: {val: {path: Parameter.Value, secret: true}}
  - name: hold
    wait:
      aws: {service: ssm, operation: get_parameter, params: {Name: /go}}
      until: {Parameter.Value: go}
      interval_s: 0.1
      timeout_s: 60
  - name: copy
    aws:
      service: ssm
      operation: put_parameter
      params: {Name: /dst, Value: "${{ steps.read.outputs.val }}", Type: SecureString}
"""


def test_a_resume_reads_secret_outputs_again_never_writes_the_mask(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/src", Value="RealDbPassw0rd!", Type="SecureString")
    ssm.put_parameter(Name="/go", Value="wait", Type="String")
    book = tmp_path / "copy.yaml"
    book.write_text(COPY_SECRET)
    proc = _start("--yes", "-o", "json", "run", str(book))
    try:
        run_id = _wait_for(proc, "run copy-secret").split()[-1]
        _wait_for(proc, "hold")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    ssm.put_parameter(Name="/go", Value="go", Type="String", Overwrite=True)
    resumed = cli("--yes", "-o", "json", "run", str(book), "--resume", run_id)
    assert resumed.code == 0, resumed.err
    assert [s["status"] for s in resumed.json()["steps"]] == ["succeeded"] * 3
    value = ssm.get_parameter(Name="/dst", WithDecryption=True)["Parameter"]["Value"]
    assert value == "RealDbPassw0rd!"
