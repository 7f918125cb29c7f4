"""`fleetctl solve maintenance`: exit codes, files, stdout/stderr discipline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from console.cli.main import app
from engine.documents import load_plan, load_snapshot
from engine.validate import validate_maintenance
from engine.documents import load_limits

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "fixtures" / "toy.json"
TOY_LIMITS = ROOT / "fixtures" / "toy-limits.json"

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["solve", "maintenance", *args])


def test_toy_plan_and_runbook_files(tmp_path):
    out, runbook = tmp_path / "plan.json", tmp_path / "runbook.csv"
    res = run("--snapshot", str(TOY), "--limits", str(TOY_LIMITS), "--time-limit", "5", "--workers", "1",
              "--out", str(out), "--csv", str(runbook))
    assert res.exit_code == 0, res.output
    assert "optimal" in res.stdout
    plan = load_plan(out)
    assert plan.status == "optimal" and plan.makespan == 20
    assert validate_maintenance(load_snapshot(TOY), load_limits(TOY_LIMITS), plan) == []
    rows = list(csv.DictReader(runbook.open()))
    assert [r["action"] for r in rows].count("migrate") == 3 and rows[-1]["action"] == "reboot"
    starts = [int(r["start_min"]) for r in rows]  # console.runbook: the one runbook format
    assert starts == sorted(starts)
    assert [int(r["step"]) for r in rows] == list(range(1, len(rows) + 1))


def test_json_on_stdout_is_the_plan():
    res = run("--snapshot", str(TOY), "--limits", str(TOY_LIMITS), "--json", "--solver", "heuristic")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["kind"] == "maintenance" and doc["status"] in ("feasible", "optimal")
    assert doc["solver"]["name"] == "heuristic"
    assert len(doc["migrations"]) == 3


def test_bad_snapshot_exits_2_naming_the_problem(tmp_path):
    bad = tmp_path / "bad.json"
    data = json.loads(TOY.read_text())
    data["vms"][0]["cpu"] = -1
    data["hosts"][0]["colour"] = "red"
    bad.write_text(json.dumps(data))
    res = run("--snapshot", str(bad))
    assert res.exit_code == 2
    assert "vm1" in res.stderr and "colour" in res.stderr
    assert "Traceback" not in res.output


def test_usage_errors_exit_2(tmp_path):
    assert run("--snapshot", str(TOY), "--solver", "magic").exit_code == 2
    assert run("--snapshot", str(TOY), "--db", str(tmp_path / "x.db")).exit_code == 2
    assert run("--snapshot", str(TOY), "--time-limit", "0").exit_code == 2
    assert run("--db", str(tmp_path / "missing.db")).exit_code == 2


def test_infeasible_exits_3_with_an_explanation(tmp_path):
    data = json.loads(TOY.read_text())
    data["hosts"][1]["memory_gb"] = 20  # the spare host cannot take the three VMs
    snap = tmp_path / "tight.json"
    snap.write_text(json.dumps(data))
    lim = tmp_path / "lim.json"
    lim.write_text(json.dumps({"capacity": {"rolling": False}}))
    out = tmp_path / "plan.json"
    res = run("--snapshot", str(snap), "--limits", str(lim), "--time-limit", "5", "--workers", "1", "--out", str(out))
    assert res.exit_code == 3, res.output
    assert "infeasible" in res.stdout
    plan = load_plan(out)
    assert plan.status == "infeasible" and plan.explanation and not plan.migrations


def test_db_snapshot_is_read_from_the_store(tmp_path):
    from console.store.db import open_engine
    from console.store.fleet_store import save_snapshot

    db = tmp_path / "fleet.db"
    save_snapshot(open_engine(db), load_snapshot(TOY))
    res = run("--db", str(db), "--limits", str(TOY_LIMITS), "--json", "--time-limit", "5", "--workers", "1")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["makespan"] == 20
