"""Maintenance formulations side by side: CP-SAT vs time-indexed MIP vs time-continuous MIP (CBC).

    .venv/bin/python benchmarks/bench_formulations.py                      # sizes 5..80, horizons 100,400,1440, 60 s
    .venv/bin/python benchmarks/bench_formulations.py --sizes 5,10,20,40 --horizons 100,400 --time-limit 60

The same command as `fleetctl bench formulations` (console/cli/bench_cmds.py);
by default it also writes benchmarks/results/formulations.csv and .png.
Instances: the seed-style fixed-targets instances of
engine/maintenance/formulation_bench.py (deterministic). Each solve runs cold,
single-threaded; wall time includes building the model. The machine this runs
on may be shared: report its load with the figures.
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
