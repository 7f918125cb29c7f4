"""Issue 12, defect 10 and "also expected": keys as documented, find a VM, natural order,
screenshot from the palette, the theme remembered."""

from __future__ import annotations

import asyncio
import json

from console.app import FleetConsole
from console.widgets.line_table import LineTable, natural_key
from tests.console_fixtures import fixture_data
from tests.test_console_trust import NO_KEYMAP, settle, type_keys


def console_app(**kw) -> FleetConsole:
    data, *_ = fixture_data()
    return FleetConsole(data, poll_interval=3600, keymap_path=NO_KEYMAP, **kw)


def test_ctrl_p_opens_the_palette_and_esc_closes_a_field_before_leaving_the_screen():
    async def flow():
        app = console_app(start_mode="fleet")
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            await pilot.press("ctrl+p")
            await settle(pilot)
            assert type(app.screen).__name__ == "CommandPalette"
            await pilot.press("escape")
            await settle(pilot)
            await pilot.press("3")  # Solve: a text field takes the focus
            app.screen.query_one("#solve-problem").display = True
            problem = app.screen.query_one("#solve-problem")
            problem.focus()
            await type_keys(pilot, "x", "escape")
            await settle(pilot)
            assert app.current_mode == "solve" and app.focused is None and problem.value == "x"
            await type_keys(pilot, "k")  # a screen key works again: it is no longer typed into the field
            await settle(pilot)
            assert problem.value == "x"
            await type_keys(pilot, "escape")
            await settle(pilot)
            assert app.current_mode == "fleet"
            # the Gantt find bar: esc closes the bar, the next esc leaves
            await type_keys(pilot, "4", "slash", "v", "m")
            await settle(pilot)
            bar = app.screen.query_one("#schedule-filter")
            assert bar.has_class("-shown")
            await type_keys(pilot, "escape")
            await settle(pilot)
            assert app.current_mode == "schedule" and not bar.has_class("-shown")

    asyncio.run(flow())


def test_fleet_filter_finds_the_host_of_a_vm_or_a_customer_and_counts_matches():
    data, snap, *_ = fixture_data()

    async def flow():
        app = FleetConsole(data, poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            vm = snap.vms[7]
            await type_keys(pilot, "slash", *vm.id)
            await settle(pilot)
            hosts = app.screen.query_one("#hosts", LineTable)
            assert [r.key for r in hosts.rows] == [vm.host]
            bar = app.screen.query_one("#fleet-filter")
            assert bar.border_title == f"1 of {len(snap.hosts)} match"
            bar.value = "cust-b"
            await settle(pilot)
            with_b = {v.host for v in snap.vms if v.customer == "cust-b" and v.host}
            assert {r.key for r in hosts.rows} == with_b

    asyncio.run(flow())


def test_hosts_sort_naturally():
    assert sorted(["h12", "h2", "h1", "rack-10-h3", "rack-9-h3"], key=natural_key) == \
        ["h1", "h2", "h12", "rack-9-h3", "rack-10-h3"]


def test_palette_screenshot_saves_an_svg_and_the_theme_is_remembered(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = tmp_path / "console.json"

    async def flow(expect_theme=None):
        app = console_app(settings_path=settings)
        async with app.run_test(size=(120, 34)) as pilot:
            await settle(pilot)
            if expect_theme is not None:
                assert app.theme == expect_theme
                return
            app.action_save_screenshot()
            await pilot.press("ctrl+t")
            await settle(pilot)
            return app.theme

    chosen = asyncio.run(flow())
    shots = list(tmp_path.glob("screenshot-*.svg"))
    assert len(shots) == 1 and shots[0].read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert json.loads(settings.read_text(encoding="utf-8"))["theme"] == chosen
    asyncio.run(flow(expect_theme=chosen))
