"""`fleetctl solve placement`: inputs, outputs and exit codes (0, 1, 2, 3, 4, 130)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli.main import app
from engine.documents import load_plan, load_snapshot
from engine.model import Limits, PlacementPlan
from engine.placement.generate import exact_fit, random_fleet
from engine.validate_placement import validate_placement

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, name, obj) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return str(path)


def run(*args):
    return CliRunner().invoke(app, ["solve", "placement", *args])


@pytest.fixture
def small(tmp_path):
    return write(tmp_path, "small.json", exact_fit(6, 3, seed=1))


def test_solves_a_snapshot_file_and_prints_the_plan(small, tmp_path):
    out = tmp_path / "plan.json"
    r = run("--snapshot", small, "--json", "--time-limit", "5", "--out", str(out))
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout)
    assert plan["kind"] == "placement" and plan["status"] == "optimal" and plan["value"] == 6
    saved = load_plan(out)
    assert validate_placement(load_snapshot(small), Limits(), saved) == []
    check = CliRunner().invoke(app, ["check", small, write(tmp_path, "l.json", {}), str(out)])
    assert check.exit_code == 0, check.output


def test_human_output_names_status_value_and_bound(small):
    r = run("--snapshot", small, "--solver", "ffd")
    assert r.exit_code == 0
    assert "feasible" in r.stdout and "lower bound 6" in r.stdout


def test_bad_snapshot_exits_2_naming_the_record(tmp_path):
    doc = exact_fit(2, 3)
    doc["vms"][0]["cpu"] = -4
    r = run("--snapshot", write(tmp_path, "bad.json", doc))
    assert r.exit_code == 2
    assert doc["vms"][0]["id"] in r.output and "cpu" in r.output


def test_bad_limits_exit_2(small, tmp_path):
    r = run("--snapshot", small, "--limits", write(tmp_path, "l.json", {"placement": {"max_moves": 3}}))
    assert r.exit_code == 2 and "unknown key" in r.output


def test_conflicting_options_exit_2(small, tmp_path):
    assert run("--snapshot", small, "--db", str(tmp_path / "x.db")).exit_code == 2
    r = run("--snapshot", small, "--max-moves", "3")
    assert r.exit_code == 2 and "rebalance" in r.output
    assert run("--snapshot", small, "--solver", "magic").exit_code == 2


def test_infeasible_exits_3(tmp_path):
    doc = exact_fit(2, 3)
    doc["vms"][0]["cpu"] = 500
    r = run("--snapshot", write(tmp_path, "inf.json", doc), "--json")
    assert r.exit_code == 3
    assert json.loads(r.stdout)["status"] == "infeasible"


def test_no_plan_in_time_exits_4(small, monkeypatch):
    import engine.placement.solve as solve

    monkeypatch.setattr(solve, "solve_placement", lambda *a, **k: PlacementPlan(
        status="unknown", solver={"name": "stub"}, explanation="no placement found within the time limit"))
    assert run("--snapshot", small).exit_code == 4


def test_solver_bug_exits_1(small, monkeypatch):
    import engine.placement.solve as solve
    from engine.violations import PlanRejected, Violation

    def broken(*a, **k):
        raise PlanRejected("stub", [Violation("4-capacity", "host h0 over capacity")])

    monkeypatch.setattr(solve, "solve_placement", broken)
    r = run("--snapshot", small)
    assert r.exit_code == 1 and "4-capacity" in r.output


def test_rebalance_lists_moves(tmp_path):
    doc = random_fleet(30, 15, seed=2)
    for k, vm in enumerate(doc["vms"]):
        vm["host"] = doc["hosts"][k % 15]["id"]
    r = run("--snapshot", write(tmp_path, "s.json", doc), "--objective", "rebalance", "--max-moves", "3",
            "--time-limit", "4", "--json")
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout)
    assert plan["objective"] == "rebalance" and 0 < len(plan["moves"]) <= 3


def test_reads_the_current_fleet_from_the_database(tmp_path):
    from console.store.db import open_engine
    from console.store.fleet_store import save_snapshot
    from engine.documents import parse_snapshot

    db = tmp_path / "fleet.db"
    engine = open_engine(db)
    save_snapshot(engine, parse_snapshot(exact_fit(4, 3, seed=3)))
    engine.dispose()
    r = run("--db", str(db), "--json", "--time-limit", "5")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["value"] == 4


def test_empty_database_exits_2(tmp_path):
    from console.store.db import open_engine

    db = tmp_path / "empty.db"
    open_engine(db).dispose()
    r = run("--db", str(db))
    assert r.exit_code == 2 and "no fleet" in r.output


def test_ctrl_c_keeps_the_best_plan_and_exits_130(tmp_path):
    snap = write(tmp_path, "big.json", random_fleet(1000, 200, seed=0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli.main", "solve", "placement", "--snapshot", snap, "--solver", "lns",
         "--time-limit", "60", "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line, started = "", time.monotonic()
        while "greedy packing" not in line and time.monotonic() - started < 60:
            line = proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        out, errors = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, errors
    plan = json.loads(out)
    assert plan["status"] == "feasible" and plan["value"] >= plan["lower_bound"]
