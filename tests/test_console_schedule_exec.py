"""Issue 15 item 7: the Schedule screen shows a plan's execution (done / running / late / failed bars, a
now line, progress in the header), refreshes it live, and approves or replans with confirmation —
through the real app, on the demo fleet, with the lifecycle built by the CLI.

Keys go in at operator speed (30 ms apart, posted without waiting for the app to go idle).
Update the pictures with `pytest tests/test_console_schedule_exec.py --snapshot-update` after
checking the new SVGs.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from console.app import FleetConsole
from console.console_data import StoreData
from tests.schedule_exec_support import (NOW_MINUTE, cli, demo_inputs, demo_store, executing_store, report,
                                         start_execution)
from tests.test_console_trust import type_keys

NO_KEYMAP = Path(__file__).with_name("no-such-keymap.toml")
SIZE = (150, 42)


@pytest.fixture(autouse=True)
def operator_alice(monkeypatch):
    """The console acts as the login name (getpass reads LOGNAME first): fixed for the pictures."""
    monkeypatch.setenv("LOGNAME", "alice")


_PIN: dict[str, float] = {}  # the pinned "now" (epoch seconds) of the console under test


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    """The execution view reads the time from one provider (console.ops.plan_view.wall_clock): pinned,
    so the pictures show minute NOW_MINUTE however long the test takes under load."""
    import console.ops.plan_view as plan_view_module

    monkeypatch.setattr(plan_view_module, "wall_clock", lambda: _PIN.get("now", time.time()))
    yield _PIN
    _PIN.clear()


def latest_start(db: Path):
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("select started_at from executions order by id desc limit 1").fetchone()


def console(db: Path, minute: int = NOW_MINUTE) -> FleetConsole:
    """The console on `db`, its clock pinned at `minute` (and 30 s) of the db's latest execution."""
    started = latest_start(db)
    if started is not None:
        _PIN["now"] = started[0] + minute * 60 + 30
    data = StoreData(db)
    data.label = "demo.db"  # the pictures must not show the temporary directory
    return FleetConsole(data, start_mode="schedule", poll_interval=3600, keymap_path=NO_KEYMAP)


async def wait_until(pilot, what: str, ok, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)
    await pilot.pause()


def schedule(pilot):
    """The Schedule screen (under a confirmation dialog, if one is open)."""
    from console.screens.schedule import ScheduleScreen

    screens = [s for s in pilot.app.screen_stack if isinstance(s, ScheduleScreen)]
    assert screens, pilot.app.screen_stack
    return screens[0]


async def shown(pilot, run_id: int, state: str) -> None:
    """The Schedule screen shows run `run_id` and has read its plan state `state`."""
    from console.screens.schedule import ScheduleScreen

    def ok() -> bool:
        screens = [s for s in pilot.app.screen_stack if isinstance(s, ScheduleScreen)]
        view = screens[0]._view if screens else None
        return pilot.app.shown_run_id == run_id and view is not None and view.state.state == state

    await wait_until(pilot, f"run {run_id} shown as {state}", ok)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def head_text(pilot) -> str:
    return str(schedule(pilot).query_one("#schedule-head").render())


# --------------------------------------------------------------------------- execution on the Gantt


def test_the_execution_view_reads_the_pinned_clock_not_the_wall_clock(tmp_path):
    """The now line and the late bars follow the console's clock provider (pinned 40 minutes on here)."""
    db = tmp_path / "demo.db"
    _, run_id, exec_id = executing_store(db)

    async def flow():
        app = console(db, minute=NOW_MINUTE + 40)
        async with app.run_test(size=SIZE) as pilot:
            await shown(pilot, run_id, "executing")
            gantt = schedule(pilot).query_one("Gantt")
            assert gantt.now_minute == NOW_MINUTE + 40
            assert f"executing at minute {NOW_MINUTE + 40}" in head_text(pilot)

    asyncio.run(flow())



def test_execution_state_on_the_gantt_with_the_now_line(snap_compare, tmp_path):
    db = tmp_path / "demo.db"
    _, run_id, exec_id = executing_store(db)
    checked = {}

    async def before(pilot):
        await shown(pilot, run_id, "executing")
        screen = schedule(pilot)
        gantt = screen.query_one("Gantt")
        states = set(gantt._mig_states) | set(gantt._reb_states)
        checked["states"] = states
        checked["now"] = gantt.now_minute
        checked["head"] = head_text(pilot)

    assert snap_compare(console(db), terminal_size=SIZE, run_before=before)
    assert {"done", "running", "late", "failed", "pending"} <= checked["states"]
    assert checked["now"] == NOW_MINUTE
    head = checked["head"]
    assert f"execution {exec_id} executing at minute {NOW_MINUTE}" in head and "2/96 done" in head
    assert "1 failed" in head and "approved by alice" in head and "projected end" in head


def test_bar_colours_follow_the_application_layers_states(tmp_path):
    """Every bar's state is exactly what console.ops.plan_view says for its action (no second rule)."""
    from console.ops.plan_view import plan_view
    from engine.execution.state import migrate_id, reboot_id

    db = tmp_path / "demo.db"
    engine, run_id, _ = executing_store(db)

    async def flow():
        app = console(db)
        async with app.run_test(size=SIZE) as pilot:
            await shown(pilot, run_id, "executing")
            gantt = schedule(pilot).query_one("Gantt")
            view = plan_view(engine, run_id)
            plan = gantt.plan
            assert gantt._mig_states == [view.actions[migrate_id(m.vm)] for m in plan.migrations]
            assert gantt._reb_states == [view.actions[reboot_id(r.host)] for r in plan.reboots]

    asyncio.run(flow())


def test_the_screen_follows_events_reported_from_another_shell_without_a_key(tmp_path):
    db = tmp_path / "demo.db"
    engine, run_id, exec_id = executing_store(db)
    from console.ops.plan_view import plan_view

    running = next(a for a, s in plan_view(engine, run_id).actions.items() if s == "running")

    async def flow():
        app = console(db)
        async with app.run_test(size=SIZE) as pilot:
            await shown(pilot, run_id, "executing")
            gantt = schedule(pilot).query_one("Gantt")
            reads = schedule(pilot)
            report(db, exec_id, running, "done", "--at", NOW_MINUTE)  # the CLI, as from another terminal
            t = time.monotonic()

            def done_on_screen() -> bool:
                return reads._view.actions.get(running) == "done" and "3/96 done" in head_text(pilot)

            await wait_until(pilot, f"{running} done on screen", done_on_screen, timeout=5)
            assert time.monotonic() - t < 2.5  # ≤ 1 s period plus one read
            assert "done" in gantt._mig_states + gantt._reb_states

    asyncio.run(flow())


def test_lifecycle_reads_never_overlap(tmp_path, monkeypatch):
    """A storm of refresh requests while each read is slow: at most one read of the store at a time."""
    import threading

    import console.ops.plan_view as plan_view_module

    db = tmp_path / "demo.db"
    _, run_id, _ = executing_store(db)
    real = plan_view_module.plan_view
    lock, active, peak, calls = threading.Lock(), [0], [0], [0]

    def slow_read(*args, **kw):
        with lock:
            active[0] += 1
            calls[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            time.sleep(0.05)
            return real(*args, **kw)
        finally:
            with lock:
                active[0] -= 1

    async def flow():
        app = console(db)
        async with app.run_test(size=SIZE) as pilot:
            await shown(pilot, run_id, "executing")
            monkeypatch.setattr(plan_view_module, "plan_view", slow_read)
            screen = schedule(pilot)
            for _ in range(40):
                screen.read_lifecycle(force=True)
                await asyncio.sleep(0.01)
            await wait_until(pilot, "the last read", lambda: not screen._reading)

    asyncio.run(flow())
    assert calls[0] >= 3 and peak[0] == 1


# --------------------------------------------------------------------------- approve


def test_approve_asks_for_confirmation(snap_compare, tmp_path):
    db = tmp_path / "demo.db"
    _, run_id = demo_store(db)

    async def before(pilot):
        await shown(pilot, run_id, "draft")
        await type_keys(pilot, "a")
        await pilot.pause()

    assert snap_compare(console(db), terminal_size=SIZE, run_before=before)


def test_approve_flow_records_who_and_shows_it(tmp_path):
    from console.ops.lifecycle import plan_history

    db = tmp_path / "demo.db"
    engine, run_id = demo_store(db)

    async def flow():
        app = console(db)
        async with app.run_test(size=SIZE) as pilot:
            await shown(pilot, run_id, "draft")
            await type_keys(pilot, "a", "n")  # asked, declined: nothing changes
            await pilot.pause()
            assert plan_history(engine, run_id)[0].state == "draft"
            await type_keys(pilot, "a", "y")
            await shown(pilot, run_id, "approved")
            head = head_text(pilot)
            assert "plan approved · approved by alice" in head
            assert f"fleetctl exec start {run_id}" in head

    asyncio.run(flow())
    state, events = plan_history(engine, run_id)
    assert (state.state, state.approved_by) == ("approved", "alice")
    assert [(e.from_state, e.to_state, e.actor) for e in events] == [("draft", "approved", "alice")]


def test_a_refused_approval_shows_the_application_layers_reason(snap_compare, tmp_path):
    db = tmp_path / "demo.db"
    _, run_id, _ = executing_store(db)
    seen = {}

    async def before(pilot):
        await shown(pilot, run_id, "executing")
        await type_keys(pilot, "a", "y")
        await wait_until(pilot, "the refusal", lambda: "not approved" in head_text(pilot))
        seen["head"] = head_text(pilot)

    assert snap_compare(console(db), terminal_size=SIZE, run_before=before)
    assert f"run {run_id}'s plan is already executing (approved by alice): nothing to approve" in seen["head"]
    assert "Traceback" not in seen["head"]


# --------------------------------------------------------------------------- replan


def test_replan_asks_for_confirmation(snap_compare, tmp_path):
    db = tmp_path / "demo.db"
    _, run_id, _ = executing_store(db)

    async def before(pilot):
        await shown(pilot, run_id, "executing")
        await type_keys(pilot, "r")
        await pilot.pause()

    assert snap_compare(console(db), terminal_size=SIZE, run_before=before)


def test_replan_then_approve_supersedes_the_old_plan(tmp_path):
    from console.ops.lifecycle import plan_history
    from console.store import executions
    from console.store.runs import read

    db = tmp_path / "demo.db"
    engine, run_id, exec_id = executing_store(db)

    async def flow():
        app = console(db)
        async with app.run_test(size=SIZE) as pilot:
            await shown(pilot, run_id, "executing")
            await type_keys(pilot, "r", "y")
            await wait_until(pilot, "the replan shown", lambda: app.shown_run_id not in (None, run_id), timeout=60)
            new_id = app.shown_run_id
            await shown(pilot, new_id, "draft")
            head = head_text(pilot)
            assert f"replan of run {run_id} (execution {exec_id})" in head
            assert f"run {run_id} is then superseded" in head
            await type_keys(pilot, "a", "y")
            await shown(pilot, new_id, "executing")
            head = head_text(pilot)
            assert f"execution {exec_id} executing" in head
            assert f"replan of run {run_id} (execution {exec_id}), run {run_id} superseded" in head
            app.open_run(run_id)  # the old plan says what became of it
            await shown(pilot, run_id, "superseded")
            assert f"execution continues on run {new_id}" in head_text(pilot)
            return new_id

    new_id = asyncio.run(flow())
    assert plan_history(engine, run_id)[0].state == "superseded"
    assert read(engine, lambda c: executions.get_execution(c, exec_id)).run_id == new_id


def test_replan_without_an_execution_says_what_to_do(tmp_path):
    db = tmp_path / "demo.db"
    _, run_id = demo_store(db)

    async def flow():
        app = console(db)
        async with app.run_test(size=SIZE) as pilot:
            await shown(pilot, run_id, "draft")
            await type_keys(pilot, "r")
            await pilot.pause()
            assert len(app.screen_stack) == 1  # no confirmation for something that cannot happen
            assert any("nothing to replan" in n.message for n in app._notifications)

    asyncio.run(flow())


def test_started_executions_are_built_by_the_cli_on_the_demo_plan(tmp_path):
    """The helper's execution is what the CLI made of the demo plan (guards the pictures' premise)."""
    db = tmp_path / "demo.db"
    engine, run_id = demo_store(db)
    assert cli("plan", "approve", run_id, "--db", db, "--by", "alice").exit_code == 0
    exec_id = start_execution(db, run_id)
    status = cli("exec", "status", exec_id, "--db", db)
    assert status.exit_code == 0 and f"minute {NOW_MINUTE}" in status.output
    assert len(demo_inputs()[2].migrations) == 86


# --------------------------------------------------------------------------- the now line, unit


@pytest.mark.parametrize("cell", [0, 3, 5, 7, 9, 10])
def test_the_now_line_splits_one_cell_and_keeps_the_row_width(cell):
    from rich.segment import Segment
    from rich.style import Style

    from console.widgets.gantt_exec import now_in_segments

    bar, gap = Style(bgcolor="blue"), Style()
    segs = [Segment("▏vm-1", bar), Segment("   ", gap), Segment("▏x", bar)]  # 10 cells
    out = now_in_segments(segs, cell, Style(color="red"))
    text = "".join(s.text for s in out)
    original = "▏vm-1   ▏x"
    assert len(text) == len(original) == 10
    if cell < 10:
        assert text[:cell] + text[cell + 1:] == original[:cell] + original[cell + 1:]  # other cells untouched
        hit = [s for s in out if s.style is not None and (s.style.color is not None or s.style.underline)]
        assert len(hit) == 1 and len(hit[0].text) == 1
        assert text[cell] == ("│" if original[cell] == " " else original[cell])  # a rule in gaps, text on bars


def test_every_action_view_state_has_a_gantt_style():
    """One list of states (console.ops.action_states): the Gantt's classes and CSS follow it."""
    from console.ops.action_states import ACTION_VIEW_STATES
    from console.widgets.gantt_exec import EXEC_CSS, STATE_CLASSES

    assert tuple(STATE_CLASSES) == ACTION_VIEW_STATES
    for cls, _label in STATE_CLASSES.values():
        assert f"Gantt > .{cls} " in EXEC_CSS, cls
