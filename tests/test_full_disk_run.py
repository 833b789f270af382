"""A disk that fills mid-run: nothing more is sent, the change made is undone, the lock freed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hybridops.state.sqlite import SqliteStore
from tests.support import Cli, MotoServer, fill
from tests.test_leases import TWO_CHANGES


def test_a_disk_that_fills_mid_run_sends_nothing_more_and_undoes(
    moto: MotoServer, write_config: Any, tmpfs: Path, tmp_path: Path
) -> None:
    write_config(moto.url)
    ssm = moto.client("ssm")
    for name in ("/a", "/b"):
        ssm.put_parameter(Name=name, Value="original", Type="String")
    ssm.put_parameter(Name="/go", Value="wait", Type="String")
    book = tmp_path / "two.yaml"
    book.write_text(TWO_CHANGES)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridops", "--yes", "-o", "json", "run", str(book)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "hold" in line:
                break
        fill(tmpfs)  # the disk is full from here on
        ssm.put_parameter(Name="/go", Value="go", Type="String", Overwrite=True)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    db = tmpfs / "home" / "state.db"
    assert proc.returncode == 1, err
    assert "Traceback" not in err, err
    doc = json.loads(out)
    assert doc["error"]["message"] == f"state store full: {db}"
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["second"]["status"] == "failed"
    assert steps["first"]["compensation"]["status"] == "succeeded"
    # Nothing was sent once the intent could not be recorded; the change made was undone.
    assert ssm.get_parameter(Name="/b")["Parameter"]["Value"] == "original"
    assert ssm.get_parameter(Name="/a")["Parameter"]["Value"] == "original"
    (tmpfs / "filler").unlink()
    store = SqliteStore(db)
    try:
        assert store.list_locks() == []
        records = [(r["step"], r["phase"], r["outcome"]) for r in store.list_audit()]
    finally:
        store.close()
    # Every change made is on the audit trail, the undo included (or in the output's
    # unrecorded_audit when even the reserve was not enough).
    kept = records + [
        (r["step"], r["phase"], r["outcome"]) for r in doc.get("unrecorded_audit", [])
    ]
    assert ("first", "before", "started") in kept
    assert ("first:compensate", "before", "started") in kept
    assert ("first:compensate", "after", "succeeded") in kept
    assert not any(step == "second" and phase == "before" for step, phase, _ in records)


def test_a_full_disk_before_the_run_sends_nothing(
    cli: Cli, moto: MotoServer, write_config: Any, tmpfs: Path, tmp_path: Path
) -> None:
    write_config(moto.url)
    ssm = moto.client("ssm")
    for name in ("/a", "/b", "/go"):
        ssm.put_parameter(Name=name, Value="original", Type="String")
    book = tmp_path / "two.yaml"
    book.write_text(TWO_CHANGES)
    assert cli("audit").code == 0  # the store exists, with its reserve
    moto.forget_requests()
    fill(tmpfs)
    result = cli("--yes", "-o", "json", "run", str(book))
    assert result.code == 1, result.err
    assert result.json()["error"]["message"] == f"state store full: {tmpfs / 'home' / 'state.db'}"
    assert [r for r in moto.requests if r.startswith("PutParameter")] == []
    assert ssm.get_parameter(Name="/a")["Parameter"]["Value"] == "original"
