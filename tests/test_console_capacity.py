"""Issue 12, defect 6: a capacity run stores the same per-slot document as `fleetctl solve capacity
--json`, and Allocation shows it as a real per-slot table with reserved vs on-demand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from console.screens.allocation import capacity_slot_rows

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT.parent / "shared" / "malloovia-examples" / "problem1.yaml"
FLEETCTL = str(Path(sys.executable).with_name("fleetctl"))

RUN_IN_FRESH_PROCESS = """
import json, sys
from console.runner.dispatch import SOLVE, RunInputs
from engine.progress import Cancellation
body = open(sys.argv[1], encoding="utf-8").read()
plan = SOLVE["capacity"](RunInputs("capacity", "malloovia+yaml", body, None,
                                   {"problem": "example", "phase": "ii", "problem_file": sys.argv[1]}),
                         lambda e: None, Cancellation())
print(json.dumps(plan))
"""


@pytest.fixture(scope="module")
def cli_and_run_plans():
    if not EXAMPLE.is_file():
        pytest.fail(f"{EXAMPLE} is missing (the shared Malloovia examples)")
    cli = subprocess.run([FLEETCTL, "solve", "capacity", str(EXAMPLE), "--problem", "example", "--phase", "ii",
                          "--json"], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert cli.returncode == 0, cli.stderr
    run = subprocess.run([sys.executable, "-c", RUN_IN_FRESH_PROCESS, str(EXAMPLE)], capture_output=True, text=True,
                         timeout=240, cwd=ROOT)  # HiGHS never shares a process with OR-Tools (NOTES.md)
    assert run.returncode == 0, run.stderr
    return json.loads(cli.stdout), json.loads(run.stdout.strip().splitlines()[-1])


def test_a_capacity_run_stores_every_slot_like_the_cli(cli_and_run_plans):
    cli, run = cli_and_run_plans
    assert run["slots"] and len(run["slots"]) == len(cli["slots"])
    for key in ("phase", "problem", "status", "cost", "reserved", "slot_statuses", "slots"):
        assert run[key] == cli[key], key


def test_allocation_rows_show_each_slot_with_reserved_and_on_demand_totals(cli_and_run_plans):
    _cli, plan = cli_and_run_plans
    columns, rows, series, note = capacity_slot_rows(plan)
    names = [c.key for c in columns]
    assert names[:3] == ["slot", "status", "cost"] and names[-2:] == ["reserved", "ondemand"]
    assert len(rows) == len(plan["slots"]) == len(series)
    reserved = set(plan["reserved"])
    for row, slot, (r, d) in zip(rows, plan["slots"], series):
        values = dict(zip(names, row.values))
        assert values["slot"] == slot["slot"] and values["status"] == slot["status"]
        total = sum(n for per in slot["vms"].values() for n in per.values())
        assert r + d == pytest.approx(total)
        assert r == pytest.approx(sum(n for per in slot["vms"].values() for c, n in per.items() if c in reserved))
    assert f"{len(plan['slots'])} slots" in note
    assert "{'" not in repr([row.values for row in rows])  # no Python reprs in cells
