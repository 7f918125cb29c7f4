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


# --------------------------------------------------------------------------- the shared store helpers


MISSING_DB_COMMANDS = [["runs", "list"], ["runs", "show", "1"], ["runs", "watch", "1", "--plain"],
                       ["runs", "cancel", "1"], ["schedule", "list"], ["schedule", "remove", "1"], ["plan", "latest"],
                       ["runs", "submit", "maintenance"], ["runs", "submit", "placement", "--limit-set", "x"],
                       ["runs", "submit", "capacity", "--problem-file", TOY, "--problem", "p", "--limit-set", "x"],
                       ["schedule", "add", "maintenance", "--every", "1h", "--no-worker"],
                       ["schedule", "add", "capacity", "--every", "1h", "--no-worker", "--limit-set", "x",
                        "--problem-file", TOY, "--problem", "p"]]


@pytest.mark.parametrize("command", MISSING_DB_COMMANDS, ids=lambda c: " ".join(map(str, c[:3])))
def test_a_missing_database_is_the_common_message_and_is_not_created(tmp_path, command):
    db = tmp_path / "typo.db"
    r = run(*command, "--db", db)
    assert r.exit_code == 2, r.output
    assert r.output == f"error: no database at {db}: load a snapshot first (fleetctl load FILE --db {db})\n"
    assert list(tmp_path.iterdir()) == []  # no database, -wal or -shm file


@pytest.mark.parametrize("command", [["runs", "show", "1"], ["runs", "cancel", "1"], ["schedule", "remove", "1"],
                                     ["plan", "latest"], ["limits", "list"]])
def test_a_file_that_is_not_a_database_is_one_line_in_process(tmp_path, command):
    not_db = tmp_path / "fleet.json"
    not_db.write_text('{"version": 1}')
    r = run(*command, "--db", not_db)
    assert r.exit_code == 1, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)  # no traceback
    assert r.output.startswith(f"error: {not_db}: not a fleetctl database") and r.output.count("\n") == 1, r.output
    assert not_db.read_text() == '{"version": 1}'


@pytest.fixture
def queued(monkeypatch) -> dict:
    """Record what would be queued through the one submit path (console.ops.runs.submit_run) instead
    of queuing it (no worker is spawned)."""
    import dataclasses
    from types import SimpleNamespace

    import console.ops.runs as ops_runs

    box: dict = {}

    def submit(engine, request, **_):
        box.update(dataclasses.asdict(request), db=Path(engine.url.database))
        return SimpleNamespace(id=41)

    monkeypatch.setattr(ops_runs, "submit_run", submit)
    return box


def test_submit_reads_a_saved_limit_set_and_the_current_fleet(tmp_path, queued):
    db = tmp_path / "fleet.db"
    zero = tmp_path / "zero.json"
    zero.write_text('{"conflict": {"per_customer": 0}}')
    assert run("load", TOY, "--db", db).exit_code == 0
    assert run("limits", "save", "zero", zero, "--db", db).exit_code == 0
    r = run("runs", "submit", "maintenance", "--db", db, "--limit-set", "zero", "--time-limit", "5")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[-1] == "41"
    assert queued["kind"] == "maintenance" and queued["limits_name"] == "zero"
    assert queued["limits"].conflict.per_customer == 0 and queued["options"]["time_limit_s"] == 5
    assert queued["snapshot"] is None and queued["snapshot_id"] is None  # the current fleet, by reference
    unknown = run("runs", "submit", "maintenance", "--db", db, "--limit-set", "nope")
    assert unknown.exit_code == 2 and "no limit set named 'nope'" in unknown.output
    both = run("runs", "submit", "maintenance", "--db", db, "--limit-set", "zero", "--limits", zero)
    assert both.exit_code == 2 and "give either --limits FILE or --limit-set NAME, not both" in both.output


def test_submit_without_limits_keeps_the_defaults_unnamed(tmp_path, queued):
    db = tmp_path / "fleet.db"
    assert run("load", TOY, "--db", db).exit_code == 0
    r = run("runs", "submit", "maintenance", "--db", db)
    assert r.exit_code == 0, r.output
    assert queued["limits"] is None and queued["limits_name"] is None  # shown as "defaults", not "custom"


def test_capacity_background_refuses_foreground_outputs_then_queues_the_file(tmp_path, queued):
    problem = Path("/work/shared/malloovia-examples/problem1.yaml")
    if not problem.exists():
        problem = sorted((ROOT / "tests" / "malloovia_oracle").glob("*.yaml"))[0]
    db = tmp_path / "runs.db"
    refused = run("solve", "capacity", problem, "--background", "--db", db, "--out", tmp_path / "s.yaml", "--json")
    assert refused.exit_code == 2
    assert "--out, --json cannot be used with --background: the plan is stored with the run" in refused.output
    assert queued == {} and not db.exists()
    r = run("solve", "capacity", problem, "--background", "--db", db, "--time-limit", "3")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[-1] == "41"
    assert queued["kind"] == "capacity" and queued["problem_yaml"] == problem.read_text()
    assert queued["problem_name"] == problem.name and queued["db"] == db
    assert queued["options"]["time_limit_s"] == 3 and queued["options"]["problem_file"] == str(problem.resolve())
    assert None not in queued["options"].values()


# --------------------------------------------------------------------------- runs watch --plain


def test_watch_plain_shows_an_incumbent_stored_before_it_started(tmp_path):
    import os

    from console.store.runs import claim_next_run, enqueue_run, pump, runs_engine

    db = tmp_path / "runs.db"
    engine = runs_engine(db)
    run_id = enqueue_run(engine, "maintenance", snapshot=json.loads(TOY.read_text()))
    assert claim_next_run(engine, os.getpid()) == run_id  # this process plays the worker
    incumbent = {"version": 1, "kind": "maintenance", "status": "feasible", "makespan": 12, "migrations": [],
                 "reboots": []}
    pump(engine, run_id, [], heartbeat=False, plan=incumbent)
    r = run("runs", "watch", run_id, "--db", db, "--plain", "--interval", "0.05", "--timeout", "0.3")
    assert r.exit_code == 1 and f"run {run_id} is still running" in r.stderr, r.output
    assert r.stderr.count("incumbent plan stored: objective 12 (feasible)") == 1, r.stderr  # once, not per poll
