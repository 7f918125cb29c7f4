"""Phase I on one year of hourly slots: fleetctl's exact search, its MILP path, and Malloovia 2.3.2
(CBC), side by side.

    .venv/bin/python benchmarks/bench_capacity.py              # fleetctl only (search and MILP path)
    .venv/bin/python benchmarks/bench_capacity.py --malloovia  # and Malloovia, run now (minutes)
    .venv/bin/python benchmarks/bench_capacity.py --cases three_apps_int --gap-at 10 60

The workloads are generated deterministically (engine.capacity.synthetic). A speed-up is
printed only for two runs measured side by side in this run on the same instance: fleetctl's
default path against its MILP path, and, with --malloovia, Malloovia (its own venv,
tests/malloovia_oracle, on the same problem written as a Malloovia YAML file) against
fleetctl. A Malloovia result cached by an earlier --malloovia run (benchmarks/results/) is
shown with its date for reference, never divided by today's figures. The MILP path runs
with each --gap-at time limit and reports its gap (cost − bound) / cost there. Costs are
compared to 1e-6 relative: "same optimum" is checked, not assumed.
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
    "one_app": (synthetic.one_app_year, False, "1 app × 2 classes, integer"),
    "two_apps": (synthetic.two_apps_year, False, "2 apps × 2 classes, integer"),
    "three_apps": (synthetic.three_apps_24_classes_year, True, "3 apps × 24 classes, relaxed"),
    "three_apps_int": (synthetic.three_apps_24_classes_year, False, "3 apps × 24 classes, integer"),
}


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_fleetctl(make, relaxed: bool, method: str = "auto", time_limit=None) -> dict:
    problem = make()
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    sol = solve_phase_i(problem, relaxed=relaxed, method=method, time_limit=time_limit)
    shutdown_workers()  # a reaped worker's CPU time shows in RUSAGE_CHILDREN (its start-up included)
    gap = None if sol.cost is None or sol.bound is None else (sol.cost - sol.bound) / max(1e-9, abs(sol.cost))
    return {
        "status": sol.status, "cost": sol.cost, "bound": sol.bound, "gap": gap, "reserved": sol.reserved_counts(),
        "method": sol.method, "wall_seconds": time.perf_counter() - wall0, "cpu_seconds": cpu_seconds() - cpu0,
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


def _fmt(x, spec: str = ".2f") -> str:
    return "—" if x is None else format(x, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--malloovia", action="store_true", help="run Malloovia now, side by side (slow), and cache it")
    ap.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    ap.add_argument("--gap-at", nargs="*", type=float, default=[10.0, 60.0],
                    help="time limits (s) for the MILP path; its gap is reported at each")
    ap.add_argument("--no-phase-ii", action="store_true", help="skip the Phase II table")
    args = ap.parse_args()

    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    rows = []
    for name in args.cases:
        make, relaxed, label = CASES[name]
        ours = run_fleetctl(make, relaxed)
        milp = [run_fleetctl(make, relaxed, method="milp", time_limit=limit) for limit in args.gap_at]
        print(f"{name}: fleetctl {ours['status']} {ours['cost']} in {ours['wall_seconds']:.2f} s ({ours['method']}); "
              + "; ".join(f"MILP {m['status']} {m['cost']} gap {_fmt(m['gap'], '.3%')} at {limit:g} s"
                          for limit, m in zip(args.gap_at, milp)), file=sys.stderr, flush=True)
        fresh = None
        if args.malloovia:
            fresh = cache[name] = run_malloovia_case(name, make, relaxed)
            RESULTS.mkdir(parents=True, exist_ok=True)
            CACHE.write_text(json.dumps(cache, indent=2))
        rows.append((name, label, ours, milp, fresh, cache.get(name)))

    limits = " | ".join(f"MILP path at {limit:g} s: status, gap, wall s" for limit in args.gap_at)
    print(f"| case | levels | fleetctl status | method | wall s | CPU s | {limits} | speed-up vs the MILP path |")
    print("|---|---|---|---|---|---|" + "---|" * len(args.gap_at) + "---|")
    for name, label, ours, milp, _, _ in rows:
        cells = " | ".join(f"{m['status']}, {_fmt(m['gap'], '.3%')}, {m['wall_seconds']:.1f}" for m in milp)
        done = [m for m in milp if m["status"] == "optimal"]  # a ratio only against a finished MILP solve
        speed = f"{done[0]['wall_seconds'] / ours['wall_seconds']:.0f}×" if done and ours["status"] == "optimal" else \
            "— (MILP not optimal within its limit)"
        print(f"| {label} | {ours['levels']} | {ours['status']} | {ours['method']} | {ours['wall_seconds']:.2f} | "
              f"{ours['cpu_seconds']:.2f} | {cells} | {speed} |")

    print()
    print("| case | Malloovia (CBC) wall s | CPU s | measured | fleetctl wall s | speed-up (wall) | Malloovia cost "
          "| fleetctl cost | same optimum |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, label, ours, milp, fresh, cached in rows:
        ref = fresh or cached
        if ref is None:
            print(f"| {label} | — | — | not run (--malloovia) | {ours['wall_seconds']:.2f} | — | — | {_fmt(ours['cost'], '.6f')} | not checked |")
            continue
        same = "yes" if same_cost(ref["cost"], ours["cost"]) and ref["status"] == ours["status"] else "NO"
        speed = f"{ref['wall_seconds'] / ours['wall_seconds']:.0f}×" if fresh else "— (cached, not side by side)"
        when = "in this run" if fresh else f"cached {ref.get('measured_at', '?')}"
        print(f"| {label} | {ref['wall_seconds']:.1f} | {_fmt(ref.get('cpu_seconds'), '.1f')} | {when} | "
              f"{ours['wall_seconds']:.2f} | {speed} | {_fmt(ref['cost'], '.6f')} | {_fmt(ours['cost'], '.6f')} | {same} |")

    if args.no_phase_ii:
        return
    print()
    print("Phase II (STWP = LTWP, every slot of the year), fleetctl only:")
    print("| case | slots | distinct workloads | settled by search | method | wall s | CPU s | cost | status |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.cases:
        make, relaxed, label = CASES[name]
        if relaxed or name == "three_apps_int":
            continue  # Phase II needs whole reserved counts; 8,760 slots of 24 classes take minutes per method
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
