"""Maintenance benchmark on generated fleets: time to a first valid plan, final makespan,
lower bound, gap and peak memory.

Each case runs in a fresh process (peak memory = that process's max RSS plus its
largest worker's). Per case: the heuristic alone (`--solver heuristic`, with
prechecks, bounds and validation: "first valid plan"), then CP-SAT with the
case's time limit. Targets of issue 3 (2 cores):

    small    400 VMs / ~40 hosts          optimal or <= 2% over the bound within 10 s
    rolling  8,000 VMs / 400 hosts, every host reboots: valid plan within 10 s, <= 10% over the bound within 120 s
    huge     100,000 VMs / 10 datacenters  valid plan within 5 min, peak memory < 4 GB

    .venv/bin/python benchmarks/bench_maintenance.py [--cases small,rolling,huge] [--time-scale 0.25] [--workers 2]

`--time-scale` shrinks every time limit for a quick run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LIMITS = {
    "concurrency": {"per_source_host": 2, "per_target_host": 2, "per_rack": 6, "per_datacenter": 40,
                    "max_hosts_down_per_rack": 1},
    "conflict": {"per_customer_fraction": 0.1},
}

# name -> (FleetSpec kwargs, CP-SAT time limit in seconds)
CASES = {
    "small": (dict(seed=0, vms=400, racks_per_datacenter=4, reboot_fraction=0.25), 10.0),
    "small-b": (dict(seed=3, vms=400, racks_per_datacenter=4, reboot_fraction=0.25), 10.0),
    "small-c": (dict(seed=5, vms=400, racks_per_datacenter=4, reboot_fraction=0.25), 10.0),
    "small-d": (dict(seed=7, vms=400, racks_per_datacenter=4, reboot_fraction=0.25), 10.0),
    # the rolling case: 8,000 VMs on 400 hosts (20 racks × 20, two empty per rack), every host
    # rebooting; hosts twice the usual shapes so the VMs fit at ~70% memory
    "rolling": (dict(seed=1, vms=8000, racks_per_datacenter=20, hosts_per_rack=20, host_scale=2.0,
                     reboot_fraction=1.0, empty_hosts_per_rack=2), 120.0),
    "huge": (dict(seed=1, vms=100_000, datacenters=10, racks_per_datacenter=10, reboot_fraction=0.25), 300.0),
}

CHILD = r"""
import json, resource, sys, time
spec_kw, limits_doc, time_limit, workers = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
from engine.generate import FleetSpec, generate_snapshot
from engine.model import Limits
from engine.maintenance.solve import solve_maintenance_report
snap = generate_snapshot(FleetSpec(**spec_kw))
lim = Limits.model_validate(limits_doc)
out = {"vms": len(snap.vms), "hosts": len(snap.hosts),
       "rebooting": sum(1 for h in snap.hosts if h.state == "needs_reboot")}
t = time.perf_counter()
first = solve_maintenance_report(snap, lim, solver="heuristic", workers=workers)
out["first_plan_s"] = time.perf_counter() - t
out["first_makespan"] = first.plan.makespan
out["migrations"] = len(first.plan.migrations)
t = time.perf_counter()
best_at = {}
def seen(ev):
    if ev.objective is not None:
        best_at.setdefault(ev.objective, ev.elapsed_s)
rep = solve_maintenance_report(snap, lim, solver="cp-sat", time_limit_s=time_limit, workers=workers, on_progress=seen)
out["wall_s"] = time.perf_counter() - t
p = rep.plan
out.update(status=p.status, makespan=p.makespan, lower_bound=p.lower_bound, components=rep.components,
           best_found_s=best_at.get(p.makespan), notes=rep.notes[:3])
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
out["peak_mb"] = (own + kids) / 1024
print(json.dumps(out))
"""


def run_case(name: str, time_scale: float, workers: int) -> dict:
    spec, limit = CASES[name]
    limit = max(1.0, limit * time_scale)
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec), json.dumps(LIMITS), str(limit), str(workers)],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"case": name, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["case"], out["time_limit_s"] = name, limit
    return out


def fmt(row: dict) -> list[str]:
    if "error" in row:
        return [row["case"], "error: " + row["error"]]
    gap = "-"
    if row.get("makespan") and row.get("lower_bound") is not None:
        gap = f"{(row['makespan'] - row['lower_bound']) / row['lower_bound']:.1%}"
    best = row.get("best_found_s")
    return [row["case"], str(row["vms"]), f"{row['hosts']} ({row['rebooting']} reboot)", str(row["migrations"]),
            f"{row['first_plan_s']:.1f}", str(row["first_makespan"]), f"{row['time_limit_s']:g}",
            str(row["makespan"]), "-" if best is None else f"{best:.1f}", str(row["lower_bound"]), gap,
            row["status"], f"{row['wall_s']:.1f}", f"{row['peak_mb']:.0f}"]


HEADER = ["case", "VMs", "hosts", "migrations", "first plan s", "first makespan", "limit s", "final makespan",
          "found at s", "lower bound", "over LB", "status", "wall s", "peak MB"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="small,small-b,small-c,small-d,rolling,huge")
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args()
    rows = []
    print(" | ".join(HEADER))
    print(" | ".join("---" for _ in HEADER))
    for name in args.cases.split(","):
        row = run_case(name.strip(), args.time_scale, args.workers)
        rows.append(row)
        print(" | ".join(fmt(row)), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
