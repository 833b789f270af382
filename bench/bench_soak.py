"""Soak: 500 sequential runbook runs against the embedded sandbox, in one process.

Memory and open file descriptors must stay flat: resident memory after 500 runs within 1.1x
of that after 50 (the first 50 warm every cache), and the same number of open descriptors.
"""

from __future__ import annotations

import io
import os
import resource

from bench.common import Row

RUNS = 500
WARM = 50
TARGET = 1.1


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def run() -> list[Row]:
    """Run service-status RUNS times in-process; compare memory and descriptors."""
    from hybridops.cli.main import main
    from hybridops.context import Environment
    from hybridops.sandbox.demo import running_sandbox

    def once() -> int:
        env = Environment(
            stdin=io.StringIO(),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            stdin_isatty=False,
            stdout_isatty=False,
            stderr_isatty=False,
            no_color=True,
            width=100,
        )
        return main(["-o", "json", "run", "service-status"], env)

    with running_sandbox(rollout_s=0.1) as sandbox:
        sandbox.controller.paused = True  # a quiet estate: only the runs allocate
        codes = [once() for _ in range(WARM)]
        warm_rss, warm_fds = _rss_mb(), _fds()
        codes += [once() for _ in range(RUNS - WARM)]
        end_rss, end_fds = _rss_mb(), _fds()
    if set(codes) - {0}:
        raise SystemExit(f"soak: runs failed with exit codes {sorted(set(codes))}")
    growth = end_rss / warm_rss
    return [
        Row(
            f"soak: resident memory after {RUNS} runs",
            [end_rss],
            f"itself after {WARM}",
            [warm_rss],
            f"<= {TARGET}x, same open files",
            growth <= TARGET and end_fds == warm_fds,
            growth,
            unit="MB",
            note=f"open file descriptors {warm_fds} -> {end_fds}",
        )
    ]
