"""What-if sweep (issue 12, "also expected"): from Limits, `w` queues one background run per value of
one limit and plots the makespan against it."""

from __future__ import annotations

import asyncio

import pytest

from console.app import FleetConsole
from console.screens.sweep import parse_sweep, sweep_chart
from tests.console_fixtures import fixture_data, run_view
from tests.test_console_trust import NO_KEYMAP, settle, type_keys


def test_sweep_specs_are_checked():
    assert parse_sweep("concurrency.per_rack=4..12:4") == ("concurrency.per_rack", [4, 8, 12])
    for bad in ("per_rack=1..3", "conflict.per_customer=3..1", "conflict.per_customer=1..99", "placement.objective=1..2"):
        with pytest.raises(ValueError):
            parse_sweep(bad)


def test_w_queues_one_run_per_value_with_that_value_and_plots_the_makespans():
    data, *_ = fixture_data()
    queued = []

    def start_run(kind, limits, options, problem_path=None, limits_name=None):
        run_id = 100 + len(queued)
        value = limits.conflict.per_customer
        queued.append((run_id, value, limits_name))
        data._runs[run_id] = run_view(run_id, kind, "succeeded", None, objective=120 - 10 * value, bound=80)
        return run_id

    data.start_run = start_run

    async def flow():
        app = FleetConsole(data, start_mode="limits", poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            await type_keys(pilot, "w")
            await settle(pilot)
            assert type(app.screen).__name__ == "AskScreen"
            app.screen.query_one("#ask-input").value = "conflict.per_customer=1..3"
            await type_keys(pilot, "enter")
            for _ in range(50):
                await settle(pilot)
                if type(app.screen).__name__ == "SweepScreen" and app.screen.runs:
                    break
                await asyncio.sleep(0.05)
            assert [v for _r, v, _n in queued] == [1, 2, 3]
            assert all(n == f"defaults what-if conflict.per_customer={v}" for _r, v, n in queued)
            rows = app.screen.query_one("#sweep-table").rows
            assert [r.values[3] for r in rows] == [110, 100, 90]
            chart = str(app.screen.query_one("#sweep-chart").render())
            assert "110 min" in chart and "90 min" in chart

    asyncio.run(flow())


def test_sweep_chart_marks_pending_values():
    text = sweep_chart([(1, 100.0), (2, None)]).plain
    assert "100 min" in text and "…" in text
