"""Placement quality and speed: exact-fit instances (known optimum) and 3-D two-shape fleets.

    .venv/bin/python benchmarks/bench_placement.py            # the full table (~6 min on 2 cores)
    .venv/bin/python benchmarks/bench_placement.py --quick    # small cases only (~1 min)
    .venv/bin/python benchmarks/bench_placement.py --vbp FILE.vbp --solver auto --time-limit 30
    .venv/bin/python benchmarks/bench_placement.py --published --sizes 60,120 --limits 10,60 --out rows.jsonl

Targets (issue 5, 2 cores): the optimum of exact-fit instances up to 60 VMs within 10 s;
1,000 VMs × 200 hosts (3-D) within 5% of the lower bound in 60 s (FFD alone is ~10-12% over).
Every plan of every row is checked by engine.validate_placement here (the run stops on a violation). "gap" is
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
from engine.validate_placement import validate_placement  # noqa: E402


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
    """The CP-SAT assignment model alone (no bin completion), hinted with FFD: the NOTES.md baseline.
    Returns a whole plan (assignments too), so that the validator checks it like every other row."""
    from engine.model import Assignment, PlacementPlan, SolverInfo
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
    assignments = [Assignment(vm=p.items[i].vm, host=p.receivers[r].host) for i, r in enumerate(res.assign or [])]
    bound = lower_bound(p) if value is None else min(lower_bound(p), value)
    return PlacementPlan(status=res.status if value is None else "feasible", value=value, lower_bound=bound,
                         assignments=assignments, solver=SolverInfo(name="model"))


def checked(snap, limits, plan, max_moves=None):
    """Every row's plan goes through the independent validator (the benchmark stops on a violation)."""
    problems = validate_placement(snap, limits, plan, max_moves=max_moves)
    if problems:
        raise SystemExit(f"INVALID plan from {plan.solver.name} on {snap.name}: " + "; ".join(map(str, problems[:5])))
    return plan


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
    checked(snap, limits, plan, max_moves)
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


# ------------------------------------------------------------------ published-style 3-D set


def published(classes, sizes, seeds, limits_s, out=None) -> list[dict]:
    """Every instance with FFD and auto at each time limit; rows as dicts (also appended to `out`, JSON lines)."""
    import json

    import ortools.linear_solver.pywraplp  # noqa: F401  (cold imports take ~2 s: keep them out of the first row)
    import ortools.sat.python.cp_model  # noqa: F401

    from engine.placement.published import instance

    rows = []
    for cls in classes:
        for n in sizes:
            for seed in seeds:
                doc, known = instance(cls, n, seed)
                for solver, limit in [("ffd", 0)] + [("auto", t) for t in limits_s]:
                    row = run(doc["name"], doc, known, solver, limit or 1, Limits())
                    row.update(cls=cls, n=n, seed=seed, limit=limit)
                    rows.append(row)
                    print(f"  done: {doc['name']} {solver} {limit}s: {row['value']} (bound {row['bound']}) "
                          f"in {row['wall']:.1f}s", file=sys.stderr, flush=True)
                    if out is not None:
                        with open(out, "a", encoding="utf-8") as fh:
                            fh.write(json.dumps(row) + "\n")
    return rows


def published_table(rows) -> None:
    """Per class, size, solver and limit: instances, at the optimum, mean / max excess, bound = optimum.
    The optimum is the constructed one (triplets) or a proven one: the best value any row found on the
    instance equals the best bound any row proved. Unproven instances are counted and measured against
    that best bound (so their excess is an upper estimate)."""
    by_instance: dict[str, list[dict]] = {}
    for r in rows:
        by_instance.setdefault(r["instance"], []).append(r)
    reference, proven = {}, {}
    for name, rs in by_instance.items():
        best_value = min(r["value"] for r in rs if r["value"] is not None)
        best_bound = max(r["bound"] for r in rs if r["bound"] is not None)
        known = rs[0]["opt"]
        reference[name] = known if known is not None else best_bound
        proven[name] = known is not None or best_value == best_bound
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["cls"], r["n"], r["solver"], r["limit"]), []).append(r)
    head = f"{'class':12} {'n':>4} {'solver':>6} {'limit':>5} {'inst':>4} {'at opt':>6} {'mean +':>6} {'max +':>5} " \
           f"{'bound=opt':>9} {'unproven':>8} {'wall s':>6}"
    print(head)
    print("-" * len(head))
    for (cls, n, solver, limit), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][3])):
        excess = [r["value"] - reference[r["instance"]] for r in rs]
        at_opt = sum(1 for r, e in zip(rs, excess) if e == 0 and proven[r["instance"]])
        bound_ok = sum(1 for r in rs if proven[r["instance"]] and r["bound"] == reference[r["instance"]])
        unproven = sum(1 for r in rs if not proven[r["instance"]])
        wall = sum(r["wall"] for r in rs) / len(rs)
        print(f"{cls:12} {n:>4} {solver:>6} {limit or '-':>5} {len(rs):>4} {at_opt:>6} "
              f"{sum(excess) / len(excess):>6.2f} {max(excess):>5g} {bound_ok if solver != 'ffd' else '-':>9} "
              f"{unproven:>8} {wall:>6.1f}")
    missing = sorted(name for name, ok in proven.items() if not ok)
    if missing:
        print(f"not proven optimal by any row ({len(missing)}): " + ", ".join(missing))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small cases only")
    ap.add_argument("--vbp", type=Path, help="run one VPSolver .vbp file instead")
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--time-limit", type=float, default=30)
    ap.add_argument("--published", action="store_true", help="the published-style 3-D classes (FFD and auto)")
    ap.add_argument("--classes", default=None, help="comma-separated classes (default: all)")
    ap.add_argument("--sizes", default="60,120,250,500", help="comma-separated VM counts")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds")
    ap.add_argument("--limits", default="10,60", help="comma-separated time limits for auto, seconds")
    ap.add_argument("--out", type=Path, help="append every published row to this JSON-lines file")
    ap.add_argument("--table", type=Path, help="print the published table from a JSON-lines file and exit")
    args = ap.parse_args()
    limits = Limits()
    rows = []
    if args.table:
        import json

        published_table([json.loads(line) for line in args.table.read_text().splitlines() if line.strip()])
        return
    if args.published:
        from engine.placement.published import CLASSES

        classes = args.classes.split(",") if args.classes else list(CLASSES)
        ints = lambda text: [int(x) for x in text.split(",")]  # noqa: E731
        published_table(published(classes, ints(args.sizes), ints(args.seeds),
                                  [float(x) for x in args.limits.split(",")], args.out))
        return
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
