"""At 80×24 nothing is pushed off screen or drawn over (console polish, item 4): the Runs table's
columns all fit, and footer keys never run under the pinned ? and q."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets._footer import FooterKey

from console.widgets.footer import PINNED_ACTIONS
from tests.test_console_snapshots import make_app, settle


@pytest.mark.parametrize("mode", ["fleet", "limits", "solve", "schedule", "allocation", "runs"])
def test_footer_keys_never_overlap_help_and_quit_at_80_columns(mode):
    async def flow():
        app = make_app(mode)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            keys = list(app.screen.query(FooterKey))
            pinned = [k for k in keys if k.action in PINNED_ACTIONS]
            assert {k.action for k in pinned if k.display} == set(PINNED_ACTIONS)
            left = min(k.region.x for k in pinned)
            shown = [k for k in keys if k.display and k not in pinned]
            assert shown, "some screen keys stay"
            for key in shown:
                assert key.region.right <= left, f"{key.action} ({key.region}) runs under ? / q at x={left}"
            assert max(k.region.right for k in pinned) <= 80

    asyncio.run(flow())


def test_runs_table_columns_fit_80_columns():
    async def flow():
        app = make_app("runs")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            table = app.screen.query_one("#runs-table")
            used = sum(c.width + 1 for c in table.columns)
            assert used <= table.scrollable_content_region.width, [c.label for c in table.columns]
            assert [c.key for c in table.columns][-2:] == ["created", "elapsed"]

    asyncio.run(flow())
