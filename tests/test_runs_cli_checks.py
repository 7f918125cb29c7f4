"""`runs submit` / `schedule add` check their options like `fleetctl solve`, and the runs
commands read through the shared store helpers (fast: no worker, no solve)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "fixtures" / "toy.json"


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def toy_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("checks") / "fleet.db"
    assert run("load", TOY, "--db", db).exit_code == 0
    return db


def _queued(db: Path) -> tuple[list, list]:
    runs = json.loads(run("runs", "list", "--db", db, "--json").stdout)
    schedules = json.loads(run("schedule", "list", "--db", db, "--json").stdout)
    return runs, schedules


# --------------------------------------------------------------------------- --time-limit / --workers


BAD_OPTIONS = [["--time-limit", "inf"], ["--time-limit", "nan"], ["--time-limit", "0"], ["--time-limit", "-1"],
               ["--time-limit", "1e9"], ["--workers", "0"], ["--workers", "-3"], ["--workers", "100000"]]


@pytest.mark.parametrize("command", [["runs", "submit", "maintenance"],
                                     ["schedule", "add", "maintenance", "--every", "1h", "--no-worker"]])
@pytest.mark.parametrize("option", BAD_OPTIONS, ids=lambda o: " ".join(o))
def test_out_of_range_solver_options_are_refused_like_solve(toy_db, command, option):
    solve = run("solve", "maintenance", "--snapshot", TOY, *option)
    assert solve.exit_code == 2 and solve.output.startswith("error: --"), solve.output
    r = run(*command, "--db", toy_db, *option)
    assert r.exit_code == 2, r.output
    assert r.output == solve.output  # the very same message
    assert _queued(toy_db) == ([], [])  # nothing queued or scheduled


def test_capacity_submit_checks_the_time_limit_too(toy_db):
    problem = toy_db.parent / "never-read.yaml"  # the option is checked before the file is read
    r = run("runs", "submit", "capacity", "--db", toy_db, "--problem-file", problem, "--problem", "p",
            "--time-limit", "inf")
    assert r.exit_code == 2 and "--time-limit must be a positive, finite number of seconds, got inf" in r.output
    assert _queued(toy_db) == ([], [])


def test_in_range_options_are_kept_with_the_schedule(tmp_path):
    db = tmp_path / "fleet.db"
    assert run("load", TOY, "--db", db).exit_code == 0
    r = run("schedule", "add", "maintenance", "--every", "1h", "--db", db, "--no-worker",
            "--time-limit", "604800", "--workers", "1")
    assert r.exit_code == 0, r.output
    [schedule] = json.loads(run("schedule", "list", "--db", db, "--json").stdout)
    assert schedule["options"]["time_limit_s"] == 604800 and schedule["options"]["workers"] == 1
