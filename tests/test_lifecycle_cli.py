"""`fleetctl plan approve|margins|history` and `fleetctl exec …`: the workflow and every refusal (exit 2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from console.cli.main import app
from console.store.fleet_store import current_snapshot, save_snapshot
from console.store.runs import read
from console.store import executions
from lifecycle_support import LIMITS, add_run, small_fleet, store_with_run

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture()
def store(tmp_path):
    db = tmp_path / "fleet.db"
    engine, run_id, plan = store_with_run(db)
    return db, engine, run_id, plan


def approved_execution(db, run_id) -> int:
    assert cli("plan", "approve", run_id, "--db", db, "--by", "alice").exit_code == 0
    out = cli("exec", "start", run_id, "--db", db, "--at", "2026-12-02T06:00:00Z")
    assert out.exit_code == 0, out.output
    return int(out.output.split()[1])


def event_rows(engine, exec_id):
    return read(engine, lambda c: executions.events(c, exec_id))


def first_migration(plan):
    return plan.runbook()[0]


# --------------------------------------------------------------------------- approval


def test_approve_records_who_and_the_hashes_and_a_second_approval_is_refused(store):
    db, engine, run_id, _ = store
    out = cli("plan", "approve", run_id, "--db", db, "--by", "alice", "--note", "CHG-42")
    assert out.exit_code == 0, out.output
    assert "approved by alice" in out.output
    hist = json.loads(cli("plan", "history", run_id, "--db", db, "--json").output)
    assert hist["state"]["state"] == "approved" and hist["state"]["note"] == "CHG-42"
    assert len(hist["state"]["snapshot_sha256"]) == 64 and len(hist["state"]["plan_sha256"]) == 64
    assert [(e["from_state"], e["to_state"], e["actor"]) for e in hist["events"]] == [("draft", "approved", "alice")]
    again = cli("plan", "approve", run_id, "--db", db)
    assert again.exit_code == 2 and "already approved" in again.output


def test_approve_is_refused_when_the_plan_is_not_valid(store):
    db, engine, _, plan = store
    bad = plan.model_copy(update={"makespan": plan.makespan + 1})
    run_id = add_run(engine, current_snapshot(engine), LIMITS, bad)
    out = cli("plan", "approve", run_id, "--db", db)
    assert out.exit_code == 2 and "not valid" in out.output and "9-makespan" in out.output


def test_approve_is_refused_when_the_run_was_solved_for_another_fleet(store):
    db, engine, run_id, _ = store
    save_snapshot(engine, small_fleet(seed=9), source="newer")
    out = cli("plan", "approve", run_id, "--db", db)
    assert out.exit_code == 2 and "another fleet" in out.output


def test_approve_is_refused_for_an_unknown_run_and_start_for_a_draft(store):
    db, _, run_id, _ = store
    assert cli("plan", "approve", 999, "--db", db).exit_code == 2
    out = cli("exec", "start", run_id, "--db", db)
    assert out.exit_code == 2 and "only an approved plan can start" in out.output


# --------------------------------------------------------------------------- reporting


def test_report_refuses_illegal_events_and_records_nothing(store):
    db, engine, run_id, plan = store
    ex = approved_execution(db, run_id)
    m = first_migration(plan)
    aid = f"migrate:{m.vm}"
    assert cli("exec", "report", ex, aid, "started", "--at", m.start, "--db", db).exit_code == 0
    assert cli("exec", "report", ex, aid, "done", "--at", m.end, "--db", db).exit_code == 0
    for args, words in [((aid, "started", "--at", m.end + 1), "already done"),
                        (("migrate:no-such-vm", "started", "--at", 1), "unknown action"),
                        ((aid, "finished", "--at", 1), "'state' must be one of")]:
        out = cli("exec", "report", ex, *args, "--db", db)
        assert out.exit_code == 2 and words in out.output, out.output
    assert len(event_rows(engine, ex)) == 2


def test_a_bad_line_in_an_events_file_records_none_of_it(store, tmp_path):
    db, engine, run_id, plan = store
    ex = approved_execution(db, run_id)
    m = first_migration(plan)
    lines = [{"action": f"migrate:{m.vm}", "state": "started", "at": m.start},
             {"action": f"migrate:{m.vm}", "state": "done", "at": m.start}]  # no time: refused
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = cli("exec", "report", ex, "--events", path, "--db", db)
    assert out.exit_code == 2 and "at least one minute" in out.output
    assert event_rows(engine, ex) == []
    path.write_text("{not json}\n")
    out = cli("exec", "report", ex, "--events", path, "--db", db)
    assert out.exit_code == 2 and "not JSON" in out.output


def test_report_retried_is_applied_once(store, tmp_path):
    db, engine, run_id, plan = store
    ex = approved_execution(db, run_id)
    m = first_migration(plan)
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"action": f"migrate:{m.vm}", "state": "started", "at": m.start}) + "\n")
    assert cli("exec", "report", ex, "--events", path, "--db", db).exit_code == 0
    out = cli("exec", "report", ex, "--events", path, "--db", db)
    assert out.exit_code == 0 and "1 already recorded" in out.output
    assert len(event_rows(engine, ex)) == 1


# --------------------------------------------------------------------------- status, next, replan, apply


def test_status_next_replan_approve_supersedes_and_the_execution_follows(store, tmp_path):
    db, engine, run_id, plan = store
    ex = approved_execution(db, run_id)
    m = first_migration(plan)
    aid = f"migrate:{m.vm}"
    assert cli("exec", "report", ex, aid, "started", "--at", 0, "--db", db).exit_code == 0
    assert cli("exec", "report", ex, aid, "failed", "--at", 2, "--reason", "network", "--db", db).exit_code == 0
    status = json.loads(cli("exec", "status", ex, "--now", 15, "--db", db, "--json").output)
    assert status["counts"]["failed"] == 1 and status["late"] and status["projected_end"] > status["planned_end"]
    nxt = json.loads(cli("exec", "next", ex, "--now", 15, "--db", db, "--json").output)
    assert aid in [a["action"] for a in nxt["may_start"]] + [h["action"] for h in nxt["held_back"]]
    early = cli("exec", "status", ex, "--now", 1, "--db", db)
    assert early.exit_code == 2 and "before the latest event" in early.output

    out_file = tmp_path / "replan.json"
    res = cli("exec", "replan", ex, "--now", 15, "--time-limit", 3, "--out", out_file, "--db", db, "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    new_plan = json.loads(out_file.read_text())
    assert new_plan["execution"]["now"] == 15 and new_plan["execution"]["failed"] == [aid]
    redo = next(x for x in new_plan["migrations"] if x["vm"] == m.vm)
    assert redo["start"] >= 15
    new_run = summary["run"]

    # an event recorded after the replan makes it stale
    other = plan.runbook()[1]
    assert cli("exec", "report", ex, f"migrate:{other.vm}", "started", "--at", 15, "--db", db).exit_code == 0
    stale = cli("plan", "approve", new_run, "--db", db)
    assert stale.exit_code == 2 and "replan again" in stale.output

    res = json.loads(cli("exec", "replan", ex, "--now", 16, "--time-limit", 3, "--db", db, "--json").output)
    ok = cli("plan", "approve", res["run"], "--db", db, "--by", "bob")
    assert ok.exit_code == 0, ok.output
    assert json.loads(cli("plan", "history", run_id, "--db", db, "--json").output)["state"]["state"] == "superseded"
    old = cli("plan", "approve", run_id, "--db", db)
    assert old.exit_code == 2 and "superseded" in old.output
    row = read(engine, lambda c: executions.get_execution(c, ex))
    assert row.run_id == res["run"]
    assert json.loads(cli("exec", "status", ex, "--db", db, "--json").output)["run"] == res["run"]


def test_apply_refuses_while_actions_run_then_writes_the_fleet_as_it_is(store):
    db, engine, run_id, plan = store
    ex = approved_execution(db, run_id)
    m = first_migration(plan)
    aid = f"migrate:{m.vm}"
    assert cli("exec", "report", ex, aid, "started", "--at", 0, "--db", db).exit_code == 0
    out = cli("exec", "apply", ex, "--db", db)
    assert out.exit_code == 2 and "in progress" in out.output
    assert cli("exec", "report", ex, aid, "done", "--at", m.end - m.start, "--db", db).exit_code == 0
    out = cli("exec", "apply", ex, "--db", db)
    assert out.exit_code == 2 and "--partial" in out.output
    out = cli("exec", "apply", ex, "--partial", "--db", db)
    assert out.exit_code == 0, out.output
    fleet = current_snapshot(engine)
    assert fleet.vm_by_id[m.vm].host == m.target
    assert cli("exec", "apply", ex, "--partial", "--db", db).exit_code == 2
    assert json.loads(cli("plan", "history", run_id, "--db", db, "--json").output)["state"]["state"] == "cancelled"


def test_a_whole_execution_completes_and_apply_reboots_the_hosts(store, tmp_path):
    db, engine, run_id, plan = store
    ex = approved_execution(db, run_id)
    events = []
    for m in plan.migrations:
        events += [{"action": f"migrate:{m.vm}", "state": "started", "at": m.start},
                   {"action": f"migrate:{m.vm}", "state": "done", "at": m.end}]
    for r in plan.reboots:
        events += [{"action": f"reboot:{r.host}", "state": "started", "at": r.start},
                   {"action": f"reboot:{r.host}", "state": "done", "at": r.end}]
    events.sort(key=lambda e: (e["at"], e["state"] != "done"))  # done before a start at the same minute
    path = tmp_path / "all.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    out = cli("exec", "report", ex, "--events", path, "--db", db)
    assert out.exit_code == 0 and "execution completed" in out.output, out.output
    assert cli("exec", "replan", ex, "--db", db).exit_code == 2
    assert cli("exec", "apply", ex, "--db", db).exit_code == 0
    fleet = current_snapshot(engine)
    assert all(h.state == "active" for h in fleet.hosts if h.id in {r.host for r in plan.reboots})
    assert json.loads(cli("plan", "history", run_id, "--db", db, "--json").output)["state"]["state"] == "completed"


def test_margins_prints_every_family(store):
    db, _, run_id, _ = store
    data = json.loads(cli("plan", "margins", run_id, "--db", db, "--json").output)
    fams = {m["family"] for m in data["margins"]}
    assert {"capacity", "per_source_host", "conflict", "max_hosts_down_per_rack"} <= fams
    assert data["makespan"] > 0


# --------------------------------------------------------------------------- both back-ends

from tests.pg_support import store_url  # noqa: E402,F401  (fixture: SQLite, and PostgreSQL when a server runs)


def test_the_lifecycle_store_on_sqlite_and_postgresql(store_url):  # noqa: F811
    """Approve, start, report (a retry skipped, an illegal event refused), replan and approve it: the same on both."""
    from console.ops.lifecycle import Refused, approve, replan, report, start_execution, status
    from console.store.runs import runs_engine
    from engine.execution.state import Event
    from lifecycle_support import solved_fleet

    snapshot, plan = solved_fleet()
    engine = runs_engine(store_url)
    save_snapshot(engine, snapshot, source="test")
    run_id = add_run(engine, snapshot, LIMITS, plan)
    approve(engine, run_id, by="alice")
    ex = start_execution(engine, run_id, by="alice")
    m = first_migration(plan)
    started = Event(f"migrate:{m.vm}", "started", m.start)
    assert report(engine, ex, [started], actor="bot").applied == 1
    assert report(engine, ex, [started], actor="bot").duplicates == 1
    with pytest.raises(Refused, match="unknown action"):
        report(engine, ex, [Event("migrate:nope", "started", 1)], actor="bot")
    assert status(engine, ex, now=m.start + 1).counts["in_progress"] == 1
    res = replan(engine, ex, now=m.start + 1, time_limit_s=3, workers=1)
    assert approve(engine, res.run_id, by="bob").state == "executing"
    assert len(event_rows(engine, ex)) == 1


def test_cancel_ends_the_execution_and_refuses_later_events_and_bad_start_times(store):
    db, engine, run_id, plan = store
    bad = cli("plan", "approve", run_id, "--db", db)
    assert bad.exit_code == 0
    out = cli("exec", "start", run_id, "--at", "yesterday", "--db", db)
    assert out.exit_code == 2 and "ISO 8601" in out.output
    out = cli("exec", "start", run_id, "--at", "2026-12-02T06:00:00", "--db", db)
    assert out.exit_code == 2 and "time zone" in out.output
    ex = int(cli("exec", "start", run_id, "--at", "2026-12-02T06:00:00Z", "--db", db).output.split()[1])
    assert cli("exec", "start", run_id, "--db", db).exit_code == 2  # already executing
    assert cli("exec", "cancel", ex, "--reason", "change window closed", "--db", db).exit_code == 0
    m = first_migration(plan)
    out = cli("exec", "report", ex, f"migrate:{m.vm}", "started", "--at", 0, "--db", db)
    assert out.exit_code == 2 and "cancelled" in out.output
    assert cli("exec", "next", ex, "--db", db).exit_code == 2
    assert cli("exec", "cancel", ex, "--reason", "again", "--db", db).exit_code == 2
    hist = json.loads(cli("plan", "history", run_id, "--db", db, "--json").output)
    assert hist["events"][-1]["to_state"] == "cancelled" and hist["events"][-1]["reason"] == "change window closed"
