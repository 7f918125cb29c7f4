"""A store with the demo fleet, its plan and an execution in a known state, for the Schedule screen tests.

The plan is solved once per session (CP-SAT, one worker: the same optimal plan every time); the
lifecycle is built through the CLI (`plan approve`, `exec start --at`, `exec report`) as an operator
would. Minute 0 is put 30 minutes (and a second) in the past, so the execution's clock reads minute
30 for the next minute: the pictures do not depend on when the test runs.
"""

from __future__ import annotations

import functools
import json
import time
from datetime import datetime, timezone
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo.json"
DEMO_LIMITS = ROOT / "fixtures" / "demo-limits.json"
DEMO_EVENTS = ROOT / "fixtures" / "demo-events.jsonl"
NOW_MINUTE = 30
APPROVED_AT = 1_790_000_000.0  # a fixed approval time in the pictures


def cli(*args):
    from console.cli.main import app

    out = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return out


@functools.lru_cache(maxsize=None)
def demo_inputs():
    from engine.documents import parse_limits, parse_snapshot
    from engine.maintenance.solve import solve_maintenance

    snapshot = parse_snapshot(json.loads(DEMO.read_text()), "demo")
    limits = parse_limits(json.loads(DEMO_LIMITS.read_text()), "limits")
    plan = solve_maintenance(snapshot, limits, time_limit_s=20.0, workers=1)
    assert plan.status == "optimal", plan.status  # the pictures need the one reproducible plan
    return snapshot, limits, plan


def demo_store(db: Path):
    """(engine, run id): the demo fleet is the current one and run 1 holds its (draft) plan."""
    from console.store.fleet_store import save_snapshot
    from console.store.runs import runs_engine
    from tests.lifecycle_support import add_run

    snapshot, limits, plan = demo_inputs()
    engine = runs_engine(db)
    save_snapshot(engine, snapshot, source="demo")
    return engine, add_run(engine, snapshot, limits, plan)


def fix_approval_time(engine, run_id: int) -> None:
    """Pictures show who approved and when: make 'when' a fixed time."""
    from sqlalchemy import update

    from console.store.approvals import PLAN_STATE_TABLE
    from console.store.runs import write

    write(engine, lambda c: c.execute(update(PLAN_STATE_TABLE).where(PLAN_STATE_TABLE.c.run_id == run_id)
                                      .values(approved_at=APPROVED_AT)))


def start_execution(db: Path, run_id: int, minutes_ago: int = NOW_MINUTE) -> int:
    at = datetime.fromtimestamp(time.time() - minutes_ago * 60 - 1, tz=timezone.utc).isoformat()
    out = cli("exec", "start", run_id, "--db", db, "--at", at, "--by", "alice")
    assert out.exit_code == 0, out.output
    return int(out.output.split()[1])


def report(db: Path, exec_id: int, *args) -> None:
    out = cli("exec", "report", exec_id, *args, "--db", db)
    assert out.exit_code == 0, out.output


def executing_store(db: Path):
    """(engine, run id, execution id) at minute 30: the README's demo events (two migrations done, one
    failed, one running past its planned end), one action started at minute 28 and still within its
    duration (running), and the actions due before minute 30 not started (late)."""
    from console.ops.lifecycle import next_actions

    engine, run_id = demo_store(db)
    out = cli("plan", "approve", run_id, "--db", db, "--by", "alice")
    assert out.exit_code == 0, out.output
    fix_approval_time(engine, run_id)
    exec_id = start_execution(db, run_id)
    report(db, exec_id, "--events", DEMO_EVENTS)
    allowed = next_actions(engine, exec_id, now=28).may_start
    long_enough = [a for a in allowed if not a.retry and a.minutes > NOW_MINUTE - 28]  # not late at minute 30
    report(db, exec_id, long_enough[0].id, "started", "--at", 28)
    return engine, run_id, exec_id
