"""Maintenance formulations side by side: CP-SAT vs time-indexed MIP vs time-continuous MIP (CBC).

    .venv/bin/python benchmarks/bench_formulations.py                      # sizes 5..80, horizons 100,400,1440, 60 s
    .venv/bin/python benchmarks/bench_formulations.py --sizes 5,10,20,40 --horizons 100,400 --time-limit 60

The same command as `fleetctl bench formulations` (console/cli/bench_cmds.py);
by default it also writes benchmarks/results/formulations.csv and .png.
Instances: the seed-style fixed-targets instances of
engine/maintenance/formulation_bench.py (deterministic). Each solve runs cold,
single-threaded; wall time includes building the model. The machine this runs
on may be shared: report its load with the figures.

Measured 2026-11-22 (2 cores shared with other sessions, load average 3–9, so
wall times are inflated; CPU seconds in brackets), time limit 60 s:

    N   H     cp-sat-fixed          mip-time-indexed                 mip-continuous
    5   100   opt 27  0.01 s        opt 27  1.1 s (0.5)              opt 27  0.1 s
    10  400   opt 24  0.03 s        opt 24  19.8 s (3.5)             opt 24  4.6 s (0.9)
    20  100   opt 30  0.06 s        opt 30  27.2 s (6.7)             no solution at the limit
    20  400   opt 30  0.04 s        34, bound 26 (stopped)           33, bound 25 (stopped)
    40  100   opt 40  0.06 s        55, bound 31 (stopped)           no solution at the limit
    40  400   opt 40  0.03 s        46, bound 26 (stopped)           43, bound 26 (stopped)
    80  400   opt 37  0.06 s        398, bound 31 (stopped)          61, bound 29 (stopped)
    80  1440  opt 37  0.06 s        143k binaries, killed at 63 s    no solution at the limit
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.cli.main import app  # noqa: E402


def main(argv: list[str]) -> None:
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    args = list(argv)
    if "--csv" not in args:
        args += ["--csv", str(results / "formulations.csv")]
    if "--plot" not in args:
        args += ["--plot", str(results / "formulations.png")]
    app(["bench", "formulations", *args], prog_name="bench_formulations.py")


if __name__ == "__main__":
    main(sys.argv[1:])
