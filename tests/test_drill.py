"""A drill: the fault is injected, the engineer works with normal commands, the report is true."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from pathlib import Path

import pytest

from hybridops.cli.main import main
from hybridops.context import Terminal
from tests.support import Cli


def test_drill_reports_detection_mitigation_and_recovery(
    cli: Cli, shared_sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "sandbox.json"
    shared_sandbox.write_record(record, os.getpid())
    monkeypatch.setenv("HYBRIDOPS_SANDBOX_FILE", str(record))
    shared_sandbox.scenario = None
    out = io.StringIO()
    result: dict[str, int] = {}

    def drill() -> None:
        env = Terminal(
            stdout=out, stderr=io.StringIO(), stdin_isatty=False, stderr_isatty=False, no_color=True
        )
        result["code"] = main(
            ["-o", "json", "drill", "bad-deploy", "--interval", "0.1", "--timeout", "2m"], env
        )

    thread = threading.Thread(target=drill)
    thread.start()
    deadline = time.monotonic() + 60
    while shared_sandbox.scenario != "bad-deploy":
        assert time.monotonic() < deadline, "the drill never injected its fault"
        time.sleep(0.05)
    # The engineer detects, then mitigates, with the normal commands.
    assert cli("--env", "sandbox", "run", "service-status").code == 1
    fixed = cli("--env", "sandbox", "--yes", "run", "rollback-service", "-p", "interval_s=0.1")
    assert fixed.code == 0, fixed.err
    thread.join(timeout=120)
    assert result["code"] == 0
    report = json.loads(out.getvalue())
    assert report["scenario"] == "bad-deploy"
    assert [c["runbook"] for c in report["commands"]] == ["service-status", "rollback-service"]
    assert report["commands"][0]["status"] == "failed"
    assert [c["call"] for c in report["changes"]] == ["ecs.update_service"]
    assert (
        0
        <= report["time_to_detect_s"]
        <= report["time_to_mitigate_s"]
        <= report["time_to_recover_s"]
    )
    assert report["final_state"]["health"]["eu-central-1"] == "healthy"


def test_drill_of_unknown_scenario_is_exit_2(
    cli: Cli, shared_sandbox, tmp_path: Path, monkeypatch
) -> None:
    record = tmp_path / "sandbox.json"
    shared_sandbox.write_record(record, os.getpid())
    monkeypatch.setenv("HYBRIDOPS_SANDBOX_FILE", str(record))
    result = cli("drill", "meteor-strike", "--interval", "0.1")
    assert result.code == 2
    assert "unknown scenario" in result.err
