"""Gantt bars name their VM (or rebooted host) from the start, cut with an ellipsis when the bar is short
(console polish, item 2): a tail such as `▏0044` or `▏1▏▏` told the operator nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.widgets.gantt import bar_text, fit_label, reboot_text


@pytest.mark.parametrize("n, want", [(1, "▏"), (2, "▏…"), (3, "▏v…"), (5, "▏vm-…"), (8, "▏vm-0044"),
                                     (10, "▏vm-0044  ")])
def test_migration_bar_shows_the_vm_id_or_its_start(n, want):
    assert bar_text("vm-0044", n) == want
    assert len(bar_text("vm-0044", n)) == n


@pytest.mark.parametrize("n, want", [(1, "⟳"), (4, "⟳ h…"), (8, "⟳ host-3"), (10, "⟳ host-3░░")])
def test_reboot_bar_shows_its_host(n, want):
    assert reboot_text("host-3", n) == want


def test_fit_label_never_changes_the_width():
    for n in range(0, 12):
        assert len(fit_label("customer-long-name", n)) == n


def test_bars_drawn_by_the_real_widget_start_with_their_vm_or_host():
    """Every bar cut into the visible window reads as the start of its VM id / host, whatever the zoom."""
    from console.app import FleetConsole
    from console.console_data import MemoryData
    from console.widgets.gantt import Gantt
    from tests.console_fixtures import list_schedule, small_fleet

    snap = small_fleet()
    plan = list_schedule(snap)
    names = {m.vm for m in plan.migrations} | {r.host for r in plan.reboots}

    async def flow():
        app = FleetConsole(MemoryData(snap, []), start_mode="schedule", poll_interval=3600,
                           keymap_path=Path(__file__).with_name("no-such-keymap.toml"))
        async with app.run_test(size=(100, 30)) as pilot:
            await app.workers.wait_for_complete()
            app.show_plan(plan, "fixture")
            await pilot.pause()
            gantt = app.screen.query_one(Gantt)
            checked = 0
            for zoom in ("0", "minus", "minus"):  # fitted, then shorter bars
                await pilot.press(zoom)
                await pilot.pause()
                for li in range(len(gantt.lines)):
                    strip = gantt._line_strip(li, 0, gantt.scrollable_content_region.width, -1)
                    for seg in list(strip)[1:]:
                        text = seg.text
                        if not text.startswith(("▏", "⟳")) or len(text) < 3:
                            continue
                        shown = text[1:].strip(" ░").rstrip("…")
                        assert any(name.startswith(shown) for name in names), text
                        checked += 1
            assert checked > 0

    asyncio.run(flow())
