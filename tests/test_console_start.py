"""Console start-up and the remaining #12 trust items: one limits validation for stored sets,
the executor chosen on Solve, metrics of a plan made for another fleet, a cheap Runs refresh."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from console.store.db import open_engine
from console.store.limits_store import load_limits
from console.store.tables import LimitSetRow, utcnow
from engine.documents import DocumentError


def test_a_stored_limit_set_goes_through_the_one_limits_validation(tmp_path):
    """A set saved by an older version (or by hand) with 10^26 per datacenter must be refused
    with the CLI's message, not handed to a solve that overflows."""
    engine = open_engine(tmp_path / "s.db")
    body = json.dumps({"concurrency": {"per_datacenter": 10 ** 26}})
    with engine.begin() as conn:
        conn.execute(LimitSetRow.__table__.insert().values(name="huge", body=body, saved_at=utcnow()))
    with pytest.raises(DocumentError) as info:
        load_limits(engine, "huge")
    text = str(info.value)
    assert "limit set 'huge'" in text and "per_datacenter" in text and "at most" in text
    engine.dispose()


# --------------------------------------------------------------------------- stale plan metrics

def _stale_app(start_mode: str):
    from dataclasses import replace

    from tests.test_console_snapshots import make_app

    app = make_app(start_mode)
    app.data._runs[1] = replace(app.data._runs[1], input_key="0" * 64)  # run 1 solved another fleet
    return app


def test_compare_with_a_plan_made_for_another_fleet_shows_no_customer_peaks(snap_compare):
    """Per-customer peaks of run 1 would count run 1's moves against this fleet's customers."""
    from tests.test_console_snapshots import SIZES, settle

    async def before(pilot):
        await settle(pilot)
        await pilot.press("end", "space", "up", "space")  # mark runs 1 and 2 (newest first)
        await pilot.press("c")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "CompareScreen"

    assert snap_compare(_stale_app("runs"), terminal_size=SIZES["small"], run_before=before)


def test_schedule_headline_never_counts_peaks_against_another_fleet():
    asyncio.run(_schedule_headline())


async def _schedule_headline():
    from textual.widgets import Static

    from tests.test_console_snapshots import settle

    app = _stale_app("schedule")
    async with app.run_test(size=(160, 46)) as pilot:
        await settle(pilot)
        app.open_run(2)  # made for this fleet: its peak is shown
        await settle(pilot)
        head = str(app.screen.query_one("#schedule-head", Static).render())
        assert "worst customer peak 1 (cust-" in head or "worst customer peak 2 (cust-" in head, head
        app.open_run(1)
        await settle(pilot)
        head = str(app.screen.query_one("#schedule-head", Static).render())
        assert "MADE FOR ANOTHER FLEET" in str(app.screen.query_one("#schedule-origin", Static).render())
        assert "worst customer peak – (not computed: the plan was made for another fleet)" in head, head


# --------------------------------------------------------------------------- executor picker

class QueueOnly:
    """StoreData that queues through the real submit path but starts no worker (the run stays
    queued, its recorded options are what the test reads)."""

    @staticmethod
    def make(db):
        from console.console_data import StoreData

        class _Data(StoreData):
            def _ensure_worker(self) -> None:
                pass

        return _Data(db)


@pytest.fixture
def fleet_db(tmp_path):
    from console.store.db import close_engine
    from console.store.fleet_store import save_snapshot
    from engine.documents import load_snapshot

    db = tmp_path / "console.db"
    engine = open_engine(db)
    save_snapshot(engine, load_snapshot(Path(__file__).resolve().parents[1] / "fixtures" / "demo.json"))
    close_engine(engine)
    return db


def test_solve_records_the_executor_typed_at_operator_speed(fleet_db, monkeypatch):
    """The Solve screen's executor field (default FLEETCTL_EXECUTOR), checked like the CLI's
    --executor, recorded in the run's options.executor through console.ops.runs.submit_run."""
    from console.app import FleetConsole
    from console.store.runs import get_run, runs_engine
    from tests.test_console_snapshots import NO_KEYMAP
    from tests.test_console_trust import type_keys

    monkeypatch.setenv("FLEETCTL_EXECUTOR", "dask://10.0.0.9:8786")

    async def flow():
        app = FleetConsole(QueueOnly.make(fleet_db), start_mode="solve", poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(130, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            field = app.screen.query_one("#solve-executor")
            assert field.value == "dask://10.0.0.9:8786"  # the environment's default, shown
            await type_keys(pilot, "x", "ctrl+u", *"dask://bad", "escape", "s")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.active_run_id is None  # refused: nothing queued with a value the CLI refuses
            check = str(app.screen.query_one("#solve-executor-check").render())
            assert "use 'local' or 'dask://HOST:PORT'" in check
            await type_keys(pilot, "x", "ctrl+u", *"dask://127.0.0.1:8786", "escape", "s")
            for _ in range(200):
                if app.active_run_id is not None:
                    break
                await asyncio.sleep(0.02)
            return app.active_run_id

    run_id = asyncio.run(flow())
    assert run_id is not None
    engine = runs_engine(fleet_db)
    try:
        assert get_run(engine, run_id).options["executor"] == "dask://127.0.0.1:8786"
    finally:
        engine.dispose()


def test_the_submit_path_refuses_an_executor_the_cli_refuses(fleet_db):
    from console.ops.errors import InvalidInput
    from console.ops.runs import RunRequest, submit_run

    engine = open_engine(fleet_db)
    try:
        with pytest.raises(InvalidInput) as info:
            submit_run(engine, RunRequest(kind="maintenance", options={"executor": "ray://x:1"}), spawn_worker=False)
        assert info.value.problems[0].field == "options.executor"
        assert "use 'local' or 'dask://HOST:PORT'" in str(info.value)
    finally:
        engine.dispose()


def test_executor_picker_with_a_bad_address(snap_compare):
    from tests.test_console_snapshots import SIZES, make_app, settle

    async def before(pilot):
        await settle(pilot)
        field = pilot.app.screen.query_one("#solve-executor")
        field.value = "dask://scheduler"  # no port
        await settle(pilot)

    assert snap_compare(make_app("solve"), terminal_size=SIZES["small"], run_before=before)


# --------------------------------------------------------------------------- runs refresh cost

def test_a_refresh_with_nothing_changed_renders_no_line_and_a_change_renders_only_its_line():
    from textual.app import App

    from console.widgets.line_table import Column, LineTable, Row

    rows = [Row(str(i), (i, f"run {i}", "succeeded")) for i in range(1000)]

    class One(App):
        def compose(self):
            yield LineTable([Column("id", "Id", 5), Column("name", "Name", 10), Column("s", "Status", 10)])

    async def flow():
        app = One()
        async with app.run_test(size=(60, 20)) as pilot:
            table = app.query_one(LineTable)
            table.set_rows(rows)
            await pilot.pause()
            cached = dict(table._cache)
            assert len(cached) >= 15  # the visible lines were rendered once
            table.set_rows([Row(r.key, r.values) for r in rows])  # the same runs, read again
            assert table._cache == cached  # nothing to render again
            changed = list(rows)
            changed[3] = Row("3", (3, "run 3", "failed"))
            table.set_rows(changed)
            assert {k for k in cached if k not in table._cache} == {k for k in cached if k[0] == 3}
            await pilot.pause()
            assert "failed" in "".join(seg.text for seg in table.render_line(4))

    asyncio.run(flow())


def test_runs_refresh_reads_with_a_fixed_number_of_queries_whatever_the_number_of_runs(fleet_db):
    """No per-run query (N+1): a refresh costs the same few statements with 5 runs or 300."""
    from sqlalchemy import event

    from console.console_data import StoreData
    from console.store.runs import claim_next_run, enqueue_run, finish_run, runs_engine

    def statements_per_refresh(data) -> int:
        seen = []
        listener = lambda *a, **k: seen.append(1)  # noqa: E731
        event.listen(data.engine, "before_cursor_execute", listener)
        try:
            data.list_runs()
        finally:
            event.remove(data.engine, "before_cursor_execute", listener)
        return len(seen)

    def add(n):
        engine = runs_engine(fleet_db)
        for _ in range(n):
            run_id = enqueue_run(engine, "maintenance", options={"solver": "heuristic"})
            claim_next_run(engine, 1)
            finish_run(engine, run_id, "succeeded", plan={"version": 1, "kind": "maintenance", "status": "feasible",
                                                           "makespan": 1, "migrations": [], "reboots": [],
                                                           "solver": {"name": "t", "wall_s": 0.1}})
        engine.dispose()

    add(5)
    data = StoreData(fleet_db)
    data.list_runs()  # first use creates nothing further
    few = statements_per_refresh(data)
    add(295)
    many = statements_per_refresh(data)
    assert many == few <= 4, (few, many)



# --------------------------------------------------------------------------- cold start

def test_the_first_fleet_table_is_read_without_importing_sqlalchemy(fleet_db):
    """SQLAlchemy + SQLModel cost ~0.6 s to import on 2 busy cores: the Fleet table's first rows
    come from the stdlib driver, and they are the real hosts with their load."""
    import subprocess
    import sys

    code = ("import sys; from console.console_data import StoreData; d = StoreData(sys.argv[1], lazy=True); "
            "hosts = d.host_summaries(); assert 'sqlalchemy' not in sys.modules, 'sqlalchemy imported'; "
            "print(len(hosts), hosts[0].id, hosts[0].vms, round(hosts[0].used['cpu'], 3), d.summary_info['vms'])")
    out = subprocess.run([sys.executable, "-c", code, str(fleet_db)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    from console.store.fleet_store import list_hosts

    engine = open_engine(fleet_db)
    try:
        hosts = list_hosts(engine)
    finally:
        engine.dispose()
    first = hosts[0]
    assert out.stdout.split() == [str(len(hosts)), first.id, str(first.vms), str(round(first.used["cpu"], 3)), "400"]


def test_fleet_table_shows_real_hosts_before_the_snapshot_is_read(fleet_db):
    """First paint is the real host table (from the summary) while the whole snapshot is still
    being read; the snapshot read starts only after that table was painted."""
    import threading

    from console.app import FleetConsole
    from console.console_data import StoreData
    from tests.test_console_snapshots import NO_KEYMAP

    release = threading.Event()
    painted_first = []

    class SlowSnapshot(StoreData):
        def snapshot(self):
            table = app.screen.query_one("#hosts")
            painted_first.append((table.row_count, len(table._cache)))  # rows set, lines rendered
            release.wait(timeout=20)
            return super().snapshot()

    app = FleetConsole(SlowSnapshot(fleet_db, lazy=True), poll_interval=3600, keymap_path=NO_KEYMAP)

    async def flow():
        async with app.run_test(size=(130, 40)) as pilot:
            for _ in range(500):
                if painted_first:
                    break
                await asyncio.sleep(0.01)
            assert painted_first, "the snapshot was never read"
            rows, rendered = painted_first[0]
            assert rows == 40 and rendered > 0  # filled and painted before the read began
            await pilot.pause()
            table = app.screen.query_one("#hosts")
            line = "".join(seg.text for seg in table.render_line(1))
            assert table.rows[0].key in line and app.snapshot is None
            tree = app.screen.query_one("#fleet-tree")
            assert [str(n.label) for n in tree.root.children] == ["dc1 (4 racks)"]  # the tree too, from the summary
            release.set()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.snapshot is not None and table.row_count == 40

    try:
        asyncio.run(flow())
    finally:
        release.set()


def test_indexing_vms_for_the_filter_never_reprs_the_snapshot(monkeypatch):
    """Textual names a worker with repr() of its arguments unless given a description: 6 s on the
    UI thread for a 100k-VM snapshot."""
    from engine.model import Snapshot
    from tests.test_console_keys import console_app

    calls = []
    monkeypatch.setattr(Snapshot, "__repr__", lambda self: calls.append(1) or "Snapshot(…)")

    async def flow():
        app = console_app(start_mode="fleet")
        async with app.run_test(size=(130, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.snapshot is not None

    asyncio.run(flow())
    assert calls == []
