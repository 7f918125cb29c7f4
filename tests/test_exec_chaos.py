"""Chaos: the process recording execution events is killed (SIGKILL) mid-report, again and again.

A recorder reports a whole execution's events one transaction per event, the way automation
tails its log. It is killed at random moments and restarted from the top of its log each time
(it does not know what was recorded). At the end every event is recorded exactly once, the
history replays, and the execution completed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from console.ops.lifecycle import approve, start_execution
from console.store import executions
from console.store.runs import read
from engine.execution.state import Execution
from lifecycle_support import store_with_run

ROOT = Path(__file__).resolve().parents[1]

RECORDER = r"""
import json, sys
from console.ops.lifecycle import report
from console.store.runs import runs_engine
from engine.execution.state import parse_event
db, exec_id, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
engine = runs_engine(db)
for line in open(path):
    report(engine, exec_id, [parse_event(json.loads(line))], actor="recorder")
"""


def whole_execution(plan) -> list[dict]:
    events = []
    for m in plan.migrations:
        events += [{"action": f"migrate:{m.vm}", "state": "started", "at": m.start},
                   {"action": f"migrate:{m.vm}", "state": "done", "at": m.end}]
    for r in plan.reboots:
        events += [{"action": f"reboot:{r.host}", "state": "started", "at": r.start},
                   {"action": f"reboot:{r.host}", "state": "done", "at": r.end}]
    return sorted(events, key=lambda e: (e["at"], e["state"] != "done", e["action"]))


def test_a_recorder_killed_mid_report_loses_no_event_and_applies_none_twice(tmp_path):
    db = tmp_path / "fleet.db"
    engine, run_id, plan = store_with_run(db, vms=200)
    approve(engine, run_id, by="alice")
    exec_id = start_execution(engine, run_id, by="alice")
    events = whole_execution(plan)
    log = tmp_path / "events.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert len(events) >= 60
    rng = random.Random(7)
    kills, deadline = 0, time.monotonic() + 240

    def count() -> int:
        return len(read(engine, lambda c: executions.events(c, exec_id)))

    while True:
        assert time.monotonic() < deadline, "the recorder never finished"
        before = count()
        proc = subprocess.Popen([sys.executable, "-c", RECORDER, str(db), str(exec_id), str(log)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        if kills < 4:  # kill it while it records: once it has added an event, a random moment later
            while proc.poll() is None and count() == before and time.monotonic() < deadline:
                time.sleep(0.01)
            if proc.poll() is None:
                time.sleep(rng.uniform(0.0, 0.15))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
                kills += 1
                continue
        proc.wait(timeout=120)
        assert proc.returncode == 0, proc.stderr.read().decode()
        break
    assert kills == 4
    recorded = read(engine, lambda c: executions.events(c, exec_id))
    assert len(recorded) == len(events)
    assert sorted((e.action, e.state, e.at) for e in recorded) == sorted((e["action"], e["state"], e["at"]) for e in events)
    replayed = Execution(plan, recorded)  # strict replay: a duplicate or a lost start would be refused here
    assert replayed.finished()
    row = read(engine, lambda c: executions.get_execution(c, exec_id))
    assert row.state == "completed"
