"""Shared bench helpers: timed runs with peak RSS, medians, peer venvs, result rows."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / ".peers"
BIN = Path(sys.executable).parent


@dataclass
class Sample:
    """One timed run."""

    seconds: float
    max_rss_kb: int
    returncode: int


@dataclass
class Row:
    """One line of RESULTS.md."""

    benchmark: str
    ours: list[float]
    peer_name: str
    peer: list[float]
    target: str
    met: bool
    ratio: float
    unit: str = "s"
    note: str = ""


def run_timed(
    argv: list[str], *, env: dict[str, str] | None = None, stdout=subprocess.DEVNULL
) -> Sample:
    """Run a command; return wall time and the child's peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(elapsed, usage.ru_maxrss, proc.returncode)


def median(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


def fmt(values: list[float], unit: str = "s") -> str:
    """`median (min-max)`."""
    if unit == "MB":
        return f"{median(values):.1f} MB ({min(values):.1f}-{max(values):.1f})"
    return f"{median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def peer_venv(name: str, packages: list[str]) -> Path:
    """A venv of its own for a peer tool, installed once; returns its bin dir."""
    target = PEERS / name
    stamp = target / ".installed"
    if not stamp.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(target)
        subprocess.run(
            [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", *packages],
            check=True,
        )
        stamp.write_text(" ".join(packages))
    return target / "bin"


def interleave(
    ours: list[str], peer: list[str], reps: int, *, env: dict[str, str] | None = None
) -> tuple[list[float], list[float]]:
    """Time both commands `reps` times, alternating, so machine noise hits both alike."""
    ours_s, peer_s = [], []
    for _ in range(reps):
        ours_s.append(run_timed(ours, env=env).seconds)
        peer_s.append(run_timed(peer, env=env).seconds)
    return ours_s, peer_s
