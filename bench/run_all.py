"""Run every bench/bench_*.py, write bench/RESULTS.md, exit 1 if a target is missed."""

from __future__ import annotations

import datetime as dt
import importlib
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import Row, fmt  # noqa: E402


def main(argv: list[str]) -> int:
    """Run the selected (default: all) benchmarks."""
    names = argv or sorted(p.stem for p in HERE.glob("bench_*.py"))
    rows: list[Row] = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name} ...", flush=True)
        for row in module.run():
            rows.append(row)
            print(
                f"  {row.benchmark}: ratio {row.ratio:.2f} (target {row.target}) {'met' if row.met else 'MISSED'}"
            )
    lines = [
        "# Benchmark results",
        "",
        f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()},"
        f" Python {platform.python_version()}, by `make bench`. Each row is one run: hybridops"
        " and its peer interleaved on the same machine; compare ratios, not absolute times.",
        "",
        "| benchmark | hybridops median (min-max) | peer | peer median (min-max) | ratio | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.benchmark} | {fmt(r.ours, r.unit)} | {r.peer_name} | {fmt(r.peer, r.unit)} |"
            f" {r.ratio:.2f}x | {r.target} | {'yes' if r.met else '**no**'} |"
        )
    notes = [f"- {r.benchmark}: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", *notes]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    missed = [r.benchmark for r in rows if not r.met]
    print("all targets met" if not missed else f"missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
