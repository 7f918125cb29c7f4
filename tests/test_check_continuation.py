"""`fleetctl check` on a replanned plan (one with an `execution` section): a continuation.

Facts unmoved is checked against real history — the store's events (`--against-execution EXEC --db`)
or a previous plan and its events file (`--previous --events`); without either, the plan's own rules
and "nothing new before now" are checked and the output says the facts were not.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from console.cli.main import app
from console.ops.lifecycle import approve, replan as ops_replan, report, start_execution
from engine.execution.replan import replan
from engine.execution.state import Event, Execution
from engine.model import Migration, Reboot
from lifecycle_support import LIMITS, small_fleet, store_with_run
from test_execution_engine import FLEET, LIM, PLAN

EVENTS = [Event("migrate:a", "started", 1), Event("migrate:a", "done", 11), Event("migrate:b", "started", 11)]
NOW = 12


def dump(model) -> str:
    return json.dumps(model.model_dump(mode="json", by_alias=True, exclude_none=True))


def run(*args):
    r = CliRunner().invoke(app, ["check", *[str(a) for a in args]])
    assert "Traceback" not in r.output
    return r


@pytest.fixture(scope="module")
def continuation():
    return replan(FLEET, LIM, PLAN, Execution(PLAN, EVENTS), NOW, time_limit_s=5, workers=1).plan


@pytest.fixture
def files(tmp_path, continuation):
    def write(name, text):
        (tmp_path / name).write_text(text)
        return tmp_path / name

    return {
        "snapshot": write("s.json", dump(FLEET)), "limits": write("l.json", dump(LIM)),
        "previous": write("prev.json", dump(PLAN)), "plan": write("cont.json", dump(continuation)),
        "events": write("ev.jsonl", "".join(json.dumps(e.to_dict()) + "\n" for e in EVENTS)),
        "write": write,
    }


def history(files):
    return ("--previous", files["previous"], "--events", files["events"])


def edited(files, continuation, **update):
    return files["write"]("edited.json", dump(continuation.model_copy(update=update)))


def test_a_valid_continuation_passes_with_and_without_its_history(files):
    r = run(files["snapshot"], files["limits"], files["plan"], *history(files))
    assert r.exit_code == 0, r.output
    assert "valid" in r.stdout and "2 fact(s) checked against 3 event(s)" in r.stdout
    r = run(files["snapshot"], files["limits"], files["plan"])
    assert r.exit_code == 0, r.output
    assert "taken from the plan itself, not checked against what really happened" in r.stdout


def test_a_moved_fact_is_named_when_the_history_is_given(files, continuation):
    moved = edited(files, continuation, migrations=[
        Migration(vm=m.vm, source=m.source, target=m.target, start=m.start - 1, end=m.end - 1) if m.vm == "a" else m
        for m in continuation.migrations])
    r = run(files["snapshot"], files["limits"], moved, *history(files), "--json")
    assert r.exit_code == 1
    found = [v for v in json.loads(r.stdout) if v["rule"] == "10-facts"]
    assert any("migrate:a" in v["message"] and "moved" in v["message"] for v in found), found
    # the same events say migrate:b is in progress since minute 11: a plan that has it elsewhere is refused
    b_moved = edited(files, continuation, migrations=[
        Migration(vm=m.vm, source=m.source, target=m.target, start=NOW, end=NOW + 10) if m.vm == "b" else m
        for m in continuation.migrations])
    r = run(files["snapshot"], files["limits"], b_moved, *history(files))
    assert r.exit_code == 1 and "migrate:b (in_progress) moved" in r.stdout


def test_a_new_action_before_now_is_refused_even_without_history(files, continuation):
    early = edited(files, continuation, reboots=[Reboot(host=r.host, start=5, end=10) if r.host == "h2" else r
                                                 for r in continuation.reboots])
    for extra in ((), history(files)):
        r = run(files["snapshot"], files["limits"], early, *extra)
        assert r.exit_code == 1
        assert "10-facts" in r.stdout and "reboot:h2 is not started yet" in r.stdout and "before now" in r.stdout


def test_an_execution_section_naming_an_action_the_plan_lacks_is_invalid(files, continuation):
    wrong = edited(files, continuation, execution=continuation.execution.model_copy(
        update={"done": [*continuation.execution.done, "migrate:zzz"]}))
    r = run(files["snapshot"], files["limits"], wrong)
    assert r.exit_code == 1 and "migrate:zzz" in r.stdout


@pytest.mark.parametrize("args, message", [
    (lambda f: (f["plan"], "--previous", f["previous"]), "go together"),
    (lambda f: (f["plan"], "--events", f["events"]), "go together"),
    (lambda f: (f["plan"], "--against-execution", 1, *history(f)), "not both"),
    (lambda f: (f["plan"], "--db", f["snapshot"]), "only with --against-execution"),
    (lambda f: (f["previous"], *history(f)), "not a continuation"),
    (lambda f: (f["plan"], "--previous", f["plan"], "--events", f["snapshot"]), "ev"),
])
def test_misuse_exits_2_with_a_clear_message(files, args, message):
    r = run(files["snapshot"], files["limits"], *args(files))
    assert r.exit_code == 2, r.output
    if message != "ev":
        assert message in r.stderr
    else:  # an events file that is not JSON Lines: its line is named
        assert "s.json:1" in r.stderr


def test_events_the_previous_plan_refuses_exit_2(files):
    bad = files["write"]("bad.jsonl", json.dumps({"action": "migrate:a", "state": "done", "at": 3}) + "\n")
    r = run(files["snapshot"], files["limits"], files["plan"], "--previous", files["previous"], "--events", bad)
    assert r.exit_code == 2 and "migrate:a" in r.stderr and "not in progress" in r.stderr


# --------------------------------------------------------------------------- against the store


def test_against_the_store_a_replan_passes_a_moved_fact_fails_another_fleet_exits_2(tmp_path):
    db = tmp_path / "fleet.db"
    engine, run_id, plan = store_with_run(db)
    approve(engine, run_id, by="alice")
    exec_id = start_execution(engine, run_id, by="alice", at=0.0)
    first = sorted(plan.migrations, key=lambda m: (m.start, m.vm))[0]
    report(engine, exec_id, [Event(f"migrate:{first.vm}", "started", first.start),
                             Event(f"migrate:{first.vm}", "done", first.end)], actor="t")
    now = first.end + 1
    out = ops_replan(engine, exec_id, now=now, time_limit_s=3, workers=1)
    snap, lim = tmp_path / "s.json", tmp_path / "l.json"
    snap.write_text(dump(small_fleet()))
    lim.write_text(dump(LIMITS))
    good = tmp_path / "cont.json"
    good.write_text(dump(out.plan))
    opts = ("--against-execution", exec_id, "--db", db)
    r = run(snap, lim, good, *opts)
    assert r.exit_code == 0, r.output
    assert f"checked against execution {exec_id}'s events up to minute {now}" in r.stdout
    # an event after the replan's `now` does not change what it is checked against
    later = sorted((m for m in plan.migrations if m.vm != first.vm), key=lambda m: (m.start, m.vm))[0]
    report(engine, exec_id, [Event(f"migrate:{later.vm}", "started", now + 5)], actor="t")
    assert run(snap, lim, good, *opts).exit_code == 0
    moved = tmp_path / "moved.json"
    moved.write_text(dump(out.plan.model_copy(update={"migrations": [
        Migration(vm=m.vm, source=m.source, target=m.target, start=m.start + 1, end=m.end + 1) if m.vm == first.vm
        else m for m in out.plan.migrations]})))
    r = run(snap, lim, moved, *opts)
    assert r.exit_code == 1 and f"migrate:{first.vm} (done) moved" in r.stdout
    other = tmp_path / "other.json"
    other.write_text(dump(small_fleet(seed=9)))
    r = run(other, lim, good, *opts)
    assert r.exit_code == 2 and "not the one execution" in r.stderr
    r = run(snap, lim, good, "--against-execution", 999, "--db", db)
    assert r.exit_code == 2 and "no execution 999" in r.stderr
