"""Chaos: the process recording execution events is killed (SIGKILL) mid-report, again and again.

A recorder reports a whole execution's events one transaction per event, the way automation
tails its log, and is restarted from the top of its log after each kill (it does not know what
was recorded). The kills happen at defined points, not after a random sleep: the recorder is
told to stop at a log line — inside that event's transaction (inserted, not committed) or just
after its commit — and says so in a flag file; the test then checks through the store that
exactly the events before that point are durable and kills it with SIGKILL. (A kill after a
random sleep once found the recorder already finished: 3 kills instead of 4.) At the end every
event is recorded exactly once, the history replays, and the execution completed.
"""

from __future__ import annotations

import json
import os
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

# argv: db, execution id, log, then optionally the log line to stop at, "in_tx" | "committed", the flag file.
RECORDER = r"""
import json, sys, time
from console.ops.lifecycle import report
from console.store import executions
from console.store.runs import runs_engine
from engine.execution.state import parse_event
db, exec_id, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stop_line, where, flag = (int(sys.argv[4]), sys.argv[5], sys.argv[6]) if len(sys.argv) > 4 else (-1, "", "")
engine = runs_engine(db)

def stop():
    open(flag, "w").close()
    time.sleep(600)  # the test kills us here; a missed kill is caught by its deadline
    sys.exit(3)

record = executions.record_events
line = -1

def record_then_stop(conn, *args, **kwargs):  # inside report()'s transaction, after the insert
    rec = record(conn, *args, **kwargs)
    if line == stop_line and where == "in_tx":
        stop()
    return rec

executions.record_events = record_then_stop
for line, text in enumerate(open(path)):
    report(engine, exec_id, [parse_event(json.loads(text))], actor="recorder")
    if line == stop_line and where == "committed":
        stop()
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
    n = len(events)
    assert n >= 60
    # Four kills, later in the log each time, alternating inside a transaction and between two.
    kills = [(n // 5, "in_tx"), (2 * n // 5, "committed"), (3 * n // 5, "in_tx"), (4 * n // 5 + 1, "committed")]

    def count() -> int:
        return len(read(engine, lambda c: executions.events(c, exec_id)))

    def recorder(*extra) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", RECORDER, str(db), str(exec_id), str(log), *map(str, extra)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)

    for i, (line, where) in enumerate(kills):
        flag = tmp_path / f"stopped-{i}"
        proc = recorder(line, where, flag)
        try:
            deadline = time.monotonic() + 120
            while not flag.exists():
                assert proc.poll() is None, f"the recorder exited before line {line}: {proc.stderr.read().decode()}"
                assert time.monotonic() < deadline, f"the recorder never reached line {line}"
                time.sleep(0.01)
            # durable so far: the lines before `line`, and `line` itself once committed
            assert count() == (line if where == "in_tx" else line + 1)
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        # the event whose transaction was cut is not half there; a committed one stays
        assert count() == (line if where == "in_tx" else line + 1)
    proc = recorder()
    try:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    recorded = read(engine, lambda c: executions.events(c, exec_id))
    assert len(recorded) == n
    assert sorted((e.action, e.state, e.at) for e in recorded) == sorted((e["action"], e["state"], e["at"]) for e in events)
    replayed = Execution(plan, recorded)  # strict replay: a duplicate or a lost start would be refused here
    assert replayed.finished()
    row = read(engine, lambda c: executions.get_execution(c, exec_id))
    assert row.state == "completed"
