"""`hybridops triage` against `hybridops health` on the same healthy estate (issue 20).

Triage is the first command on every page, so it must cost about what `health` costs: target
at most 1.2x health's median wall time, both whole commands (interpreter start, config, every
read, output), interleaved on the same machine in the same run, on the embedded sandbox (an
estate with every part triage reads: ECS on both sides, ALB, alarms, Route 53, Lambda, SSM).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from bench.common import BIN, Row, median, run_timed

REPS = 11
TARGET = 1.2


def run() -> list[Row]:
    """Start a detached sandbox, check both commands see it healthy, time them interleaved."""
    home = Path(tempfile.mkdtemp(prefix="hybridops-bench-triage-"))
    env = {
        **os.environ,
        "HYBRIDOPS_HOME": str(home),
        "HYBRIDOPS_ENV": "sandbox",
        "NO_COLOR": "1",
    }
    hybridops = str(BIN / "hybridops")
    subprocess.run(
        [hybridops, "sandbox", "up", "--detach"], env=env, check=True, capture_output=True
    )
    try:
        health = [hybridops, "health"]
        triage = [hybridops, "triage"]
        checked = subprocess.run(
            [*triage[:1], "-o", "json", "triage"], env=env, capture_output=True, text=True
        )
        outcome = json.loads(checked.stdout)
        if checked.returncode != 0 or outcome["status"] != "ok":
            raise SystemExit(
                f"triage bench setup broken: rc={checked.returncode} {checked.stdout[:400]}"
            )
        if subprocess.run(health, env=env, capture_output=True).returncode != 0:
            raise SystemExit("triage bench setup broken: health is not green")
        ours: list[float] = []
        peer: list[float] = []
        for _ in range(REPS):
            peer.append(run_timed(health, env=env).seconds)
            ours.append(run_timed(triage, env=env).seconds)
    finally:
        subprocess.run([hybridops, "sandbox", "down"], env=env, capture_output=True)
    ratio = median(ours) / median(peer)
    return [
        Row(
            "`hybridops triage` on a healthy sandbox estate",
            ours,
            "`hybridops health`",
            peer,
            f"<= {TARGET}x health",
            ratio <= TARGET,
            ratio,
            note="both whole commands, interleaved; triage also reads metrics, Lambda throttles"
            " and the backup's /health, and weighs every runbook's triggers",
        )
    ]
