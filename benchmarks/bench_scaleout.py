"""Scale-out benchmark: per-datacenter maintenance sub-solves on `local` worker processes and on a
Dask cluster with the same cores, from 100k to a million VMs.

Per case and executor, in a fresh process: generate the fleet, solve with the heuristic (the time
to the first validated plan, prechecks, bounds and validation included), then with CP-SAT within the
time limit (every plan validated by engine.validate before it is returned), and report the final makespan, bound and gap, the wall
time, the peak RSS of the orchestrator and of the largest worker process (sampled every 0.5 s), and Dask's overhead
relative to local. `--load` also times `fleetctl load` of each fleet into SQLite (and PostgreSQL
with `--pg URL`). Targets of issue 14 (2 cores): 1,000,000 VMs / 100 DCs validated plan within
10 minutes, orchestrator < 4 GB; Dask overhead <= 10% of local at 100k; load of 1M < 60 s.

`--cancel S`: instead of the full CP-SAT solve, cancel it S seconds after its first incumbent plan
and report the cancel latency (request -> the solve returned its kept, validated plan) and what
became of the sub-solves (stopped / not started). Target (issues 12 and 14): within 2 s at 100k.

`--progress`: the time from a report on a Dask worker to the orchestrator's callback (LocalCluster,
numbers and coalesced incumbent schedules); target <= 1 s. (The run's pump then writes it at once.)

First plan, cold and warm: `--first-plan-only --warm` times the heuristic solve twice per process: cold
(the first solve after the cluster started: its workers have not imported the engine yet, the client
connects) and warm (a later solve on the same cluster; `local` starts a fresh pool for every solve, so
its warm is a second cold). The Dask cluster is started before the clock, as a deployed cluster is:
in this process (`--cluster inproc`, a LocalCluster with engine.executors.dask.CLUSTER_CONFIG, or Dask's
defaults with `--dask-config stock`) or as `fleetctl cluster local` (`--cluster cli`). `--phases` prints
where each solve's time went (engine.executors.timeline), side by side; `--rounds N` interleaves the
executors (ABAB) on a shared machine.

    .venv/bin/python benchmarks/bench_scaleout.py [--cases 100k,300k,1m] [--executors local,dask]
        [--time-scale 1.0] [--workers 2] [--cancel S] [--progress] [--load]
        [--pg postgresql://root@127.0.0.1:5432/postgres]
        [--first-plan-only] [--warm] [--cluster inproc|cli] [--dask-config fleetctl|stock] [--rounds N] [--phases]
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
    "10k": (dict(seed=1, vms=10_000, datacenters=4, racks_per_datacenter=10, reboot_fraction=0.25,
                 regional_customers=True, non_migratable_fraction=0.0), 60.0),  # a quick check of the script
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
cancel_after = float(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[6] else None
opts = json.loads(sys.argv[7]) if len(sys.argv) > 7 else {}
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
cpu_seen = {}  # pid -> CPU seconds, last seen (a pool process that has exited keeps its last reading)
def tree_cpu():
    for pid in descendants(os.getpid()):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            cpu_seen[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return dict(cpu_seen)
def sample():  # peak RSS of any worker process (sampled: fork-then-exec would inflate ru_maxrss); CPU readings
    while True:
        for pid in descendants(os.getpid()):
            try:
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith("VmRSS:"):
                        peak_worker[0] = max(peak_worker[0], int(line.split()[1]) // 1024)
            except OSError:
                pass
        tree_cpu()
        time.sleep(0.2)
threading.Thread(target=sample, daemon=True).start()
t = time.perf_counter()
snap = generate_snapshot(FleetSpec(**spec_kw))
out = {"vms": len(snap.vms), "datacenters": len(snap.datacenters), "generate_s": time.perf_counter() - t}
lim = Limits.model_validate(limits_doc)
cluster = cluster_proc = None
spec = "local"
if executor == "dask":
    t = time.perf_counter()
    if opts.get("cluster") == "cli":  # scheduler and workers in processes of their own (`fleetctl cluster local`)
        import subprocess
        cluster_proc = subprocess.Popen([sys.executable, "-m", "console.cli.main", "cluster", "local", "--workers",
                                         str(workers), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True, start_new_session=True)
        spec = cluster_proc.stdout.readline().strip()
    elif opts.get("dask_config") == "stock":  # Dask's default housekeeping (see engine.executors.dask.CLUSTER_CONFIG)
        from distributed import LocalCluster
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
    else:  # a LocalCluster whose scheduler runs in this process (worker processes of its own), as fleetctl starts it
        from engine.executors.dask import local_cluster
        cluster = local_cluster(workers, host="127.0.0.1")
    if cluster is not None:
        spec = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
    out["cluster_start_s"] = time.perf_counter() - t
def first_plan():  # the heuristic solve: time to the first validated plan, and where it went
    before = tree_cpu()
    t, cpu = time.perf_counter(), time.process_time()
    report = solve_maintenance_report(snap, lim, solver="heuristic", workers=workers, executor=spec)
    took, orchestrator = time.perf_counter() - t, time.process_time() - cpu
    after = tree_cpu()  # (every other process of the run: pool processes, Dask workers, nannies, a scheduler)
    others = sum(c - before.get(pid, 0.0) for pid, c in after.items())
    return report, {"s": took, "orchestrator_cpu_s": orchestrator, "other_cpu_s": others,
                    "timeline": report.timeline.to_dict(), "load": os.getloadavg()[0]}
heuristic, out["first"] = first_plan()  # cold: the first solve after the cluster started (workers without the engine)
out["first_plan_s"] = out["first"]["s"]
out["first_makespan"] = heuristic.plan.makespan
if opts.get("warm"):  # warm: a later solve on the same cluster (and in the same orchestrator process)
    again, out["warm"] = first_plan()
    out["warm"]["makespan"] = again.plan.makespan  # (the heuristic's passes are time-budgeted: it may differ)
out["first_plan_warm_s"] = out.get("warm", {}).get("s")
t = time.perf_counter()
if opts.get("first_only"):
    report = heuristic
elif cancel_after is None:
    report = solve_maintenance_report(snap, lim, solver="cp-sat", time_limit_s=time_limit, workers=workers, executor=spec)
else:  # cancel `cancel_after` s after the first incumbent; the latency is until the solve has returned
    from engine.progress import Cancellation
    cancel, plans, box = Cancellation(), [], {}
    def solve():
        box["report"] = solve_maintenance_report(snap, lim, solver="cp-sat", time_limit_s=time_limit, workers=workers,
                                                 executor=spec, cancel=cancel, on_plan=plans.append)
    worker = threading.Thread(target=solve)
    worker.start()
    while not plans and worker.is_alive():
        time.sleep(0.02)
    out["first_incumbent_s"] = time.perf_counter() - t
    time.sleep(cancel_after)
    asked = time.perf_counter()
    cancel.cancel()
    worker.join()
    out["cancel_latency_s"] = time.perf_counter() - asked
    report = box["report"]
    out["sub_solves"] = {state: report.sub_solves.count(state) for state in sorted(set(report.sub_solves))}
out["wall_s"] = time.perf_counter() - t
plan = report.plan
from engine.validate import validate_maintenance
out["valid"] = validate_maintenance(snap, lim, plan) == []
out.update(status=plan.status, makespan=plan.makespan,
           bound=plan.lower_bound, migrations=len(plan.migrations), components=report.components)
if executor == "dask":
    from engine.executors.dask import close_clients
    close_clients()
if cluster is not None:
    cluster.close()
if cluster_proc is not None:
    import signal
    os.killpg(cluster_proc.pid, signal.SIGTERM)
    cluster_proc.wait(30)
out["orchestrator_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["worker_rss_mb"] = float(peak_worker[0]) or None
print("RESULT " + json.dumps(out))
"""


def solve_case(name: str, executor: str, time_scale: float, workers: int, cancel_after: float | None = None,
               opts: dict | None = None) -> dict:
    """`opts`: first_only (no CP-SAT solve), warm (a second first-plan solve on the same cluster),
    cluster ("inproc" LocalCluster, or "cli": `fleetctl cluster local` in processes of its own)."""
    spec, limit = CASES[name]
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec), json.dumps(LIMITS), str(limit * time_scale),
                           str(workers), executor, "" if cancel_after is None else str(cancel_after),
                           json.dumps(opts or {})],
                          cwd=ROOT, capture_output=True, text=True, timeout=3 * 3600)
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


RUN_CHILD = r"""
import json, os, subprocess, sys, tempfile, time
spec_kw, limits_doc, time_limit, workers, executor, cancel_after = (json.loads(sys.argv[1]), json.loads(sys.argv[2]),
    float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
from engine.generate import FleetSpec, generate_snapshot
from console.ops.runs import RunRequest, cancel_run, list_runs, submit_run
from console.store.runs import runs_engine
snap = generate_snapshot(FleetSpec(**spec_kw))
cluster, options = None, {"time_limit_s": time_limit, "workers": workers}
if executor == "dask":
    from engine.executors.dask import local_cluster
    cluster = local_cluster(workers, host="127.0.0.1")
    options["executor"] = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
out = {}
with tempfile.TemporaryDirectory(prefix="fleetctl-bench-") as tmp:
    db = os.path.join(tmp, "runs.db")
    engine = runs_engine(db)
    run_id = submit_run(engine, RunRequest("maintenance", snapshot=snap, limits=limits_doc, options=options),
                        spawn_worker=False).id
    log = open(os.environ.get("FLEETCTL_BENCH_WORKER_LOG", os.devnull), "ab")  # the worker's log, to look into
    worker = subprocess.Popen([sys.executable, "-m", "console.runner.worker", "--db", db], stdout=log, stderr=log)
    def view():  # (list_runs: no plan body, cheap to poll)
        return next(v for v in list_runs(engine, limit=5) if v.id == run_id)
    t = time.perf_counter()
    while view().plan_status is None and time.perf_counter() - t < 3600:
        time.sleep(0.1)
    out["first_stored_plan_s"] = time.perf_counter() - t
    time.sleep(cancel_after)
    asked = time.perf_counter()
    cancel_run(engine, run_id)
    while not view().terminal and time.perf_counter() - asked < 600:
        time.sleep(0.05)
    out["run_cancel_latency_s"] = time.perf_counter() - asked
    v = view()
    out.update(status=v.status, plan_status=v.plan_status, makespan=v.objective, error=v.error)
    print("RESULT " + json.dumps(out), flush=True)
    t = time.perf_counter()
    worker.terminate()
    try:
        worker.wait(120)
        print(f"worker stopped {time.perf_counter() - t:.1f} s after SIGTERM", file=sys.stderr, flush=True)
    except subprocess.TimeoutExpired:
        print("worker still running 120 s after SIGTERM: killed", file=sys.stderr, flush=True)
        worker.kill()
        worker.wait(10)
if cluster is not None:
    cluster.close()
"""


def cancel_run_case(name: str, executor: str, time_scale: float, workers: int, cancel_after: float) -> dict:
    """A stored run on a foreground worker, cancelled `cancel_after` s after its first stored plan: request ->
    terminal run state (what the console, CLI and API read)."""
    spec, limit = CASES[name]
    done = subprocess.run([sys.executable, "-c", RUN_CHILD, json.dumps(spec), json.dumps(LIMITS),
                           str(limit * time_scale), str(workers), executor, str(cancel_after)],
                          cwd=ROOT, capture_output=True, text=True, timeout=3 * 3600)
    for line in done.stderr.splitlines():
        if line.startswith("worker "):
            print(f"<!-- {name} {executor}: {line} -->", flush=True)
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
    if not line:
        return {"error": (done.stderr.strip().splitlines() or ["no result"])[-1]}
    return json.loads(line[0][len("RESULT "):])


def phase_summary(timeline: dict) -> dict:
    """Where a solve's time went (engine.executors.timeline): the orchestrator's phase ends and its jobs'
    first start / last end on the workers (s since the solve started), and sums over the jobs."""
    ph, jobs = timeline["phases"], timeline["jobs"]
    out = {k: ph.get(k) for k in ("executor ready", "prepared", "jobs built")}
    if jobs:
        first = lambda j: j["received"] if j["received"] is not None else j["start"]
        out["all submitted"] = jobs[0]["submitted"]
        out["first job received on a worker"] = min(first(j) for j in jobs)
        out["first job started on a worker"] = min(j["start"] for j in jobs)
        out["last job end on a worker"] = max(j["end"] for j in jobs)
        out["last result arrived"] = max(j["arrived"] for j in jobs)
    out.update({k: ph.get(k) for k in ("sub-solves done", "merged", "validated")})
    if jobs:
        idle = 0.0
        by_worker: dict = {}
        for j in jobs:
            by_worker.setdefault(j["pid"], []).append(j)
        for mine in by_worker.values():
            mine.sort(key=lambda j: j["start"])
            idle += sum(b["start"] - a["end"] for a, b in zip(mine, mine[1:]))
        out["Σ sub-solve s"] = sum(j["end"] - j["start"] for j in jobs)
        out["Σ sub-solve CPU s (its thread)"] = sum(j["thread_cpu_s"] for j in jobs)
        out["Σ worker process CPU s during sub-solves, beyond their threads"] = \
            sum(j["cpu_s"] - j["thread_cpu_s"] for j in jobs)
        # (Dask unpickles a task when it reaches the worker, queued behind the running one: then this includes the wait)
        out["Σ received → start s"] = sum(j["start"] - j["received"] for j in jobs if j["received"] is not None)
        out["Σ result return s (end → arrived)"] = sum(j["arrived"] - j["end"] for j in jobs)
        out["Σ worker gap between its jobs s (end → next start)"] = idle
        firsts = [min(mine, key=lambda j: j["start"]) for mine in by_worker.values()]
        out["each worker's first job: received → start s (max)"] = max(
            (j["start"] - j["received"] for j in firsts if j["received"] is not None), default=None)
        out["workers had the engine at (latest)"] = max(j["engine_imported"] for j in jobs)
        out["workers"] = len(by_worker)
    return out


def print_phases(runs: list[tuple[str, dict]]) -> None:
    """One column per solve (label, its `first` or `warm` record): phase ends and sums, side by side."""
    rows = [phase_summary(r["timeline"]) for _, r in runs]
    keys = list(dict.fromkeys(k for row in rows for k in row))
    print("\n| phase (s since the solve started) | " + " | ".join(label for label, _ in runs) + " |")
    print("|---|" + "---|" * len(runs))
    print("| time to first validated plan | " + " | ".join(fmt(r["s"], 2) for _, r in runs) + " |")
    print("| orchestrator process CPU s | " + " | ".join(fmt(r["orchestrator_cpu_s"], 2) for _, r in runs) + " |")
    print("| CPU s of every other process of the run | " + " | ".join(fmt(r.get("other_cpu_s"), 2) for _, r in runs) + " |")
    for k in keys:
        print(f"| {k} | " + " | ".join(fmt(row.get(k), 2) for row in rows) + " |")
    print("| load (1 min) at the end | " + " | ".join(fmt(r["load"], 1) for _, r in runs) + " |", flush=True)


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


PROGRESS = r"""
import json, statistics, sys, time
from engine.executors.dask import DaskExecutor, close_clients, local_cluster
from engine.executors.probe import stamped_reports
cluster = local_cluster(int(sys.argv[1]), host="127.0.0.1")
lags = {"number": [], "schedule": []}
def on_progress(index, fields):
    kind = "schedule" if "schedule" in fields else "number"
    lags[kind].append(time.time() - (fields["schedule"] if kind == "schedule" else fields["at"]))
runner = DaskExecutor(cluster.scheduler_address)
list(runner.run(stamped_reports, [20] * int(sys.argv[1]), on_progress, None))
close_clients()
cluster.close()
print("RESULT " + json.dumps({k: {"n": len(v), "median_s": statistics.median(v), "max_s": max(v)} for k, v in lags.items()}))
"""


def progress_latency(workers: int) -> None:
    done = subprocess.run([sys.executable, "-c", PROGRESS, str(workers)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
    if not line:
        print(f"progress latency: error: {(done.stderr.strip().splitlines() or ['no result'])[-1]}")
        return
    r = json.loads(line[0][len("RESULT "):])
    print(f"\n# remote progress latency (worker report -> orchestrator callback), LocalCluster of {workers} "
          f"processes, load average {load_average()}")
    print("| report | n | median s | max s |\n|---|---|---|---|")
    for kind, v in r.items():
        print(f"| {kind} | {v['n']} | {v['median_s']:.3f} | {v['max_s']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="100k,300k,1m")
    parser.add_argument("--executors", default="local,dask")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cancel", type=float, default=None, metavar="S",
                        help="cancel the CP-SAT solve S seconds after its first incumbent; report the latency")
    parser.add_argument("--progress", action="store_true", help="only the remote progress latency (Dask)")
    parser.add_argument("--cancel-run", type=float, default=None, metavar="S",
                        help="only: a stored run cancelled S s after its first stored plan (request -> terminal state)")
    parser.add_argument("--load", action="store_true", help="also time `fleetctl load` of each fleet")
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL for --load (a database it may overwrite)")
    parser.add_argument("--first-plan-only", action="store_true", help="only the first-plan (heuristic) solve, no CP-SAT")
    parser.add_argument("--warm", action="store_true",
                        help="also a second first-plan solve in the same process (on Dask: the same, now warm cluster)")
    parser.add_argument("--cluster", choices=("inproc", "cli"), default="inproc",
                        help="dask: a LocalCluster with its scheduler in the orchestrator's process (inproc), or "
                             "`fleetctl cluster local` in processes of its own (cli)")
    parser.add_argument("--dask-config", choices=("fleetctl", "stock"), default="fleetctl",
                        help="inproc cluster: with engine.executors.dask.CLUSTER_CONFIG (as `fleetctl cluster local`), "
                             "or Dask's defaults")
    parser.add_argument("--rounds", type=int, default=1, help="run the executors in turn this many times (ABAB)")
    parser.add_argument("--phases", action="store_true", help="also print where each first-plan solve's time went")
    args = parser.parse_args()
    if args.progress:
        progress_latency(args.workers)
        return
    cases = [c for c in args.cases.split(",") if c]
    executors = [e for e in args.executors.split(",") if e]
    if args.cancel_run is not None:
        print(f"# stored runs cancelled {args.cancel_run:g} s after their first stored plan, {args.workers} workers")
        print("| case | executor | first stored plan s | cancel -> terminal s | status | plan | makespan | error | "
              "load average (1/5/15 min) |\n|---|---|---|---|---|---|---|---|---|")
        for case in cases:
            for executor in executors:
                r = cancel_run_case(case, executor, args.time_scale, args.workers, args.cancel_run)
                print(f"| {case} | {executor} | {fmt(r.get('first_stored_plan_s'))} | "
                      f"{fmt(r.get('run_cancel_latency_s'), 2)} | {r.get('status', '-')} | {r.get('plan_status', '-')} | "
                      f"{fmt(r.get('makespan'))} | {r.get('error', '-')} | {load_average()} |", flush=True)
        return
    print(f"# scale-out, {args.workers} workers, time scale {args.time_scale}, {os.cpu_count()} cores, "
          f"dask cluster: {args.cluster}" + (f" ({args.dask_config} config)" if args.cluster == "inproc" else "")
          + (f", cancel {args.cancel:g} s after the first incumbent" if args.cancel is not None else ""))
    print("| case | executor | VMs | DCs | components | status | limit s | first valid plan s | wall s | "
          "cancel latency s | sub-solves | makespan | bound | gap | orchestrator MB | largest worker MB | "
          "first plan vs local | load average (1/5/15 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    opts = {"first_only": args.first_plan_only, "warm": args.warm, "cluster": args.cluster,
            "dask_config": args.dask_config}
    for case in cases:
        local_wall = None
        phases: list = []
        for round_no, executor in ((k, e) for k in range(1, args.rounds + 1) for e in executors):
            r = solve_case(case, executor, args.time_scale, args.workers, args.cancel, opts)
            if "error" in r:
                print(f"| {case} | {executor} | error: {r['error']} |")
                continue
            gap = (r["makespan"] - r["bound"]) / r["makespan"] if r.get("makespan") and r.get("bound") is not None else None
            if executor == "local":
                local_wall = r["first_plan_s"]
            overhead = (f"{(r['first_plan_s'] / local_wall - 1):+.0%}"
                        if executor != "local" and local_wall and r.get("first_plan_s") else "")
            subs = ", ".join(f"{n} {state}" for state, n in r.get("sub_solves", {}).items()) or "-"
            status = r["status"] + ("" if r.get("valid") else " (INVALID)")
            print(f"| {case} | {executor} | {r['vms']:,} | {r['datacenters']} | {r['components']} | {status} | "
                  f"{CASES[case][1] * args.time_scale:.0f} | "
                  f"{fmt(r.get('first_plan_s'))} | {fmt(r['wall_s'])} | {fmt(r.get('cancel_latency_s'), 2)} | {subs} | "
                  f"{fmt(r['makespan'])} | {fmt(r['bound'])} | "
                  f"{'-' if gap is None else f'{gap:.1%}'} | {fmt(r['orchestrator_rss_mb'], 0)} | "
                  f"{fmt(r.get('worker_rss_mb'), 0)} | {overhead} | {load_average()} |", flush=True)
            if r.get("warm"):
                print(f"| {case} | {executor} (warm) | | | | | | {fmt(r['first_plan_warm_s'])} | | | | | | | | | "
                      f"| {load_average()} |", flush=True)
            phases += [(f"{executor} #{round_no} {kind}", r[key]) for key, kind in (("first", "cold"), ("warm", "warm"))
                       if r.get(key)]
        if args.phases and phases:
            print_phases(phases)
    if args.load:
        print("\n| case | load into SQLite s | load into PostgreSQL s |\n|---|---|---|")
        for case in cases:
            t = load_times(case, args.pg)
            print(f"| {case} | {t.get('sqlite', '-')} | {t.get('postgresql', '-')} |", flush=True)


if __name__ == "__main__":
    main()
