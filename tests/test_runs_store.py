"""The runs store on its own (no worker processes): queue, claim, outcome, schedules."""

from __future__ import annotations

import os
import time

import pytest

from console.store.runs import (
    claim_next_run,
    count_runs,
    enqueue_run,
    finish_run,
    get_run,
    list_runs,
    pump,
    request_cancel,
    run_input,
    run_progress,
    runs_engine,
)
from console.store.schedules import add_schedule, fire_due_schedules, format_every, latest_plans, parse_every
from engine.progress import ProgressEvent
from tests.pg_support import store_url  # noqa: F401  (fixture: SQLite, then a throwaway PostgreSQL database)
from tests.runs_support import toy_limits, toy_snapshot


@pytest.fixture
def engine(store_url):  # noqa: F811
    e = runs_engine(store_url)
    yield e
    e.dispose()


def test_queue_is_fifo_and_a_claimed_run_is_not_claimed_again(engine):
    a = enqueue_run(engine, "maintenance", snapshot=toy_snapshot())
    b = enqueue_run(engine, "placement", snapshot=toy_snapshot())
    assert count_runs(engine, ("queued",)) == 2
    assert claim_next_run(engine, os.getpid()) == a
    assert claim_next_run(engine, os.getpid()) == b
    assert claim_next_run(engine, os.getpid()) is None
    assert {r.status for r in list_runs(engine)} == {"running"}


def test_the_input_is_stored_once_by_content_and_survives_a_new_snapshot(engine):
    snap = toy_snapshot()
    a = enqueue_run(engine, "maintenance", snapshot=snap, limits=toy_limits())
    b = enqueue_run(engine, "maintenance", snapshot=snap)
    va, vb = get_run(engine, a), get_run(engine, b)
    assert va.input_key == vb.input_key and va.input_name == "toy"
    media, body = run_input(engine, va.input_key)
    assert media == "snapshot+json" and __import__("json").loads(body)["vms"][0]["id"] == "vm1"
    assert va.limits["solve"]["time_limit_s"] == 10 and vb.limits is None


def test_bad_kind_or_option_is_refused_before_anything_is_written(engine):
    with pytest.raises(ValueError, match="unknown run kind"):
        enqueue_run(engine, "defrag", snapshot=toy_snapshot())
    with pytest.raises(ValueError, match="max_moves"):
        enqueue_run(engine, "maintenance", snapshot=toy_snapshot(), options={"max_moves": 3})
    with pytest.raises(LookupError, match="no snapshot"):
        enqueue_run(engine, "maintenance")
    assert list_runs(engine) == []


def test_progress_is_polled_incrementally_and_the_flag_round_trips(engine):
    rid = enqueue_run(engine, "maintenance", snapshot=toy_snapshot())
    claim_next_run(engine, os.getpid())
    assert pump(engine, rid, [ProgressEvent(0.5, 30, 10), ProgressEvent(1.0, 25, 12, "better")]) is False
    first = run_progress(engine, rid)
    assert [(e.objective, e.bound) for e in first] == [(30, 10), (25, 12)] and first[1].message == "better"
    assert first[1].gap == pytest.approx((25 - 12) / 25)
    request_cancel(engine, rid)
    assert pump(engine, rid, [ProgressEvent(2.0, 20, 12)]) is True
    assert [e.objective for e in run_progress(engine, rid, since_id=first[-1].id)] == [20]
    assert get_run(engine, rid).progress_count == 3 and get_run(engine, rid).last_progress.objective == 20


def test_a_final_verdict_is_never_overwritten(engine):
    rid = enqueue_run(engine, "maintenance", snapshot=toy_snapshot())
    claim_next_run(engine, os.getpid())
    plan = {"version": 1, "kind": "maintenance", "status": "feasible", "makespan": 20, "lower_bound": 20}
    assert finish_run(engine, rid, "succeeded", plan=plan)
    assert not finish_run(engine, rid, "failed", error="late writer")
    view = get_run(engine, rid)
    stored = dict(view.plan)
    assert stored.pop("inputs") == {"snapshot_sha256": view.input_key}  # FORMATS.md inputs, added from the run
    assert view.status == "succeeded" and view.error is None and view.objective == 20 and stored == plan
    with pytest.raises(ValueError):
        finish_run(engine, rid, "running")


def test_a_finished_run_ignores_cancel(engine):
    rid = enqueue_run(engine, "maintenance", snapshot=toy_snapshot())
    claim_next_run(engine, os.getpid())
    finish_run(engine, rid, "succeeded", plan={"status": "optimal", "makespan": 20})
    assert request_cancel(engine, rid).status == "succeeded"
    with pytest.raises(KeyError):
        request_cancel(engine, 999)


def test_intervals_parse_and_print():
    assert [parse_every(t) for t in ("15m", "1h", "1d", "90s", " 2h ")] == [900, 3600, 86400, 90, 7200]
    assert [format_every(s) for s in (900, 3600, 86400, 90, 5400)] == ["15m", "1h", "1d", "90s", "90m"]
    for bad in ("", "0h", "1w", "h", "-1h", "1.5h"):
        with pytest.raises(ValueError):
            parse_every(bad)


def test_a_due_schedule_fires_once_even_when_two_workers_look_at_it(engine):
    from console.store.fleet_store import save_snapshot
    from engine.documents import parse_snapshot

    save_snapshot(engine, parse_snapshot(toy_snapshot()))
    sid = add_schedule(engine, "maintenance", 3600, options={"solver": "heuristic"}, start_at=time.time() - 7300)
    now = time.time()
    fired = fire_due_schedules(engine, now) + fire_due_schedules(engine, now)
    assert len(fired) == 1  # missed intervals are skipped, not queued as a backlog
    run = get_run(engine, fired[0])
    assert run.schedule_id == sid and run.status == "queued" and run.input_name == "toy"
    assert fire_due_schedules(engine, now + 10) == []
    assert len(fire_due_schedules(engine, now + 3600)) == 1


def test_a_schedule_without_a_snapshot_records_a_failed_run(engine):
    sid = add_schedule(engine, "maintenance", 60)
    (rid,) = fire_due_schedules(engine)
    run = get_run(engine, rid)
    assert run.status == "failed" and run.schedule_id == sid and "no snapshot" in run.error
    assert latest_plans(engine) == []


def test_the_dispatcher_refuses_to_hand_over_a_plan_the_validator_rejects():
    from console.runner.dispatch import _validated, outcome
    from engine.documents import parse_snapshot
    from engine.model import Limits, MaintenancePlan
    from engine.violations import PlanRejected

    snapshot, limits = parse_snapshot(toy_snapshot()), Limits.model_validate(toy_limits())
    # All three VMs leave h1 at once: 5 + 3 + 2 Gbps over h1's 5 Gbps (rule 6, bandwidth).
    broken = MaintenancePlan(status="feasible", makespan=10, lower_bound=10, solver={"name": "test"},
                             migrations=[{"vm": v, "source": "h1", "target": "h2", "start": 0, "end": 10}
                                         for v in ("vm1", "vm2", "vm3")],
                             reboots=[{"host": "h1", "start": 10, "end": 10}])
    with pytest.raises(PlanRejected) as caught:
        _validated(snapshot, limits, broken)
    assert any(v.rule.startswith("6") for v in caught.value.violations)
    assert outcome({"status": "feasible"}, cancelled=False) == ("succeeded", None)
    assert outcome({"status": "feasible"}, cancelled=True)[0] == "cancelled"
    assert outcome({"status": "infeasible", "explanation": "x"}, cancelled=False) == ("infeasible", "x")
    assert outcome({"status": "unknown"}, cancelled=False)[0] == "failed"


def test_latest_plans_follow_the_newest_success_of_each_existing_schedule(engine):
    from console.store.schedules import remove_schedule

    s1 = add_schedule(engine, "maintenance", 3600, start_at=time.time() + 3600)
    s2 = add_schedule(engine, "placement", 3600, start_at=time.time() + 3600)

    def done(schedule_id, kind, status, value):
        rid = enqueue_run(engine, kind, snapshot=toy_snapshot(), schedule_id=schedule_id)
        claim_next_run(engine, os.getpid())
        finish_run(engine, rid, status, plan={"status": "feasible", "makespan": value} if status == "succeeded" else None)
        return rid

    done(s1, "maintenance", "succeeded", 30)
    newest = done(s1, "maintenance", "succeeded", 25)
    done(s1, "maintenance", "failed", None)  # a later failure does not unpublish
    placement = done(s2, "placement", "succeeded", 4)
    assert [(p.schedule_id, p.run_id) for p in latest_plans(engine)] == [(s1, newest), (s2, placement)]
    assert [p.plan["makespan"] for p in latest_plans(engine, "maintenance")] == [25]
    remove_schedule(engine, s2)
    assert [p.schedule_id for p in latest_plans(engine)] == [s1]
