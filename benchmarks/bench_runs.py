"""Background runs: enqueue-to-start latency and throughput of tiny runs, with 1 and 2 workers.

A tiny run is the toy fleet (3 VMs) with the maintenance heuristic, so the
numbers measure the runs machinery (claim, fork, store reads and writes,
progress, result), not a solver. Workers are real `python -m console.runner.worker`
processes, started and warmed before measuring.

    .venv/bin/python benchmarks/bench_runs.py [--runs 100] [--latency-samples 20] [--workers 1 2]

Latency: one run at a time on an idle worker, `started_at − created_at` from the
store. Throughput: `--runs` queued at once, first enqueue to last finish.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.store.runs import enqueue_run, get_run, list_runs, live_workers, runs_engine  # noqa: E402


def _toy():
    return (json.loads((ROOT / "fixtures/toy.json").read_text()), json.loads((ROOT / "fixtures/toy-limits.json").read_text()))


def _wait(predicate, timeout=300, every=0.02):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        time.sleep(every)
    return value


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def measure(n_workers: int, n_runs: int, samples: int) -> dict:
    snapshot, limits = _toy()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        engine = runs_engine(db)
        procs = [subprocess.Popen([sys.executable, "-m", "console.runner.worker", "--db", str(db)], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n_workers)]
        try:
            _wait(lambda: len(live_workers(engine)) == n_workers, 60)
            warm = enqueue_run(engine, "maintenance", snapshot=snapshot, limits=limits, options={"solver": "heuristic"})
            _wait(lambda: get_run(engine, warm).terminal)

            latencies, solve_s = [], []
            for _ in range(samples):
                rid = enqueue_run(engine, "maintenance", snapshot=snapshot, limits=limits, options={"solver": "heuristic"})
                view = _wait(lambda: (v := get_run(engine, rid)).terminal and v)
                assert view.status == "succeeded", view.error
                latencies.append(view.started_at - view.created_at)
                solve_s.append(view.finished_at - view.started_at)
                time.sleep(0.25)  # the worker is idle again, as in real use

            ids = [enqueue_run(engine, "maintenance", snapshot=snapshot, limits=limits, options={"solver": "heuristic"})
                   for _ in range(n_runs)]
            first = min(get_run(engine, ids[0]).created_at, time.time())
            done = _wait(lambda: (rs := [r for r in list_runs(engine, limit=n_runs + samples + 5) if r.id in set(ids)])
                         and all(r.terminal for r in rs) and rs, 600, every=0.1)
            assert {r.status for r in done} == {"succeeded"}
            span = max(r.finished_at for r in done) - first
            queue_wait = [r.started_at - r.created_at for r in done]
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
            engine.dispose()
    return {
        "workers": n_workers,
        "latency_median_ms": 1000 * statistics.median(latencies),
        "latency_p95_ms": 1000 * _pct(latencies, 0.95),
        "run_median_ms": 1000 * statistics.median(solve_s),
        "runs": n_runs,
        "span_s": span,
        "runs_per_min": 60 * n_runs / span,
        "queue_wait_max_s": max(queue_wait),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--latency-samples", type=int, default=20)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    rows = [measure(w, args.runs, args.latency_samples) for w in args.workers]
    print("| workers | enqueue→start median | p95 | run (claim→finish) median | tiny runs | wall | runs/min |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['workers']} | {r['latency_median_ms']:.0f} ms | {r['latency_p95_ms']:.0f} ms | "
              f"{r['run_median_ms']:.0f} ms | {r['runs']} | {r['span_s']:.1f} s | {r['runs_per_min']:.0f} |")


if __name__ == "__main__":
    main()
