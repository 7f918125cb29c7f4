"""Console building blocks without a terminal: Gantt lanes, table sorting, the action registry,
limits validation, plan metrics, capacity tables."""

from __future__ import annotations

import json

import pytest

from console.actions import ACTIONS, SCREENS, actions_for, bindings_for, load_keymap
from console.plan_metrics import maintenance_metrics, peak_concurrency
from console.screens.allocation import capacity_rows, placement_rows
from console.screens.limits import FIELDS, validate_form
from console.widgets.gantt import GROUPS, bar_text, build_lines
from console.widgets.line_table import _sort_key
from engine.model import Limits
from tests.console_fixtures import big_plan, list_schedule, placement_for, small_fleet


# ---------------------------------------------------------------- Gantt lanes


@pytest.mark.parametrize("group", GROUPS)
def test_lanes_hold_every_migration_once_and_rows_never_overlap(group):
    snap = small_fleet()
    plan = list_schedule(snap)
    lines = build_lines(plan, snap, group)
    seen = sorted(b.index for line in lines for b in line.bars if b.kind == "migration")
    assert seen == list(range(len(plan.migrations)))
    for line in lines:
        for a, b in zip(line.bars, line.bars[1:]):
            assert a.end <= b.start, (line.lane, a, b)
        assert line.ends == [b.end for b in line.bars]


def test_source_lanes_show_each_reboot_on_its_host_and_customer_lanes_none():
    snap = small_fleet()
    plan = list_schedule(snap)
    by_source = build_lines(plan, snap, "source")
    reboots = {(line.lane, b.start) for line in by_source for b in line.bars if b.kind == "reboot"}
    assert reboots == {(r.host, r.start) for r in plan.reboots}
    by_customer = build_lines(plan, snap, "customer")
    assert all(b.kind == "migration" for line in by_customer for b in line.bars)
    customers = {line.lane for line in by_customer}
    assert customers == {snap.vm_by_id[m.vm].customer for m in plan.migrations}


def test_lane_packing_uses_as_many_rows_as_the_peak_overlap():
    snap = small_fleet()
    plan = list_schedule(snap, per_source=2)
    lines = build_lines(plan, snap, "source")
    for host in {m.source for m in plan.migrations}:
        rows = [line for line in lines if line.lane == host]
        intervals = [(m.start, m.end) for m in plan.migrations if m.source == host]
        intervals += [(r.start, r.end) for r in plan.reboots if r.host == host]
        assert len(rows) == peak_concurrency(intervals)


def test_bar_text_shows_the_start_of_long_ids_with_an_ellipsis():
    assert bar_text("vm-0126", 4) == "▏vm…"  # a tail ("▏126") read as noise (console polish, item 2)
    assert bar_text("vm-0126", 1) == "▏"
    assert bar_text("vm-0126", 10) == "▏vm-0126  "
    assert len(bar_text("vm-0126", 7)) == 7


def test_big_plan_lanes_build_quickly():
    import time

    snap, plan = big_plan(10_000)
    t = time.perf_counter()
    lines = build_lines(plan, snap, "source")
    assert time.perf_counter() - t < 2.0
    assert sum(len(line.bars) for line in lines) == 10_000 + len(plan.reboots)


# ---------------------------------------------------------------- table sorting


def test_sort_key_puts_none_last_and_never_compares_mixed_types():
    values = [3, None, "b", 1.5, "a", None, 0]
    ordered = sorted(values, key=_sort_key)
    assert ordered == [0, 1.5, 3, "a", "b", None, None]


# ---------------------------------------------------------------- action registry


def test_action_ids_are_unique_and_keys_do_not_clash_within_a_scope():
    ids = [a.id for a in ACTIONS]
    assert len(ids) == len(set(ids))
    app_keys = {k.strip() for a in actions_for("app") for k in a.keys.split(",")}
    for scope in {a.scope for a in ACTIONS} - {"app"}:
        keys = [k.strip() for a in actions_for(scope) for k in a.keys.split(",")]
        assert len(keys) == len(set(keys)), scope
        # a screen may shadow an app key only deliberately (escape leaves a field on Limits)
        assert set(keys) & app_keys <= {"escape"}, scope


def test_every_screen_has_a_switch_key_and_bindings_carry_registry_ids():
    keys = {a.keys for a in actions_for("app") if a.id.startswith("app.screen_")}
    assert keys == {key for _, key, _ in SCREENS}
    for binding in bindings_for("fleet"):
        assert binding.id.startswith("fleet.")


def test_keymap_file_overrides_known_ids_and_reports_unknown_ones(tmp_path):
    path = tmp_path / "keymap.toml"
    path.write_text('[keys]\n"fleet.filter" = "f"\n"fleet.nope" = "x"\n"runs.mark" = ""\n', encoding="utf-8")
    keymap, problems = load_keymap(path)
    assert keymap == {"fleet.filter": "f"}
    assert any("fleet.nope" in p for p in problems)
    assert any("runs.mark" in p for p in problems)
    jpath = tmp_path / "keymap.json"
    jpath.write_text(json.dumps({"schedule.zoom_in": "i"}), encoding="utf-8")
    assert load_keymap(jpath) == ({"schedule.zoom_in": "i"}, [])


# ---------------------------------------------------------------- limits form


def _form(limits: Limits) -> dict:
    from console.screens.limits import _get, display_value

    doc = limits.to_json_dict()
    return {path: display_value(_get(doc, path), kind) for path, _l, kind in FIELDS}


def test_limits_form_round_trips_every_field():
    limits = Limits.model_validate({
        "capacity": {"headroom": {"cpu": 0.1, "memory_gb": 0.2, "disk_gb": 0.05}, "rolling": False},
        "concurrency": {"per_source_host": 2, "per_target_host": 3, "per_rack": 6, "per_datacenter": 40,
                        "global": 100, "max_hosts_down_per_rack": 1},
        "conflict": {"per_customer": 1, "per_customer_fraction": 0.25, "overrides": {"acme": 3, "beta": 2}},
        "migration": {"gb_per_minute": 4.0, "default_gbps": 2.5},
        "placement": {"objective": "balance", "max_vms_per_customer_per_host": 4},
        "solve": {"time_limit_s": 12, "workers": 2, "seed": 7},
    })
    parsed, errors = validate_form(_form(limits))
    assert errors == {}
    assert parsed == limits


def test_limits_form_names_each_bad_field():
    values = _form(Limits())
    values["concurrency.per_rack"] = "six"
    values["capacity.headroom.cpu"] = "1.5"
    values["conflict.overrides"] = "acme=3, broken"
    values["solve.time_limit_s"] = "0"
    parsed, errors = validate_form(values)
    assert parsed is None
    assert set(errors) == {"concurrency.per_rack", "capacity.headroom.cpu", "conflict.overrides",
                           "solve.time_limit_s"}
    assert "broken" in errors["conflict.overrides"]


def test_blank_concurrency_means_no_limit():
    values = _form(Limits.model_validate({"concurrency": {"per_rack": 6}}))
    values["concurrency.per_rack"] = ""
    parsed, errors = validate_form(values)
    assert errors == {} and parsed.concurrency.per_rack is None


# ---------------------------------------------------------------- metrics and tables


def test_peak_concurrency_counts_touching_intervals_as_sequential():
    assert peak_concurrency([(0, 10), (10, 20)]) == 1
    assert peak_concurrency([(0, 10), (5, 15), (9, 11)]) == 3
    assert peak_concurrency([]) == 0


def test_maintenance_metrics_per_customer_peaks_match_a_brute_force_count():
    snap = small_fleet()
    plan = list_schedule(snap, per_source=2)
    metrics = maintenance_metrics(plan, snap)
    for customer, peak in metrics.peak_by_customer.items():
        spans = [(m.start, m.end) for m in plan.migrations if snap.vm_by_id[m.vm].customer == customer]
        brute = max(sum(1 for s, e in spans if s <= t < e) for t in range(plan.makespan + 1))
        assert peak == brute
    assert metrics.migrations == len(plan.migrations)


def test_customer_peak_counts_non_migratable_vms_down_with_their_host():
    from engine.model import MaintenancePlan, Snapshot

    snap = Snapshot.model_validate({
        "datacenters": [{"id": "dc"}], "racks": [{"id": "r", "datacenter": "dc"}],
        "hosts": [{"id": "h1", "rack": "r", "cpu": 8, "memory_gb": 8, "disk_gb": 8, "state": "needs_reboot"},
                  {"id": "h2", "rack": "r", "cpu": 8, "memory_gb": 8, "disk_gb": 8}],
        "customers": [{"id": "acme"}],
        "vms": [{"id": "a", "host": "h1", "customer": "acme", "cpu": 1, "memory_gb": 1, "disk_gb": 1},
                {"id": "b", "host": "h1", "customer": "acme", "cpu": 1, "memory_gb": 1, "disk_gb": 1,
                 "migratable": False}]})
    plan = MaintenancePlan.model_validate({
        "status": "feasible", "makespan": 20,
        "migrations": [{"vm": "a", "source": "h1", "target": "h2", "start": 0, "end": 10}],
        "reboots": [{"host": "h1", "start": 10, "end": 20}], "solver": {"name": "hand"}})
    assert maintenance_metrics(plan, snap).peak_by_customer == {"acme": 1}
    # Not a valid plan (h1 reboots before a leaves): only the counting is under test.
    overlapping = plan.model_copy(update={"migrations": [plan.migrations[0].model_copy(update={"start": 5, "end": 15})]})
    assert maintenance_metrics(overlapping, snap).peak_by_customer == {"acme": 2}


def test_placement_rows_add_assigned_vms_to_the_after_utilisation():
    snap = small_fleet()
    plan = placement_for(snap)
    assign, util = placement_rows(plan, snap)
    assert len(assign) == len(plan.assignments)
    host = plan.assignments[0].host
    row = next(r for r in util if r.key == host)
    cpu_before, cpu_after = row.values[3], row.values[4]
    added = sum(snap.vm_by_id[a.vm].cpu for a in plan.assignments if a.host == host)
    assert cpu_after == pytest.approx(cpu_before + added / snap.host_by_id[host].cpu)


def test_capacity_rows_read_a_malloovia_style_allocation():
    phase_i = {"id": "solution_i", "solving_stats": {"status": "optimal"}, "allocation": {
        "apps": [{"id": "web"}, {"id": "db"}], "instance_classes": [{"id": "m1.r"}, {"id": "m1.od"}],
        "workload_tuples": [[10, 5], [20, 5]], "repeats": [3, 1],
        "vms_number": [[[1, 0], [1, 1]], [[2, 1], [1, 0]]]}}
    columns, rows, note = capacity_rows({"Solutions": [phase_i]})
    assert [c.key for c in columns][-3:] == ["m1.r", "m1.od", "total"]
    assert len(rows) == 4
    assert rows[2].values == (1, "web", 20, 1, 2, 1, 3)
    assert "2 workload levels" in note
    # with a Phase II solution the per-slot table (and each slot's status) is shown
    phase_ii = {"id": "solution_ii", "solving_stats": [{"status": "optimal"}, {"status": "overfull"}, {"status": "optimal"}],
                "allocation": {"apps": [{"id": "web"}, {"id": "db"}], "instance_classes": [{"id": "m1.r"}, {"id": "m1.od"}],
                               "workload_tuples": [[10, 5], [20, 5], [10, 5]], "repeats": [1, 1, 1],
                               "vms_number": [[[1, 0], [1, 1]], [[2, 2], [1, 0]], [[1, 0], [1, 1]]]}}
    columns, rows, note = capacity_rows({"Solutions": [phase_i, phase_ii]})
    assert len(rows) == 6 and "3 slots" in note
    assert rows[2].values == (1, "web", "overfull", 20, 2, 2, 4)


def test_console_command_refuses_a_file_that_is_not_a_database(tmp_path):
    from typer.testing import CliRunner

    from console.cli.main import app

    bad = tmp_path / "notes.db"
    bad.write_text("these are not the tables you are looking for\n" * 50, encoding="utf-8")
    result = CliRunner().invoke(app, ["console", "--db", str(bad)])
    assert result.exit_code == 1
    assert "cannot open the database" in result.output
    assert "Traceback" not in result.output


def test_capacity_rows_read_malloovias_own_solution_file():
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[2] / "shared" / "malloovia-examples" / "problems_plus_solutions_with_allocation.yaml"
    assert path.exists(), f"{path} missing: ../shared must sit beside the repository"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    columns, rows, note = capacity_rows(doc)
    phase_ii = doc["Solutions"][-1]["allocation"]
    assert len(rows) == len(phase_ii["vms_number"]) * len(phase_ii["apps"])
    assert "slots" in note
    assert all(isinstance(v, float) for v in rows[0].values[-3:])


def test_solve_options_follow_the_kind_objective_and_limits(monkeypatch):
    import asyncio

    monkeypatch.delenv("FLEETCTL_EXECUTOR", raising=False)  # the Executor field's default: local

    from console.app import FleetConsole
    from tests.console_fixtures import fixture_data

    data, *_ = fixture_data()

    async def flow():
        app = FleetConsole(data, start_mode="solve", poll_interval=3600, keymap_path=tmp_keymap())
        async with app.run_test(size=(120, 34)) as pilot:
            await pilot.pause()
            screen = app.screen
            app.set_limits(Limits.model_validate({"solve": {"time_limit_s": 12, "workers": 1}}))
            assert screen.selected_options() == ("maintenance", {"solver": "cp-sat", "time_limit_s": 12, "workers": 1,
                                                                 "executor": "local"}, None)
            screen.action_cycle_kind()
            await pilot.pause()
            screen.query_one("#solve-objective").value = "rebalance"
            screen.query_one("#solve-max-moves").value = "7"
            await pilot.pause()
            kind, options, _ = screen.selected_options()
            assert kind == "placement" and options["objective"] == "rebalance" and options["max_moves"] == 7
            assert screen.query_one("#solve-max-moves").display
            screen.query_one("#solve-max-moves").value = "lots"
            with pytest.raises(ValueError):
                screen.selected_options()

    asyncio.run(flow())


def tmp_keymap():
    from pathlib import Path

    return Path(__file__).with_name("no-such-keymap.toml")


def test_marking_past_the_limit_drops_the_oldest_mark():
    from console.widgets.line_table import LineTable

    table = LineTable([])
    for key in ("3", "1", "2"):
        table.toggle_mark(key, limit=2)
    assert list(table.marked) == ["1", "2"]
    table.toggle_mark("1", limit=2)
    assert list(table.marked) == ["2"]


def test_compare_lists_exactly_the_limits_that_differ():
    from console.screens.runs import limits_diff

    a = {"concurrency": {"per_rack": 6}, "solve": {"time_limit_s": 30}}
    b = {"concurrency": {"per_rack": 8}, "conflict": {"overrides": {"acme": 1}}}
    assert limits_diff(a, b) == [("concurrency.per_rack", 6, 8), ("conflict.overrides", {}, {"acme": 1})]
    assert limits_diff(None, {}) == []


def test_fit_makes_the_makespan_fill_the_gantt_width():
    import asyncio
    import math
    from pathlib import Path

    from console.app import FleetConsole
    from console.console_data import MemoryData
    from console.widgets.gantt import Gantt
    from tests.console_fixtures import list_schedule, small_fleet

    snap = small_fleet()
    plan = list_schedule(snap)

    async def flow():
        app = FleetConsole(MemoryData(snap, []), start_mode="schedule", poll_interval=3600,
                           keymap_path=Path(__file__).with_name("no-such-keymap.toml"))
        async with app.run_test(size=(150, 30)) as pilot:
            await app.workers.wait_for_complete()
            app.show_plan(plan, "fixture")
            await pilot.pause()
            gantt = app.screen.query_one(Gantt)
            await pilot.press("plus", "plus", "0")
            await pilot.pause()
            used = math.ceil(plan.makespan / gantt.minutes_per_cell)
            assert 0.9 * (gantt.timeline_width - 2) <= used <= gantt.timeline_width - 2
            await pilot.press("minus")  # from a fit, zoom steps go back to the standard scales
            await pilot.pause()
            assert gantt.minutes_per_cell in (1, 2, 3, 5)

    asyncio.run(flow())
