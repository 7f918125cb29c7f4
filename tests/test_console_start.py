"""Console start-up and the remaining #12 trust items: one limits validation for stored sets,
the executor chosen on Solve, metrics of a plan made for another fleet, a cheap Runs refresh."""

from __future__ import annotations

import asyncio
import json

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
