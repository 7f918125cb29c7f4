"""The Schedule screen's lifecycle in a real terminal (tmux): approve in the console, start and report the
execution from another shell (the CLI), watch the screen follow without a key, replan, approve the replan.

Keys go through a pty and the terminal driver as an operator's do. Skipped (with a message) only when
tmux is missing outside CI; under CI=true a missing tmux fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.ci_support import unavailable

if shutil.which("tmux") is None:
    unavailable("tmux is not installed: the real-terminal console test needs it (apt-get install tmux)", module=True)

from tests.schedule_exec_support import DEMO_EVENTS, demo_store  # noqa: E402
from tests.test_console_tmux import Tmux  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FLEETCTL = str(Path(sys.executable).with_name("fleetctl"))


@pytest.fixture
def console_on_demo(tmp_path):
    db = tmp_path / "demo.db"
    engine, run_id = demo_store(db)
    engine.dispose()
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "TERM": "xterm-256color", "TMUX": "", "LOGNAME": "alice"}
    name = f"fleetctl-schedule-{uuid.uuid4().hex[:8]}"
    tmux = Tmux(name, env)
    tmux.run("-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "150", "-y", "44", "-c", str(ROOT),
             # a tmux server already running gives new sessions its own environment: name ours explicitly
             f"env LOGNAME=alice XDG_CONFIG_HOME={tmp_path / 'config'} XDG_DATA_HOME={tmp_path / 'data'} "
             f"{FLEETCTL} console --db {db}")
    try:
        yield tmux, db, run_id, env
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=20, env=env)


def fleetctl(env: dict, *args) -> str:
    done = subprocess.run([FLEETCTL, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_approve_execute_watch_and_replan_in_a_real_terminal(console_on_demo):
    tmux, db, run_id, env = console_on_demo
    tmux.wait_for("demo: 40", timeout=60)
    tmux.keys("4")
    tmux.wait_for("plan draft — a: approve")
    tmux.keys("a")
    tmux.wait_for(f"Approve run {run_id}'s plan as alice?")
    tmux.keys("y")
    tmux.wait_for("plan approved · approved by alice")
    # another shell starts the execution 20 minutes ago and reports the README's demo events
    at = datetime.fromtimestamp(time.time() - 20 * 60 - 1, tz=timezone.utc).isoformat()
    fleetctl(env, "exec", "start", run_id, "--db", db, "--at", at)
    tmux.wait_for("execution 1 executing at minute 20", timeout=5)  # no key pressed: the screen follows
    fleetctl(env, "exec", "report", 1, "--events", DEMO_EVENTS, "--db", db)
    shown = tmux.wait_for("2/96 done", timeout=5)
    assert "1 failed" in shown and "▼0:20" in shown and "now (minute 20" in shown
    tmux.keys("r")
    tmux.wait_for("Replan execution 1 from minute 20?")
    tmux.keys("y")
    tmux.wait_for(f"replan of run {run_id} (execution 1)", timeout=90)
    tmux.keys("a")
    tmux.wait_for("Execution 1 then continues on it")
    tmux.keys("y")
    tmux.wait_for(f"run {run_id} superseded", timeout=10)
    history = fleetctl(env, "plan", "history", run_id, "--db", db)
    assert "superseded" in history
