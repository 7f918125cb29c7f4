"""Stress on loopback, bounded in count and time:

- 200 concurrent submissions against PostgreSQL with 4 worker processes; one worker is kill -9'ed
  and the API process is killed and restarted mid-way: 0 lost runs, 0 runs executed twice, every
  run terminal.
- 1,000 POSTs with idempotency keys, 20% of them cut by a client-side read timeout and retried:
  exactly one run per key (SQLite and PostgreSQL).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.service_support import ROOT, Server, auth, database, make_token, toy_snapshot, wait_until

pytestmark = pytest.mark.slow
TERMINAL = {"succeeded", "infeasible", "failed", "cancelled"}


CLIENT = httpx.Client(timeout=15, limits=httpx.Limits(max_connections=64))  # shared: a Client per call costs 30 ms


def _post_until_accepted(base, token: str, key: str, body: dict, deadline: float) -> int:
    """POST with an Idempotency-Key until a 202, retrying through restarts, 409s and timeouts (bounded)."""
    while True:
        try:
            r = CLIENT.post(base() + "/v1/runs", json=body, headers={**auth(token), "Idempotency-Key": key})
            if r.status_code == 202:
                return int(r.json()["id"])
            if r.status_code not in (409, 503):
                raise AssertionError(f"{key}: unexpected {r.status_code}: {r.text}")
        except (httpx.TransportError, httpx.TimeoutException):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{key}: not accepted before the deadline")
        time.sleep(0.05)


def _start_worker(db: str, log: Path) -> subprocess.Popen:
    out = open(log, "ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "console.runner.worker", "--concurrency", "2"], cwd=ROOT,
                                stdout=out, stderr=out,
                                env={**os.environ, "FLEETCTL_DB": db}, stdin=subprocess.DEVNULL)
    finally:
        out.close()


@pytest.mark.timeout(900)
def test_200_submissions_with_a_worker_killed_and_the_api_restarted(tmp_path):
    with database("postgresql", tmp_path) as db:
        token = make_token(db, "stress", "admin")
        server = Server(db, extra=("--queue-quota", "1000"), log_dir=tmp_path).start()
        logs = [tmp_path / f"worker-{i}.log" for i in range(4)]
        workers = [_start_worker(db, log) for log in logs]
        current = {"server": server}
        try:
            httpx.post(server.url + "/v1/snapshots", json=toy_snapshot(), headers=auth(token),
                       timeout=30).raise_for_status()
            body = {"kind": "maintenance", "options": {"time_limit_s": 10, "workers": 1}}
            accepted: dict[str, int] = {}
            lock = threading.Lock()
            deadline = time.monotonic() + 400

            def submit(i: int) -> None:
                key = f"stress-{i}"
                run_id = _post_until_accepted(lambda: current["server"].url, token, key, body, deadline)
                with lock:
                    accepted[key] = run_id

            with ThreadPoolExecutor(24) as pool:
                futures = [pool.submit(submit, i) for i in range(200)]
                wait_until(lambda: len(accepted) >= 60, 60, "60 accepted submissions")
                victim = workers[0]
                wait_until(lambda: "started in process" in logs[0].read_text(errors="replace"), 60,
                           "the first worker to start a run")
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
                server.kill()  # the API dies mid-flight; clients retry with their keys
                # A loaded 2-core machine (8 executors, 24 retrying clients) can take a minute to restart it.
                current["server"] = Server(db, extra=("--queue-quota", "1000"), log_dir=tmp_path,
                                           port=server.port).start(timeout=180)
                for f in futures:
                    f.result(timeout=max(1.0, deadline - time.monotonic()))
            assert len(accepted) == 200 and len(set(accepted.values())) == 200  # one run per submission

            from console.ops.store import open_store
            from console.store.runs import list_runs, recover_dead_runs

            engine = open_store(db)
            try:
                def all_terminal():
                    recover_dead_runs(engine)
                    runs = list_runs(engine, limit=1000)
                    return runs if all(r.status in TERMINAL for r in runs) else None

                runs = wait_until(all_terminal, 400, "every run to end", every=0.5)
            finally:
                engine.dispose()
            assert {r.id for r in runs} == set(accepted.values())  # 0 lost, none extra
            started: dict[int, int] = {}
            for log in logs:
                for m in re.finditer(r"run (\d+) \(\w+\) started in process", log.read_text(errors="replace")):
                    started[int(m.group(1))] = started.get(int(m.group(1)), 0) + 1
            assert all(n == 1 for n in started.values()), {k: n for k, n in started.items() if n > 1}
            by_status = {s: sum(r.status == s for r in runs) for s in TERMINAL}
            assert by_status["succeeded"] >= 190, by_status  # only runs on the killed worker may have failed
            assert all("worker died" in (r.error or "") for r in runs if r.status == "failed")
        finally:
            current["server"].stop()
            for w in workers:
                if w.poll() is None:
                    w.send_signal(signal.SIGTERM)
            for w in workers:
                try:
                    w.wait(20)
                except subprocess.TimeoutExpired:
                    w.kill()
                    w.wait(10)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_1000_idempotent_posts_with_client_timeouts_make_one_run_per_key(backend, tmp_path):
    keys = 400
    with database(backend, tmp_path) as db:
        token = make_token(db, "idem", "submit")
        with Server(db, extra=("--queue-quota", "5000"), log_dir=tmp_path) as server:  # no worker: runs stay queued
            httpx.post(server.url + "/v1/snapshots", json=toy_snapshot(), headers=auth(token),
                       timeout=30).raise_for_status()
            body = {"kind": "maintenance"}
            seen: dict[str, set] = {f"key-{k}": set() for k in range(keys)}
            lock = threading.Lock()
            timed_out = [0]
            deadline = time.monotonic() + 150

            def post(i: int) -> None:
                key = f"key-{i % keys}"
                short = i % 5 == 0  # 20%: the client gives up before the answer
                timeout = httpx.Timeout(10, read=0.002) if short else httpx.Timeout(15)
                try:
                    r = CLIENT.post(server.url + "/v1/runs", json=body, timeout=timeout,
                                   headers={**auth(token), "Idempotency-Key": key})
                except httpx.TimeoutException:
                    with lock:
                        timed_out[0] += 1
                    return
                if r.status_code == 202:
                    with lock:
                        seen[key].add(r.json()["id"])
                else:
                    assert r.status_code == 409, r.text  # the first request with this key is still in flight

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(post, range(1000)))
            assert timed_out[0] >= 100  # the timeouts really happened
            final = {key: _post_until_accepted(lambda: server.url, token, key, body, deadline) for key in seen}
            for key, ids in seen.items():
                assert ids <= {final[key]}, (key, ids, final[key])
            assert len(set(final.values())) == keys
            listed = httpx.get(server.url + "/metrics", headers=auth(make_token(db, "reader", "read"))).text
            queued = re.search(r'fleetctl_runs\{kind="maintenance",status="queued"\} (\d+)', listed)
            assert queued and int(queued.group(1)) == keys  # exactly one run per key in the store
            assert "Traceback" not in server.log()
