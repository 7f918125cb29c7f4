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


@pytest.mark.parametrize("size", [(80, 24), (130, 40)])
def test_schedule_footer_keeps_approve_and_replan(size):
    """Too narrow for every key, the footer hides the least important ones (registry footer_keep), not
    the screen's last: Approve and Replan stay; at 130 columns every key is shown."""
    from console.actions import actions_for

    async def flow():
        app = make_app("schedule")
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            keys = {k.action: k for k in app.screen.query(FooterKey)}
            assert keys["approve_plan"].display and keys["replan_execution"].display
            hidden = [a for a, k in keys.items() if not k.display]
            if size[0] >= 130:
                assert hidden == []
            else:
                assert hidden, "80 columns cannot hold every Schedule key"
                shown_ranks = {a.footer_keep for a in actions_for("schedule") if a.show and a.action not in hidden}
                assert min(shown_ranks) >= max(a.footer_keep for a in actions_for("schedule") if a.action in hidden)
                left = min(k.region.x for a, k in keys.items() if a in PINNED_ACTIONS)
                assert all(k.region.right <= left for a, k in keys.items() if k.display and a not in PINNED_ACTIONS)

    asyncio.run(flow())

