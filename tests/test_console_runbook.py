"""The one runbook writer (console.runbook): the CLI's --csv and the console's export write the
same bytes; rows are in time order with customers and both datacenters; formula cells are neutralised."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from console.runbook import COLUMNS, neutralise, runbook_csv, write_runbook
from engine.documents import load_plan, load_snapshot
from engine.model import Customer
from tests.console_fixtures import list_schedule, small_fleet

ROOT = Path(__file__).resolve().parents[1]
FLEETCTL = str(Path(sys.executable).with_name("fleetctl"))


def test_rows_list_every_action_in_time_order_with_customer_and_datacenters():
    snap = small_fleet()
    plan = list_schedule(snap)
    rows = list(csv.DictReader(io.StringIO(runbook_csv(plan.migrations, plan.reboots, snap))))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == len(plan.migrations) + len(plan.reboots)
    assert [int(r["step"]) for r in rows] == list(range(1, len(rows) + 1))
    starts = [int(r["start_min"]) for r in rows]
    assert starts == sorted(starts)
    first = next(r for r in rows if r["action"] == "migrate")
    assert first["customer"] == snap.vm_by_id[first["vm"]].customer
    assert first["datacenter_source"] == first["datacenter_target"] == "dc1"
    assert {r["action"] for r in rows} == {"migrate", "reboot"}


def test_cli_csv_and_console_export_are_byte_identical(tmp_path):
    cli_csv, plan_json = tmp_path / "cli.csv", tmp_path / "plan.json"
    result = subprocess.run([FLEETCTL, "solve", "maintenance", "--snapshot", "fixtures/demo.json", "--solver",
                             "heuristic", "--time-limit", "5", "--csv", str(cli_csv), "--out", str(plan_json)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    plan, snap = load_plan(plan_json), load_snapshot(ROOT / "fixtures" / "demo.json")
    console_csv = tmp_path / "console.csv"
    write_runbook(console_csv, plan.migrations, plan.reboots, snap)  # what the console's `e` calls
    assert cli_csv.read_bytes() == console_csv.read_bytes()
    assert len(cli_csv.read_bytes().splitlines()) == 1 + len(plan.migrations) + len(plan.reboots)


def test_formula_cells_are_neutralised_with_a_single_quote():
    assert [neutralise(x) for x in ("=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "vm-1", 5)] == \
        ["'=1+1", "'+cmd", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "vm-1", 5]
    snap = small_fleet()
    evil = '=HYPERLINK("http://x","click")'
    vms = [v.model_copy(update={"customer": evil}) if v.host == "dc1-r01-h01" else v for v in snap.vms]
    snap = snap.model_copy(update={"vms": vms, "customers": [*snap.customers, Customer.model_construct(id=evil)]})
    plan = list_schedule(snap)
    rows = list(csv.DictReader(io.StringIO(runbook_csv(plan.migrations, plan.reboots, snap))))
    cells = [r["customer"] for r in rows if r["customer"]]
    assert cells and all(not c.startswith("=") for c in cells)
    assert f"'{evil}" in cells
