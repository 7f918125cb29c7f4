"""Scale-out benchmark: per-datacenter maintenance sub-solves on `local` worker processes and on a
Dask cluster with the same cores, from 100k to a million VMs.

Per case and executor, in a fresh process: generate the fleet, solve with the heuristic (the time
to the first validated plan, prechecks, bounds and validation included), then with CP-SAT within the
time limit (every plan validated by engine.validate before it is returned), and report the final makespan, bound and gap, the wall
time, the peak RSS of the orchestrator and of the largest worker process (sampled every 0.5 s), and Dask's overhead
relative to local. `--load` also times `fleetctl load` of each fleet into SQLite (and PostgreSQL
with `--pg URL`). Targets of issue 14 (2 cores): 1,000,000 VMs / 100 DCs validated plan within
10 minutes, orchestrator < 4 GB; Dask overhead <= 10% of local at 100k; load of 1M < 60 s.

    .venv/bin/python benchmarks/bench_scaleout.py [--cases 100k,300k,1m] [--executors local,dask]
        [--time-scale 1.0] [--workers 2] [--load] [--pg postgresql://root@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_maintenance import LIMITS  # noqa: E402  (the same limits as the maintenance benchmark)

# name -> (FleetSpec kwargs, CP-SAT time limit in seconds).
# Regional customers: a customer limit of 1 on a customer spread over several datacenters would merge
# them into one component (decompose.py), and the fleet would not scale out at all. Every VM migratable:
# at 1M VMs, with 2% non-migratable, some customer always had more VMs down on one rebooting host than
# its limit (a true, precheck-proven infeasibility).
CASES = {
    "100k": (dict(seed=1, vms=100_000, datacenters=10, racks_per_datacenter=10, reboot_fraction=0.25,
                  regional_customers=True, non_migratable_fraction=0.0), 120.0),
    "300k": (dict(seed=1, vms=300_000, datacenters=30, racks_per_datacenter=10, reboot_fraction=0.25,
                  regional_customers=True, non_migratable_fraction=0.0), 240.0),
    "1m": (dict(seed=1, vms=1_000_000, datacenters=100, racks_per_datacenter=10, reboot_fraction=0.25,
                regional_customers=True, non_migratable_fraction=0.0), 420.0),
}

CHILD = r"""
import json, resource, sys, time
spec_kw, limits_doc, time_limit, workers, executor = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
from engine.generate import FleetSpec, generate_snapshot
from engine.model import Limits
from engine.maintenance.solve import solve_maintenance_report
import os, threading
peak_worker = [0]
def descendants(root):
    kids, children = [], {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    todo = [root]
    while todo:
        for kid in children.get(todo.pop(), []):
            kids.append(kid)
            todo.append(kid)
    return kids
def sample():  # peak RSS of any worker process (sampled: fork-then-exec would inflate ru_maxrss)
    while True:
        for pid in descendants(os.getpid()):
            try:
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith("VmRSS:"):
                        peak_worker[0] = max(peak_worker[0], int(line.split()[1]) // 1024)
            except OSError:
                pass
        time.sleep(0.5)
threading.Thread(target=sample, daemon=True).start()
t = time.perf_counter()
snap = generate_snapshot(FleetSpec(**spec_kw))
out = {"vms": len(snap.vms), "datacenters": len(snap.datacenters), "generate_s": time.perf_counter() - t}
lim = Limits.model_validate(limits_doc)
cluster = None
spec = "local"
if executor == "dask":
    from distributed import LocalCluster
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    out["cluster_start_s"] = time.perf_counter() - t
    spec = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
t = time.perf_counter()
heuristic = solve_maintenance_report(snap, lim, solver="heuristic", workers=workers, executor=spec)
out["first_plan_s"] = time.perf_counter() - t
out["first_makespan"] = heuristic.plan.makespan
t = time.perf_counter()
report = solve_maintenance_report(snap, lim, solver="cp-sat", time_limit_s=time_limit, workers=workers, executor=spec)
out["wall_s"] = time.perf_counter() - t
plan = report.plan
out.update(status=plan.status, makespan=plan.makespan,
           bound=plan.lower_bound, migrations=len(plan.migrations), components=report.components)
if cluster is not None:
    cluster.close()
out["orchestrator_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["worker_rss_mb"] = float(peak_worker[0]) or None
print("RESULT " + json.dumps(out))
"""


def solve_case(name: str, executor: str, time_scale: float, workers: int) -> dict:
    spec, limit = CASES[name]
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec), json.dumps(LIMITS), str(limit * time_scale),
                           str(workers), executor], cwd=ROOT, capture_output=True, text=True, timeout=3 * 3600)
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
    if not line:
        return {"error": (done.stderr.strip().splitlines() or ["no result"])[-1]}
    return json.loads(line[0][len("RESULT "):])


def load_times(name: str, pg_url: str | None) -> dict:
    """`fleetctl load` of the generated fleet into a fresh SQLite file (and PostgreSQL database)."""
    spec, _ = CASES[name]
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="fleetctl-bench-") as tmp:
        fleet = Path(tmp) / "fleet.json"
        args = ["generate", "--seed", str(spec["seed"]), "--datacenters", str(spec["datacenters"]),
                "--vms", str(spec["vms"]), "--racks", str(spec["racks_per_datacenter"]),
                "--reboot-fraction", str(spec["reboot_fraction"]), "--regional-customers",
                "--non-migratable-fraction", str(spec["non_migratable_fraction"]), "--out", str(fleet)]
        subprocess.run([sys.executable, "-m", "console.cli.main", *args], cwd=ROOT, check=True, capture_output=True,
                       timeout=3600)
        targets = {"sqlite": str(Path(tmp) / "fleet.db")}
        if pg_url:
            targets["postgresql"] = pg_url
        for backend, db in targets.items():
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "console.cli.main", "load", str(fleet), "--db", db, "--replace"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=3600)
            took = time.perf_counter() - t
            out[backend] = f"{took:.1f}" if done.returncode == 0 else "error: " + done.stderr.strip()[-80:]
    return out


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="100k,300k,1m")
    parser.add_argument("--executors", default="local,dask")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--load", action="store_true", help="also time `fleetctl load` of each fleet")
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL for --load (a database it may overwrite)")
    args = parser.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    executors = [e for e in args.executors.split(",") if e]
    print(f"# scale-out, {args.workers} workers, time scale {args.time_scale}, {os.cpu_count()} cores")
    print("| case | executor | VMs | DCs | components | status | limit s | first valid plan s | wall s | makespan | bound | gap | "
          "orchestrator MB | largest worker MB | first plan vs local |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for case in cases:
        local_wall = None
        for executor in executors:
            r = solve_case(case, executor, args.time_scale, args.workers)
            if "error" in r:
                print(f"| {case} | {executor} | error: {r['error']} |")
                continue
            gap = (r["makespan"] - r["bound"]) / r["makespan"] if r.get("makespan") and r.get("bound") is not None else None
            if executor == "local":
                local_wall = r["first_plan_s"]
            overhead = (f"{(r['first_plan_s'] / local_wall - 1):+.0%}"
                        if executor != "local" and local_wall and r.get("first_plan_s") else "")
            print(f"| {case} | {executor} | {r['vms']:,} | {r['datacenters']} | {r['components']} | {r['status']} | "
                  f"{CASES[case][1] * args.time_scale:.0f} | "
                  f"{fmt(r.get('first_plan_s'))} | {fmt(r['wall_s'])} | {fmt(r['makespan'])} | {fmt(r['bound'])} | "
                  f"{'-' if gap is None else f'{gap:.1%}'} | {fmt(r['orchestrator_rss_mb'], 0)} | "
                  f"{fmt(r.get('worker_rss_mb'), 0)} | {overhead} |", flush=True)
    if args.load:
        print("\n| case | load into SQLite s | load into PostgreSQL s |\n|---|---|---|")
        for case in cases:
            t = load_times(case, args.pg)
            print(f"| {case} | {t.get('sqlite', '-')} | {t.get('postgresql', '-')} |", flush=True)


if __name__ == "__main__":
    main()
