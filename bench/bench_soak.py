"""Soak: 500 sequential runbook runs against the embedded sandbox, in one process.

Memory and open file descriptors must stay flat: resident memory after 500 runs within 1.1x
of that after 50 (the first 50 warm every cache), the same number of open descriptors, and the
state store holding exactly the records the runs wrote (one run-index row and journal each).
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import sqlite3
import tempfile
from pathlib import Path

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


def _state_rows(path: Path) -> dict[str, int]:
    """Rows per table of the SQLite state store."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


def run() -> list[Row]:
    """Run service-status RUNS times in-process; compare memory and descriptors."""
    from hybridops.cli.main import main
    from hybridops.context import Terminal
    from hybridops.sandbox.demo import running_sandbox

    def once() -> int:
        env = Terminal(
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

    home = Path(tempfile.mkdtemp(prefix="hybridops-soak-"))
    os.environ["HYBRIDOPS_HOME"] = str(home)
    try:
        with running_sandbox(rollout_s=0.1) as sandbox:
            sandbox.controller.paused = True  # a quiet estate: only the runs allocate
            codes = [once() for _ in range(WARM)]
            warm_rss, warm_fds = _rss_mb(), _fds()
            codes += [once() for _ in range(RUNS - WARM)]
            end_rss, end_fds = _rss_mb(), _fds()
            state_db = Path(os.environ["HYBRIDOPS_STATE_PATH"])
            rows = _state_rows(state_db)
            journals = len(list((state_db.parent / "runs").glob("*.json")))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if set(codes) - {0}:
        raise SystemExit(f"soak: runs failed with exit codes {sorted(set(codes))}")
    # A read-only runbook writes one run-index row and one journal per run, and nothing else.
    expected = {"runs": RUNS}
    grown = {table: n for table, n in rows.items() if n}
    state_flat = grown == expected and journals == RUNS
    growth = end_rss / warm_rss
    return [
        Row(
            f"soak: resident memory after {RUNS} runs",
            [end_rss],
            f"itself after {WARM}",
            [warm_rss],
            f"<= {TARGET}x, same open files, state = records written",
            growth <= TARGET and end_fds == warm_fds and state_flat,
            growth,
            unit="MB",
            note=f"open file descriptors {warm_fds} -> {end_fds}; state rows {grown}"
            f" and {journals} journals for {RUNS} runs",
        )
    ]
