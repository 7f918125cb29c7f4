"""Helpers for the runs tests: tiny fleets, foreground worker processes, waiting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


def toy_snapshot() -> dict:
    return json.loads((FIXTURES / "toy.json").read_text())


def toy_limits() -> dict:
    return json.loads((FIXTURES / "toy-limits.json").read_text())


def demo_snapshot() -> dict:
    return json.loads((FIXTURES / "demo.json").read_text())


def demo_limits() -> dict:
    return json.loads((FIXTURES / "demo-limits.json").read_text())


def start_worker(db: Path, concurrency: int = 1) -> subprocess.Popen:
    """A foreground worker (`python -m console.runner.worker`) as a child of the test."""
    log = open(db.with_name(db.name + f".worker-{time.monotonic_ns()}.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "console.runner.worker", "--db", str(db),
                             "--concurrency", str(concurrency)], cwd=ROOT, stdout=log, stderr=log)
    log.close()
    return proc


def stop_worker(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(predicate: Callable[[], object], timeout: float = 30, what: str = "condition", every: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def kill_spawned_workers(engine, timeout: float = 20) -> None:
    """Stop detached workers a test caused `ensure_worker` to spawn (by their recorded pids), and wait
    until they are gone (they are not our children: their exit is seen by polling the pid)."""
    from console.store.runs import live_workers

    pids = []
    for w in live_workers(engine):
        if w.detached and w.pid != os.getpid():
            try:
                os.kill(w.pid, signal.SIGTERM)
                pids.append(w.pid)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
