"""`hybridops --help` startup against `aws --version` (awscli from PyPI): target <= 0.5x."""

from __future__ import annotations

from bench.common import BIN, Row, median, peer_venv, run_timed

REPS = 15


def run() -> list[Row]:
    """Measure both, interleaved, in one run."""
    aws = peer_venv("awscli", ["awscli"]) / "aws"
    ours_cmd = [str(BIN / "hybridops"), "--help"]
    peer_cmd = [str(aws), "--version"]
    for _ in range(2):  # warm the page cache for both
        run_timed(ours_cmd)
        run_timed(peer_cmd)
    ours, peer = [], []
    for _ in range(REPS):
        ours.append(run_timed(ours_cmd).seconds)
        peer.append(run_timed(peer_cmd).seconds)
    ratio = median(ours) / median(peer)
    return [
        Row(
            "`hybridops --help` startup",
            ours,
            "`aws --version`",
            peer,
            "<= 0.5x",
            ratio <= 0.5,
            ratio,
        )
    ]
