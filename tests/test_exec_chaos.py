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
    engine, run_id, plan = store_with_run(db)
    approve(engine, run_id, by="alice")
    exec_id = start_execution(engine, run_id, by="alice")
    events = whole_execution(plan)
    log = tmp_path / "events.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(7)
    kills, deadline = 0, time.monotonic() + 240
    seen_counts = []
    while True:
        assert time.monotonic() < deadline, "the recorder never finished"
        proc = subprocess.Popen([sys.executable, "-c", RECORDER, str(db), str(exec_id), str(log)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            proc.wait(timeout=rng.uniform(1.5, 4.0) if kills < 6 else 120)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            kills += 1
            seen_counts.append(len(read(engine, lambda c: executions.events(c, exec_id))))
            continue
        assert proc.returncode == 0, proc.stderr.read().decode()
        break
    assert kills >= 3
    assert len(set(seen_counts)) > 1 or seen_counts[-1] < len(events)  # the kills landed while recording
    recorded = read(engine, lambda c: executions.events(c, exec_id))
    assert len(recorded) == len(events)
    assert sorted((e.action, e.state, e.at) for e in recorded) == sorted((e["action"], e["state"], e["at"]) for e in events)
    replayed = Execution(plan, recorded)  # strict replay: a duplicate or a lost start would be refused here
    assert replayed.finished()
    row = read(engine, lambda c: executions.get_execution(c, exec_id))
    assert row.state == "completed"
