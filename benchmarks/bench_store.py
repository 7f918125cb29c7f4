"""Store benchmark, SQLite vs PostgreSQL: saving and reading a 100k-VM fleet, and run claims.

    .venv/bin/python benchmarks/bench_store.py [--vms 100000] [--runs 400] [--processes 4] [--pg URL]

load: one save_snapshot (the fleet tables, the kept version document, the history row) of an
already validated fleet, then current_snapshot (read back) and snapshot_summary (SQL aggregates).
claims: RUNS queued runs, PROCESSES forked processes calling claim_next_run until the queue is
empty; claims/s = RUNS / wall time from the start signal to the last claim. PostgreSQL: a
throwaway database on 127.0.0.1:5432 (trust auth), dropped afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORK = multiprocessing.get_context("fork")


def bench_load(url: str, snapshot) -> dict:
    from console.store.db import open_engine
    from console.store.fleet_store import current_snapshot, save_snapshot, snapshot_summary

    engine = open_engine(url)
    t0 = time.perf_counter()
    save_snapshot(engine, snapshot, check=False)
    t1 = time.perf_counter()
    back = current_snapshot(engine)
    t2 = time.perf_counter()
    summary = snapshot_summary(engine)
    t3 = time.perf_counter()
    from console.store.runs import enqueue_run

    enqueue_run(engine, "maintenance")  # the current version, by reference (id + hash)
    t4 = time.perf_counter()
    enqueue_run(engine, "maintenance", snapshot=back)  # inline: serialised and hashed at submit
    t5 = time.perf_counter()
    engine.dispose()
    assert len(back.vms) == len(snapshot.vms) == summary.vms
    return {"save_s": t1 - t0, "read_s": t2 - t1, "summary_s": t3 - t2, "submit_ref_s": t4 - t3,
            "submit_inline_s": t5 - t4}


def _claimer(url: str, pid: int, start, out) -> None:
    from console.store.runs import claim_next_run, runs_engine

    engine = runs_engine(url)
    start.wait(60)
    n, last = 0, time.perf_counter()
    while claim_next_run(engine, pid) is not None:
        n += 1
        last = time.perf_counter()
    out.put((n, last))


def bench_claims(url: str, runs: int, processes: int) -> dict:
    from console.store.runs import enqueue_run, runs_engine

    engine = runs_engine(url)
    snap = {"version": 1, "name": "b", "datacenters": [], "racks": [], "hosts": [], "customers": [], "vms": []}
    for _ in range(runs):
        enqueue_run(engine, "maintenance", snapshot=snap)
    engine.dispose()
    start, out = FORK.Event(), FORK.Queue()
    procs = [FORK.Process(target=_claimer, args=(url, 10_000 + i, start, out)) for i in range(processes)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every process import and connect
    t0 = time.perf_counter()
    start.set()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(10)
    claimed = sum(n for n, _ in results)
    wall = max(last for _, last in results) - t0
    return {"claimed": claimed, "wall_s": wall, "claims_per_s": claimed / wall}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--pg", default="postgresql://root@127.0.0.1:5432", help="server URL (no database)")
    args = parser.parse_args()
    from engine.generate import FleetSpec, generate_snapshot
    from tests.pg_support import create_database, drop_database

    snapshot = generate_snapshot(FleetSpec(seed=1, datacenters=10, racks_per_datacenter=10, vms=args.vms,
                                           reboot_fraction=0.25))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", lambda name: f"sqlite:///{tmp}/{name}.db", lambda url: None),
                   ("postgresql", lambda name: create_database(args.pg), drop_database)]
        for backend, make, drop in targets:
            load_url, claim_url = make("load"), make("claims")
            try:
                load = bench_load(load_url, snapshot)
                claims = bench_claims(claim_url, args.runs, args.processes)
            finally:
                drop(load_url)
                drop(claim_url)
            rows.append((backend, load, claims))
    print(f"{args.vms} VMs ({len(snapshot.hosts)} hosts); {args.runs} runs claimed by {args.processes} processes")
    print(f"{'backend':<11} {'save s':>7} {'read s':>7} {'summary s':>9} {'submit ref s':>12} "
          f"{'submit inline s':>15} {'claims/s':>9} {'claimed':>8}")
    for backend, load, claims in rows:
        print(f"{backend:<11} {load['save_s']:>7.2f} {load['read_s']:>7.2f} {load['summary_s']:>9.2f} "
              f"{load['submit_ref_s']:>12.3f} {load['submit_inline_s']:>15.2f} {claims['claims_per_s']:>9.0f} "
              f"{claims['claimed']:>8}")


if __name__ == "__main__":
    main()
