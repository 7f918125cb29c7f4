"""Nothing waits forever, and a killed solve leaves no solver behind (issue 11, items 2 and 3).

Real processes: a `fleetctl runs watch` on a run nobody will ever execute, and a foreground
worker whose executor is killed while CBC runs (what the worker itself does at a hard
deadline or when a cancel is ignored).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.hardening_support import alive, cmdline, descendants_of
from tests.runs_support import ROOT, start_worker, stop_worker, wait_until

PACKING = ROOT / "fixtures" / "placement" / "two-shape-300.json"


def _enqueue(db: Path, **options) -> int:
    from console.runner import enqueue_background

    return enqueue_background(db, "placement", snapshot=json.loads(PACKING.read_text()), options=options,
                              spawn_worker=False)


def test_watching_a_queued_run_with_no_worker_ends_with_a_message(tmp_path):
    db = tmp_path / "runs.db"
    run_id = _enqueue(db, solver="ffd")
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "console.cli.main", "runs", "watch", str(run_id), "--db", str(db),
                          "--plain"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    assert "no worker is running" in out.stderr and "fleetctl worker" in out.stderr
    assert time.monotonic() - t0 < 60


def test_a_killed_executor_takes_its_cbc_and_work_folder_with_it(tmp_path):
    from console.store.runs import get_run, runs_engine

    db = tmp_path / "runs.db"
    run_id = _enqueue(db, solver="cbc", time_limit_s=120, workers=1)
    worker = start_worker(db)
    try:
        def cbc_running():
            for pid in descendants_of(worker.pid):
                line = cmdline(pid)
                if "fleetctl-cbc-" in line and "model.mps" in line:
                    return pid, line.split("fleetctl-cbc-")[1].split("-")[0]
            return None

        cbc, executor = wait_until(cbc_running, timeout=120, what="CBC to start under the worker")
        assert int(executor) != worker.pid
        os.kill(int(executor), signal.SIGKILL)  # as the worker does at a hard deadline or after the cancel grace
        wait_until(lambda: not alive(cbc), timeout=10, what="CBC to die with its executor")
        prefix = f"fleetctl-cbc-{executor}-"
        wait_until(lambda: not [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(prefix)],
                   timeout=10, what="the worker to sweep the dead executor's CBC folder")
        engine = runs_engine(db)
        view = wait_until(lambda: (v := get_run(engine, run_id)) is not None and v.terminal and v, timeout=30,
                          what="the run to be marked failed")
        assert view.status == "failed" and "SIGKILL" in (view.error or "")
    finally:
        stop_worker(worker)
