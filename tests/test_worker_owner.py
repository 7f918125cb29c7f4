"""A worker started with FLEETCTL_WORKER_OWNER_PID stops once that process is gone (the suite sets it
to pytest's pid, so a detached worker a test started never idles on after the run)."""

from __future__ import annotations

import os
import subprocess
import sys

from console.store.runs import live_workers, runs_engine
from tests.runs_support import ROOT, wait_until


def test_a_worker_stops_when_its_owner_process_is_gone(tmp_path):
    db = tmp_path / "runs.db"
    engine = runs_engine(db)
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "console.runner.worker", "--db", str(db), "--idle-exit", "300"],
                              cwd=ROOT, stdout=log, stderr=log,
                              env={**os.environ, "FLEETCTL_WORKER_OWNER_PID": str(owner.pid)})
    log.close()
    try:
        wait_until(lambda: any(w.pid == worker.pid for w in live_workers(engine)), timeout=60,
                   what="the worker registered")
        assert worker.poll() is None, "the owner is alive: the worker keeps serving"
        owner.kill()
        owner.wait(10)
        assert worker.wait(30) == 0
        assert "is gone: stopping" in (tmp_path / "worker.log").read_text()
    finally:
        for proc in (owner, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        engine.dispose()
