"""Placement quality and speed: exact-fit instances (known optimum) and 3-D two-shape fleets.

    .venv/bin/python benchmarks/bench_placement.py            # the full table (~6 min on 2 cores)
    .venv/bin/python benchmarks/bench_placement.py --quick    # small cases only (~1 min)
    .venv/bin/python benchmarks/bench_placement.py --vbp FILE.vbp --solver auto --time-limit 30

Targets (issue 5, 2 cores): the optimum of exact-fit instances up to 60 VMs within 10 s;
1,000 VMs × 200 hosts (3-D) within 5% of the lower bound in 60 s (FFD alone is ~10-12% over).
Every plan is validated by the solver entry point (PlanRejected otherwise). "gap" is
(hosts − lower bound) / lower bound; "opt" is the constructed optimum where one is known.
"value" is hosts in use (min_hosts, rebalance) or the peak utilisation (balance); the
rebalance case places 700 VMs round-robin first and allows 400 moves. Solver "model"
is the bare CP-SAT assignment model (FFD hint, no bin completion), the baseline
NOTES.md describes; "cp-sat" runs bin completion first. "VMs" counts all VMs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.documents import parse_snapshot  # noqa: E402
from engine.model import Limits  # noqa: E402
from engine.placement.generate import exact_fit, random_fleet  # noqa: E402
from engine.placement.solve import solve_placement  # noqa: E402


def cases(quick: bool):
    """(name, snapshot document, limits, known optimum or None, [(solver, time limit s)])."""
    plain = Limits()
    balance = (Limits.model_validate({"placement": {"objective": "balance"}}), None)
    rebalance = (plain, 400)  # objective rebalance, --max-moves 400
    spread = Limits.model_validate({"placement": {"max_vms_per_customer_per_host": 2}})
    exact = [(10, 1), (20, 3)] if quick else [(10, 1), (15, 2), (20, 3), (20, 4)]
    for bins, seed in exact:
        yield (f"exact-fit {bins}x3 s{seed}", exact_fit(bins, 3, seed), plain, bins,
               [("ffd", 10), ("cbc", 10), ("cp-sat", 10)])
    for bins, seed in ([(20, 1)] if quick else [(10, 0), (20, 1), (20, 2)]):
        yield (f"triplets {bins}x3 s{seed}", exact_fit(bins, 3, seed, tight=True, customers=30), plain, bins,
               [("ffd", 10), ("cbc", 10), ("model", 10), ("cp-sat", 10)])
        yield (f"triplets {bins}x3 s{seed} aff<=2", exact_fit(bins, 3, seed, tight=True, customers=30), spread, bins,
               [("cp-sat", 10)])
    yield ("two-shape 300x80", random_fleet(300, 80, seed=1), plain, None, [("ffd", 10), ("lns", 10), ("auto", 10)])
    if not quick:
        for seed in (0, 1):
            yield (f"two-shape 1000x200 s{seed}", random_fleet(1000, 200, seed=seed), plain, None,
                   [("ffd", 60), ("lns", 60)])
        yield ("two-shape 1000x200 balance", random_fleet(1000, 200, seed=0), balance, None,
               [("bfd", 60), ("lns", 60)])
        yield ("700 placed+300 rebal<=400", _placed(random_fleet(1000, 200, seed=0), 700), rebalance, None,
               [("bfd", 60), ("lns", 60)])


def _placed(doc: dict, n: int) -> dict:
    """The first n VMs already running, round-robin over the hosts."""
    for k, vm in enumerate(doc["vms"][:n]):
        vm["host"] = doc["hosts"][k % len(doc["hosts"])]["id"]
    return doc


def plain_model(snap, limits, limit):
    """The CP-SAT assignment model alone (no bin completion), hinted with FFD: the NOTES.md baseline."""
    from engine.model import PlacementPlan, SolverInfo
    from engine.placement.bounds import lower_bound
    from engine.placement.cpsat import AssignmentModel
    from engine.placement.heuristics import first_fit_decreasing
    from engine.placement.problem import build_problem
    from engine.placement.solution import objective_value

    p = build_problem(snap, limits)
    model = AssignmentModel(p)
    model.hint(first_fit_decreasing(p))
    res = model.solve(limit, workers=2)
    value = objective_value(p, res.assign) if res.assign else None
    return PlacementPlan(status=res.status, value=value, lower_bound=lower_bound(p), solver=SolverInfo(name="model"))


def run(name, doc, optimum, solver, limit, limits) -> dict:
    snap = parse_snapshot(doc, name)
    objective, max_moves = None, None
    if isinstance(limits, tuple):  # (limits, max_moves): a balance or rebalance case
        limits, max_moves = limits
        objective = "rebalance" if max_moves is not None else "balance"
    started = time.monotonic()
    if solver == "model":
        plan = plain_model(snap, limits, limit)
    else:
        plan = solve_placement(snap, limits, solver=solver, objective=objective, time_limit_s=limit, workers=2,
                               max_moves=max_moves)
    wall = time.monotonic() - started
    gap = None
    if plan.value is not None and plan.lower_bound:
        gap = 100.0 * (plan.value - plan.lower_bound) / plan.lower_bound
    pending = len(snap.vms)
    return {"instance": name, "vms": pending, "hosts": len(snap.hosts), "solver": solver, "limit": limit,
            "used": plan.solver.name, "wall": wall, "value": plan.value, "bound": plan.lower_bound, "gap": gap,
            "opt": optimum, "status": plan.status, "moves": len(plan.moves)}


def print_table(rows) -> None:
    head = f"{'instance':32} {'VMs':>5} {'hosts':>5} {'solver':>7} {'limit':>5} {'wall s':>7} {'value':>10} " \
           f"{'bound':>6} {'gap %':>6} {'opt':>4} status"
    print(head)
    print("-" * len(head))
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:g}"
        bound = "-" if r["bound"] is None else f"{r['bound']:g}"
        gap = "-" if r["gap"] is None else f"{r['gap']:.1f}"
        opt = "-" if r["opt"] is None else str(r["opt"])
        print(f"{r['instance']:32} {r['vms']:>5} {r['hosts']:>5} {r['solver']:>7} {r['limit']:>5} {r['wall']:>7.2f} "
              f"{value:>10} {bound:>6} {gap:>6} {opt:>4} {r['status']}" + (f" ({r['used']})" if r["used"] != r["solver"] else "")
              + (f" {r['moves']} moves" if r["moves"] else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small cases only")
    ap.add_argument("--vbp", type=Path, help="run one VPSolver .vbp file instead")
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--time-limit", type=float, default=30)
    args = ap.parse_args()
    limits = Limits()
    rows = []
    if args.vbp:
        from engine.placement.vbp import snapshot_from_vbp

        doc = snapshot_from_vbp(args.vbp)
        rows.append(run(args.vbp.name, doc, None, args.solver, args.time_limit, limits))
    else:
        for name, doc, case_limits, optimum, runs in cases(args.quick):
            for solver, limit in runs:
                rows.append(run(name, doc, optimum, solver, limit, case_limits))
                print(f"  done: {name} {solver} {rows[-1]['value']} in {rows[-1]['wall']:.1f}s", file=sys.stderr)
    print_table(rows)


if __name__ == "__main__":
    main()
