"""Health probes: 200 URLs answering in 100 ms each, against a `curl` loop over the same URLs.

Two rows. (1) The check itself (issue 4): the 200 probes through `hybridops.health.probe`
in a fresh process, first call, client set-up and the httpx import included, at the default
100 in flight; target under 3x the 0.2 s floor (two waves of 100 ms). (2) The whole
`hybridops health` command end to end — interpreter start, config, the ECS/alarm/Route 53
checks against a moto server, 200 probes, JSON out — against the curl loop an engineer would
paste; target (issue 9) the same 0.6 s, as wall time of the whole command.
"""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import BIN, Row, median, run_timed
from bench.estate import estate, slow_health_server

URLS = 200
DELAY_MS = 100
REPS = 7
PROBE_TARGET_S = 0.6

PROBE_ONLY = """
import sys, time
from hybridops.health.probe import probe
base = sys.argv[1]
targets = [("health", base + "/health")] + [
    (f"c{i}", f"{base}/health/component/c{i}") for i in range(int(sys.argv[2]) - 1)
]
started = time.perf_counter()
checks = probe(targets, concurrency=100)
elapsed = time.perf_counter() - started
assert sum(c.status == "pass" for c in checks) == len(targets), checks
print(elapsed)
"""


def run() -> list[Row]:
    """Time the probes, the whole command, and one curl loop over the same 200 URLs."""
    components = [f"c{i}" for i in range(URLS - 1)]  # plus /health itself
    with slow_health_server(DELAY_MS) as base, estate(base, components) as bench:
        argv = [str(BIN / "hybridops"), "health", "--output", "json"]
        # Check once that it really probes all 200 and passes, so the timing means something.
        done = subprocess.run(argv, env=bench.env, capture_output=True, text=True)
        verdict = json.loads(done.stdout)
        http = [c for c in verdict["checks"] if c["kind"] == "http"]
        if done.returncode != 0 or len(http) != URLS or verdict["status"] != "healthy":
            raise SystemExit(f"health bench setup broken: rc={done.returncode} {done.stdout[:500]}")
        probes = []
        for _ in range(REPS):
            out = subprocess.run(
                [sys.executable, "-c", PROBE_ONLY, base, str(URLS)],
                env=bench.env,
                capture_output=True,
                text=True,
                check=True,
            )
            probes.append(float(out.stdout))
        command = [run_timed(argv, env=bench.env).seconds for _ in range(REPS)]
        urls = " ".join([f"{base}/health"] + [f"{base}/health/component/{c}" for c in components])
        loop = f"for u in {urls}; do curl -s -m 5 -o /dev/null $u; done"
        peer = [run_timed(["bash", "-c", loop]).seconds]
    probe_s, command_s = median(probes), median(command)
    return [
        Row(
            f"health probes, {URLS} URLs x {DELAY_MS} ms",
            probes,
            "`curl` loop",
            peer,
            f"<= {PROBE_TARGET_S} s (3x the 0.2 s floor)",
            probe_s <= PROBE_TARGET_S,
            probe_s / median(peer),
            note="first call in a fresh process, httpx import and client set-up included",
        ),
        Row(
            f"`hybridops health` end to end, {URLS} URLs x {DELAY_MS} ms",
            command,
            "`curl` loop",
            peer,
            f"<= {PROBE_TARGET_S} s wall (issue 9)",
            command_s <= PROBE_TARGET_S,
            command_s / median(peer),
            note="start-up, config, ECS/alarm/Route 53 checks on a moto server, 200 probes, JSON;"
            " the curl loop runs once (~22 s)",
        ),
    ]
