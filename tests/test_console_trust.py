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


@pytest.mark.parametrize("gap", [0.0, 0.05])
def test_fast_limit_edits_keep_exactly_what_was_typed(gap):
    """Defect 1: ⌫ ⌫ 2 5 over "40" ends at 25 on screen, in the app's limits and in what Solve uses."""

    async def flow():
        app = console_app(start_mode="limits")
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            app.set_limits(Limits.model_validate({"concurrency": {"per_datacenter": 40},
                                                  "solve": {"time_limit_s": 30}}), "demo")
            await settle(pilot)
            for attempt in range(3):
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


# ---------------------------------------------------------------- defect 4: one validation, no tracebacks

BAD_LIMITS = [
    ({"concurrency": {"per_datacenter": 10**26}}, "concurrency.per_datacenter"),
    ({"conflict": {"per_customer": -1}}, "conflict.per_customer"),
    ({"solve": {"time_limit_s": 0}}, "solve.time_limit_s"),
    ({"solve": {"seed": 2**40}}, "solve.seed"),
]


@pytest.mark.parametrize("doc,path", BAD_LIMITS)
def test_console_form_and_cli_reject_the_same_limits_in_the_same_words(tmp_path, doc, path):
    import json

    from typer.testing import CliRunner

    from console.cli.main import app as cli
    from console.screens.limits import FIELDS, _get, display_value, validate_form

    values = {p: display_value(_get(Limits().to_json_dict(), p), kind) for p, _l, kind in FIELDS}
    section, name = path.split(".")
    values[path] = str(doc[section][name])
    parsed, errors = validate_form(values)
    assert parsed is None and set(errors) == {path}
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(doc), encoding="utf-8")
    result = CliRunner().invoke(cli, ["limits", "save", "bad", str(file), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2, result.output
    assert errors[path] in result.output.replace("\n", " ")
    assert "Traceback" not in result.output


class RecordingData:
    """Fixture data whose start_run records what a solve would have used."""

    def __new__(cls):
        data, *_ = fixture_data()
        data.started = []

        def start_run(kind, limits, options, problem_path=None, limits_name=None):
            data.started.append((kind, limits, options, limits_name))
            return 1

        data.start_run = start_run
        return data


def test_an_overflowing_limit_is_refused_on_screen_and_no_solve_starts():
    data = RecordingData()

    async def flow():
        app = console_app(data, start_mode="limits")
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            field = app.screen.query_one("#lim-concurrency-per_datacenter")
            field.focus()
            await type_keys(pilot, *"100000000000000000000000000")
            await settle(pilot)
            assert field.has_class("-invalid")
            assert "at most 1000000000" in str(app.screen.query_one("#lim-concurrency-per_datacenter-error").render())
            assert app.limits_problems and app.limits_label == "defaults (invalid edits)"
            await pilot.press("escape", "3", "s")
            await settle(pilot)
            assert data.started == []  # the solve never ran with numbers other than those on screen
            assert any("fix them on Limits" in n.message for n in app._notifications)

    asyncio.run(flow())


def test_an_engine_error_is_one_line_on_screen_and_whole_in_details():
    from tests.console_fixtures import run_view

    data, *_ = fixture_data()
    error = ("OverflowError: Python int too large to convert to C long\n"
             "  File \"engine/maintenance/cpsat.py\", line 88, in build\n    model.Add(x <= limit)")
    data._runs[6] = run_view(6, "maintenance", "failed", None, error=error)

    async def flow():
        app = console_app(data, start_mode="solve")
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            app.watch_run(6)
            app._poll_tick()
            await settle(pilot)
            status = str(app.screen.query_one("#solve-status").render())
            assert "OverflowError: Python int too large" in status and "(d: details)" in status
            assert "File " not in status and "model.Add" not in status
            await pilot.press("d")
            assert type(app.screen).__name__ == "DetailsScreen"
            assert "model.Add(x <= limit)" in str(app.screen.query_one("#details-body").render())
            await pilot.press("escape")
            assert type(app.screen).__name__ == "SolveScreen"

    asyncio.run(flow())


# ---------------------------------------------------------------- defect 3: labels that do not lie


def test_modified_limits_are_labelled_and_reset_and_quit_ask_first():
    data = RecordingData()

    async def flow():
        app = console_app(data, start_mode="limits")
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            app.set_limits(Limits.model_validate({"concurrency": {"per_rack": 6}}), "demo")
            await settle(pilot)
            assert app.limits_label == "demo" and "limits demo" in app.context_line
            assert app.screen.query_one("#lim-solve-time_limit_s").value == "30"
            field = app.screen.query_one("#lim-concurrency-per_rack")
            field.focus()
            await pilot.press("end")
            await type_keys(pilot, "backspace", "8")
            await settle(pilot)
            assert app.limits_label == "demo (modified)" and "limits demo (modified)" in app.context_line
            await pilot.press("ctrl+r")
            assert type(app.screen).__name__ == "ConfirmScreen"
            await pilot.press("n")
            await settle(pilot)
            assert app.limits.concurrency.per_rack == 8
            await pilot.press("ctrl+r", "y")
            await settle(pilot)
            assert app.limits == Limits() and app.limits_label == "demo (modified)"
            blank = app.screen.query_one("#lim-solve-time_limit_s")
            blank.value = ""
            await settle(pilot)
            assert blank.placeholder == "30 (default)" and app.limits.solve.time_limit_s == 30
            await pilot.press("escape", "3", "s")
            await settle(pilot)
            assert data.started and data.started[0][3] == "demo (modified)"
            assert data.started[0][1].solve.time_limit_s == 30
            await pilot.press("q")
            assert type(app.screen).__name__ == "ConfirmScreen"
            await pilot.press("n")
            assert app.is_running

    asyncio.run(flow())
