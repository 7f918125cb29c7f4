"""Phase I on one year of hourly slots: fleetctl vs Malloovia 2.3.2 (CBC), side by side.

    .venv/bin/python benchmarks/bench_capacity.py              # fleetctl; Malloovia from the cache if any
    .venv/bin/python benchmarks/bench_capacity.py --malloovia  # (re-)run Malloovia too (minutes)
    .venv/bin/python benchmarks/bench_capacity.py --cases one_app  # a subset

The workloads are generated deterministically (engine.capacity.synthetic). Malloovia
runs in its own venv (tests/malloovia_oracle) on the same problem written as a
Malloovia YAML file; its results are cached in benchmarks/results/ with the date they
were measured. Without a cached or fresh Malloovia run, the table cites the figures
of shared/malloovia-examples/README.md (measured on other instances of the same
shape) and says so. Costs are compared to 1e-6 relative: "same optimum" is checked,
not assumed.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from engine.capacity import synthetic  # noqa: E402
from engine.capacity.levels import aggregate  # noqa: E402
from engine.capacity.highs_runner import shutdown_workers  # noqa: E402
from engine.capacity.phase_i import solve_phase_i  # noqa: E402
from engine.capacity.phase_ii import solve_phase_ii  # noqa: E402
from engine.capacity.writer import write_problems  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
CACHE = RESULTS / "malloovia_phase_i.json"

CASES = {
    "one_app": (synthetic.one_app_year, False, "1 app × 2 classes, integer", 146.0),
    "two_apps": (synthetic.two_apps_year, False, "2 apps × 2 classes, integer", 536.0),
    "three_apps": (synthetic.three_apps_24_classes_year, True, "3 apps × 24 classes, relaxed", 100.0),
}


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_fleetctl(make, relaxed: bool, method: str = "auto") -> dict:
    problem = make()
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    sol = solve_phase_i(problem, relaxed=relaxed, method=method)
    shutdown_workers()  # a reaped worker's CPU time shows in RUSAGE_CHILDREN (its start-up included)
    return {
        "status": sol.status, "cost": sol.cost, "reserved": sol.reserved_counts(), "method": sol.method,
        "wall_seconds": time.perf_counter() - wall0, "cpu_seconds": cpu_seconds() - cpu0,
        "levels": aggregate(problem.workload_matrix()).n_levels,
    }


def run_malloovia_case(name: str, make, relaxed: bool) -> dict:
    from malloovia_oracle import run_malloovia

    RESULTS.mkdir(parents=True, exist_ok=True)
    problem = make()
    path = RESULTS / f"{name}.yaml"
    write_problems(path, [problem])
    res = run_malloovia(path, problem.id, phase="i", relaxed=relaxed, timeout=7200)
    res["measured_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return res


def same_cost(a, b) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(a))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--malloovia", action="store_true", help="run Malloovia now (slow) and refresh the cache")
    ap.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    args = ap.parse_args()

    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    rows = []
    for name in args.cases:
        make, relaxed, label, readme_s = CASES[name]
        ours = run_fleetctl(make, relaxed)
        ours["milp"] = run_fleetctl(make, relaxed, method="milp")  # the general path, for comparison
        print(f"{name}: fleetctl {ours['status']} {ours['cost']} in {ours['wall_seconds']:.2f} s ({ours['method']}); "
              f"MILP/LP {ours['milp']['cost']} in {ours['milp']['wall_seconds']:.2f} s", file=sys.stderr, flush=True)
        if args.malloovia:
            cache[name] = run_malloovia_case(name, make, relaxed)
            RESULTS.mkdir(parents=True, exist_ok=True)
            CACHE.write_text(json.dumps(cache, indent=2))
        rows.append((name, label, readme_s, ours, cache.get(name)))

    print("| case | levels | Malloovia (CBC) wall s | CPU s | fleetctl wall s | CPU s | method | speed-up (wall) "
          "| fleetctl MILP/LP path wall s | CPU s | speed-up (wall) | Malloovia cost | fleetctl cost | same optimum |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, label, readme_s, ours, ref in rows:
        if ref is not None:
            ref_wall, ref_cpu, ref_cost = ref["wall_seconds"], ref["cpu_seconds"], ref["cost"]
            same = "yes" if same_cost(ref_cost, ours["cost"]) and ref["status"] == ours["status"] else "NO"
            where = f"measured {ref.get('measured_at', '?')}"
        else:
            ref_wall, ref_cpu, ref_cost, same = readme_s, None, None, "not checked"
            where = "README figure, other instance"
        speed = ref_wall / ours["wall_seconds"] if ours["wall_seconds"] > 0 else float("inf")
        cpu = "—" if ref_cpu is None else f"{ref_cpu:.1f}"
        cost = "—" if ref_cost is None else f"{ref_cost:.6f}"
        milp = ours["milp"]
        if not same_cost(milp["cost"], ours["cost"]):
            same += f" (MILP/LP path gave {milp['cost']})"
        speed_milp = ref_wall / milp["wall_seconds"] if milp["wall_seconds"] > 0 else float("inf")
        print(f"| {label} | {ours['levels']} | {ref_wall:.1f} ({where}) | {cpu} | {ours['wall_seconds']:.2f} | "
              f"{ours['cpu_seconds']:.2f} | {ours['method']} | {speed:.0f}× | {milp['wall_seconds']:.2f} | {milp['cpu_seconds']:.2f} | {speed_milp:.0f}× "
              f"| {cost} | {ours['cost']:.6f} | {same} |")

    print()
    print("Phase II (STWP = LTWP, every slot of the year), fleetctl only:")
    print("| case | slots | distinct workloads | settled by search | method | wall s | CPU s | cost | status |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.cases:
        make, relaxed, label, _ = CASES[name]
        if relaxed:
            continue  # Phase II needs whole reserved counts
        problem = make()
        first = solve_phase_i(problem)
        for method in ("auto", "milp"):
            wall0, cpu0 = time.perf_counter(), cpu_seconds()
            sol = solve_phase_ii(problem, first, method=method)
            shutdown_workers()
            st = sol.statistics()
            print(f"| {label} | {st['slots']} | {st['distinct_workloads']} | {sol.stats['searched_slots']} | {method} | "
                  f"{time.perf_counter() - wall0:.2f} | {cpu_seconds() - cpu0:.2f} | {sol.cost:.6f} | {sol.status} |")


if __name__ == "__main__":
    main()
