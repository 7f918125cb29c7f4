"""The HTTP service on SQLite and PostgreSQL: latencies a client sees and run throughput.

    .venv/bin/python benchmarks/bench_service.py [--backends sqlite,postgresql] [--posts 200] [--gets 300]

Prints one markdown table. Targets (issue 13): POST /v1/runs → 202 p99 ≤ 100 ms; incumbent → SSE
client p99 ≤ 250 ms; GET /v1/plans/latest p99 ≤ 20 ms; cancel → terminal status ≤ 1 s; tiny
runs per minute with 2 and 4 workers (toy fleet, one search worker each).

"event → SSE" is measured from the moment an event is stored (its `at`) to the client reading
it; the executor stores a run's events every 0.3 s (console.runner.executor.PUMP_INTERVAL_S),
so a solver's incumbent can be up to that much older still. Everything runs on 127.0.0.1;
PostgreSQL is 127.0.0.1:5432 with trust auth (a throwaway database, dropped at the end).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.service_support import Server, auth, make_token, pg_database, toy_snapshot  # noqa: E402

TERMINAL = {"succeeded", "infeasible", "failed", "cancelled"}
TINY = {"kind": "maintenance", "options": {"time_limit_s": 10, "workers": 1}}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def ms(x: float) -> str:
    return f"{1000 * x:.0f} ms"


def wait_terminal(c: httpx.Client, run_ids: list[int], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    pending = set(run_ids)
    while pending:
        for run_id in list(pending):
            if c.get(f"/v1/runs/{run_id}").json()["status"] in TERMINAL:
                pending.discard(run_id)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} run(s) not finished after {timeout} s")
        time.sleep(0.05)
    return time.monotonic()


def bigger_snapshot() -> dict:
    from engine.generate import FleetSpec, generate_snapshot

    return generate_snapshot(FleetSpec(seed=5, vms=400)).model_dump(mode="json", by_alias=True)


def sse_latencies(c: httpx.Client, run_id: int, timeout: float) -> list[float]:
    out, event, data = [], None, None
    with c.stream("GET", f"/v1/runs/{run_id}/events", timeout=httpx.Timeout(10, read=timeout)) as r:
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and event:
                if event == "progress":
                    out.append(time.time() - data["at_unix"])
                if event == "end":
                    break
                event = None
    return out


def throughput(db: str, token: str, workers: int, runs: int, tmp: Path) -> float:
    with Server(db, workers=workers, extra=("--queue-quota", "100000"), log_dir=tmp) as server:
        with httpx.Client(base_url=server.url, headers=auth(token), timeout=30) as c:
            ready_by = time.monotonic() + 60
            while c.get("/readyz").status_code != 200 and time.monotonic() < ready_by:
                time.sleep(0.2)
            time.sleep(1.0)  # let every worker register and warm its imports
            started = time.monotonic()
            ids = [c.post("/v1/runs", json=TINY).json()["id"] for _ in range(runs)]
            ended = wait_terminal(c, ids, 600)
    return runs / ((ended - started) / 60)


def bench_backend(db: str, args, tmp: Path) -> dict:
    token = make_token(db, "bench", "admin")
    row: dict = {}
    with Server(db, workers=2, extra=("--queue-quota", "100000"), log_dir=tmp) as server:
        with httpx.Client(base_url=server.url, headers=auth(token), timeout=30) as c:
            c.post("/v1/snapshots", json=toy_snapshot()).raise_for_status()
            sched = c.post("/v1/schedules", json={"kind": "maintenance", "every": "1h", **{"options": TINY["options"]}})
            sched.raise_for_status()
            posts = []
            ids = []
            for _ in range(args.posts):
                t = time.perf_counter()
                r = c.post("/v1/runs", json=TINY)
                posts.append(time.perf_counter() - t)
                ids.append(r.json()["id"])
            row["POST→202 p50"], row["POST→202 p99"] = ms(pct(posts, 50)), ms(pct(posts, 99))
            if args.only_posts:  # the POST figures alone (same load: the 2 workers run the queued runs meanwhile)
                return row
            wait_terminal(c, ids, 900)
            deadline = time.monotonic() + 120
            while c.get("/v1/plans/latest", params={"schedule": sched.json()["id"]}).status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError("no published plan")
                time.sleep(0.2)
            gets = []
            for _ in range(args.gets):
                t = time.perf_counter()
                c.get("/v1/plans/latest", params={"schedule": sched.json()["id"]}).raise_for_status()
                gets.append(time.perf_counter() - t)
            row["plans/latest p99"] = ms(pct(gets, 99))
            big = bigger_snapshot()
            lat = []
            for _ in range(2):
                run = c.post("/v1/runs", json={"kind": "maintenance", "snapshot": big,
                                               "options": {"time_limit_s": 5, "workers": 1}}).json()
                lat += sse_latencies(c, run["id"], 120)
            row["event→SSE p99"] = ms(pct(lat, 99)) + f" (n={len(lat)})" if lat else "-"
            cancels = []
            for _ in range(3):
                run = c.post("/v1/runs", json={"kind": "maintenance", "snapshot": big,
                                               "options": {"time_limit_s": 60, "workers": 1}}).json()
                deadline = time.monotonic() + 60
                while c.get(f"/v1/runs/{run['id']}").json()["progress_count"] == 0:
                    if time.monotonic() > deadline:
                        raise TimeoutError("the long run never reported progress")
                    time.sleep(0.05)
                t = time.monotonic()
                c.post(f"/v1/runs/{run['id']}/cancel")
                cancels.append(wait_terminal(c, [run["id"]], 60) - t)
            row["cancel→terminal max"] = f"{max(cancels):.2f} s"
    for workers in (2, 4):
        row[f"tiny runs/min ({workers} workers)"] = f"{throughput(db, token, workers, args.runs, tmp):.0f}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--gets", type=int, default=300)
    parser.add_argument("--runs", type=int, default=60, help="tiny runs per throughput measurement")
    parser.add_argument("--only-posts", action="store_true", help="measure POST /v1/runs latency only")
    parser.add_argument("--repeat", type=int, default=1, help="measure each backend this many times (rows per try)")
    args = parser.parse_args()
    rows = {}
    import os

    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        tmp = Path(tmp)
        for attempt in range(args.repeat):  # backends alternate, so both see the same (shared) machine
            for backend in args.backends.split(","):
                label = backend if args.repeat == 1 else f"{backend} #{attempt + 1}"
                print(f"measuring {label} …", file=sys.stderr, flush=True)
                if backend == "postgresql":
                    with pg_database() as url:
                        rows[label] = bench_backend(url, args, tmp)
                else:
                    rows[label] = bench_backend(str(tmp / f"bench{attempt}.db"), args, tmp)
    load = os.getloadavg()
    print(f"(load average at the start: {load_start[0]:.1f} / {load_start[1]:.1f} / {load_start[2]:.1f})")
    metrics = list(next(iter(rows.values())))
    print(f"| metric | {' | '.join(rows)} |")
    print(f"|---|{'---|' * len(rows)}")
    for m in metrics:
        print(f"| {m} | {' | '.join(rows[b][m] for b in rows)} |")
    print(f"\n(load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
