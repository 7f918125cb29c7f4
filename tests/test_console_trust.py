"""Issue 12: what the operator typed, the plan for this fleet, one validation — reproduced first.

Keys are sent at operator speed (30 ms apart) through the real app with Textual's pilot.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.app import FleetConsole
from engine.model import Limits
from tests.console_fixtures import fixture_data

NO_KEYMAP = Path(__file__).with_name("no-such-keymap.toml")
KEY_GAP_S = 0.03  # operator speed: 30 ms between presses


CHARS = {"backspace": None, "end": None, "escape": None, "enter": "\r", "space": " ", "slash": "/"}


async def type_keys(pilot, *keys: str, gap: float = KEY_GAP_S) -> None:
    """Keys as a terminal delivers them: posted to the app as they come, without waiting for the
    app to go idle between them (pilot.press waits, which hides races a real operator hits)."""
    from textual import events

    for key in keys:
        char = CHARS.get(key, key if len(key) == 1 else None)
        pilot.app.post_message(events.Key(key, char))
        await asyncio.sleep(gap)


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def console_app(data=None, **kw) -> FleetConsole:
    if data is None:
        data, *_ = fixture_data()
    return FleetConsole(data, poll_interval=3600, keymap_path=NO_KEYMAP, **kw)


@pytest.mark.parametrize("gap", [0.0, 0.03, 0.07])
def test_fast_limit_edits_keep_exactly_what_was_typed(gap):
    """Defect 1: ⌫ ⌫ 2 5 over "40" ends at 25 on screen, in the app's limits and in what Solve uses."""

    async def flow():
        app = console_app(start_mode="limits")
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            app.set_limits(Limits.model_validate({"concurrency": {"per_datacenter": 40},
                                                  "solve": {"time_limit_s": 30}}), "demo")
            await settle(pilot)
            for attempt in range(5):
                field = app.screen.query_one("#lim-concurrency-per_datacenter")
                field.focus()
                await pilot.press("end")
                await type_keys(pilot, "backspace", "backspace", "2", "5", gap=gap)
                await settle(pilot)
                assert field.value == "25", f"attempt {attempt}: field shows {field.value!r}"
                assert app.limits.concurrency.per_datacenter == 25
                assert app.limits_problems == [] and app.limits.solve.time_limit_s == 30
                # and back to 40 for the next attempt, just as fast
                await type_keys(pilot, "backspace", "backspace", "4", "0", gap=gap)
                await settle(pilot)
                assert field.value == "40" and app.limits.concurrency.per_datacenter == 40
            time_field = app.screen.query_one("#lim-solve-time_limit_s")
            time_field.focus()
            await pilot.press("end")
            await type_keys(pilot, "backspace", "backspace", "4", "5", gap=gap)
            await settle(pilot)
            assert time_field.value == "45" and app.limits.solve.time_limit_s == 45

    asyncio.run(flow())
