"""Engine overhead: a 50-step read-only runbook against the same 50 boto3 calls in a script.

Both start a fresh Python process and talk to the same moto server. hybridops pays for its
CLI, config, runbook validation, templating, the gate, journal and run history; target
(issue 9): at most 1.3x the plain script.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import BIN, Row, interleave, median
from bench.estate import CLUSTER, REGION, SERVICE, estate, slow_health_server

STEPS = 50
REPS = 7
TARGET = 1.3

SCRIPT = """
import boto3, sys
ecs = boto3.client("ecs", region_name={region!r}, endpoint_url=sys.argv[1])
for i in range({steps}):
    if i % 2:
        ecs.describe_services(cluster={cluster!r}, services=[{service!r}])
    else:
        ecs.list_services(cluster={cluster!r})
"""


def _runbook(path: Path) -> None:
    steps = []
    for i in range(STEPS):
        if i % 2:
            call = (
                f"aws: {{service: ecs, operation: describe_services, params: {{cluster: {CLUSTER},"
                f" services: [{SERVICE}]}}}}"
            )
        else:
            call = (
                f"aws: {{service: ecs, operation: list_services, params: {{cluster: {CLUSTER}}}}}"
            )
        steps.append(f"  - name: s{i}\n    {call}\n")
    path.write_text("name: fifty-reads\nsteps:\n" + "".join(steps))


def run() -> list[Row]:
    """Interleaved runs of both."""
    with slow_health_server(0) as base, estate(base, ["hybrid-router"]) as bench:
        book = Path(tempfile.mkdtemp()) / "fifty.yaml"
        _runbook(book)
        ours_cmd = [str(BIN / "hybridops"), "run", str(book), "--output", "json"]
        done = subprocess.run(ours_cmd, env=bench.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"engine bench: hybridops exited {done.returncode}: {done.stderr}")
        script = SCRIPT.format(region=REGION, steps=STEPS, cluster=CLUSTER, service=SERVICE)
        peer_cmd = [sys.executable, "-c", script, bench.moto_url]
        ours, peer = interleave(ours_cmd, peer_cmd, REPS, env=bench.env)
    ratio = median(ours) / median(peer)
    return [
        Row(
            f"engine: a {STEPS}-step read-only runbook",
            ours,
            f"the same {STEPS} boto3 calls in a script",
            peer,
            f"<= {TARGET}x",
            ratio <= TARGET,
            ratio,
            note="both in a fresh process against one moto server",
        )
    ]
