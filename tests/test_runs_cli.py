"""The runs, worker, schedule and plan commands, and `solve … --background`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from console.cli.main import app
from console.store.runs import enqueue_run, get_run, list_runs, live_workers, runs_engine
from tests.runs_support import FIXTURES, ROOT, kill_spawned_workers, start_worker, stop_worker, toy_snapshot, wait_until

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "fleet.db"
    assert cli("load", FIXTURES / "toy.json", "--db", db).exit_code == 0
    engine = runs_engine(db)
    worker = start_worker(db, concurrency=2)
    wait_until(lambda: live_workers(engine), 20, what="the worker to register")
    yield db, engine, worker
    stop_worker(worker)


def test_background_solve_returns_at_once_with_the_run_id_last_and_a_spawned_worker_runs_it(tmp_path):
    db = tmp_path / "fleet.db"
    assert cli("load", FIXTURES / "toy.json", "--db", db).exit_code == 0
    env = {**os.environ, "FLEETCTL_WORKER_IDLE_EXIT_S": "20"}
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "console.cli.main", "solve", "maintenance", "--db", str(db),
                          "--limits", str(FIXTURES / "toy-limits.json"), "--solver", "heuristic", "--background"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    returned_after = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    run_id = int(out.stdout.strip().splitlines()[-1])
    engine = runs_engine(db)
    try:
        workers = wait_until(lambda: live_workers(engine), 10, what="a spawned worker")
        assert workers[0].detached and workers[0].pid != os.getpid()
        final = wait_until(lambda: (v := get_run(engine, run_id)).terminal and v, 40, what="the run")
        assert final.status == "succeeded" and final.plan["makespan"] == 20
        assert final.worker_pid == workers[0].pid  # solved in the worker, not in the caller
        # A second submission finds the worker alive and does not spawn another.
        second = cli("runs", "submit", "maintenance", "--db", db, "--solver", "heuristic")
        assert second.exit_code == 0
        assert [w.pid for w in live_workers(engine)] == [workers[0].pid]
    finally:
        kill_spawned_workers(engine)
    assert returned_after < 30  # imports only; the solve itself never runs in the caller


def test_list_show_watch_and_json(served):
    db, engine, _ = served
    submitted = cli("runs", "submit", "maintenance", "--db", db, "--solver", "heuristic",
                    "--limits", FIXTURES / "toy-limits.json")
    assert submitted.exit_code == 0
    run_id = int(submitted.stdout.strip().splitlines()[-1])
    watched = cli("runs", "watch", run_id, "--db", db, "--plain", "--timeout", "40")
    assert watched.exit_code == 0 and f"run {run_id} succeeded" in watched.stdout
    shown = json.loads(cli("runs", "show", run_id, "--db", db, "--json").stdout)
    assert shown["status"] == "succeeded" and shown["worker_pid"] and shown["plan"]["makespan"] == 20
    assert shown["limits_name"] == "toy-limits.json" and shown["progress"]
    listed = json.loads(cli("runs", "list", "--db", db, "--json", "--status", "succeeded").stdout)
    assert run_id in [r["id"] for r in listed] and all(r["status"] == "succeeded" for r in listed)
    assert "plan" not in listed[0]  # lists stay light
    human = cli("runs", "list", "--db", db)
    assert human.exit_code == 0 and "succeeded" in human.stdout
    assert cli("runs", "show", run_id, "--db", db).exit_code == 0


def test_cancel_from_the_cli(served, tmp_path):
    idle_db = tmp_path / "idle.db"
    engine = runs_engine(idle_db)
    run_id = enqueue_run(engine, "maintenance", snapshot=toy_snapshot())
    result = cli("runs", "cancel", run_id, "--db", idle_db)
    assert result.exit_code == 0 and "cancelled before it started" in result.stdout
    assert get_run(engine, run_id).status == "cancelled"
    watched = cli("runs", "watch", run_id, "--db", idle_db, "--plain")
    assert watched.exit_code == 130


def test_bad_input_is_reported_with_exit_2_and_changes_nothing(served, tmp_path):
    db, engine, _ = served
    before = len(list_runs(engine, limit=1000))
    bad = tmp_path / "bad-limits.json"
    bad.write_text('{"concurrency": {"per_rack": -1}}')
    result = cli("runs", "submit", "maintenance", "--db", db, "--limits", bad)
    assert result.exit_code == 2 and "per_rack" in result.stderr
    assert cli("runs", "show", "99999", "--db", db).exit_code == 2
    assert cli("runs", "cancel", "99999", "--db", db).exit_code == 2
    assert cli("runs", "list", "--status", "sleeping", "--db", db).exit_code == 2
    every = cli("schedule", "add", "maintenance", "--every", "5x", "--db", db, "--no-worker")
    assert every.exit_code == 2 and "5x" in every.stderr
    assert cli("schedule", "remove", "99999", "--db", db).exit_code == 2
    assert len(list_runs(engine, limit=1000)) == before


def test_schedule_add_list_remove_and_plan_latest(served):
    db, engine, _ = served
    assert cli("plan", "latest", "--db", db, "--kind", "placement", "--json").exit_code == 4
    added = cli("schedule", "add", "maintenance", "--every", "1h", "--db", db, "--solver", "heuristic",
                "--limits", FIXTURES / "toy-limits.json", "--no-worker")
    assert added.exit_code == 0
    schedule_id = int(added.stdout.strip().splitlines()[-1])
    listed = json.loads(cli("schedule", "list", "--db", db, "--json").stdout)
    mine = next(s for s in listed if s["id"] == schedule_id)
    assert mine["every"] == "1h" and mine["kind"] == "maintenance" and mine["custom_limits"]
    # The worker fires it at once (first run now), then not again for an hour.
    run = wait_until(lambda: [r for r in list_runs(engine) if r.schedule_id == schedule_id and r.terminal], 30,
                     what="the first firing")[0]
    assert run.status == "succeeded"
    latest = cli("plan", "latest", "--db", db, "--kind", "maintenance", "--json")
    assert latest.exit_code == 0
    published = [p for p in json.loads(latest.stdout) if p["schedule_id"] == schedule_id]
    assert published[0]["run_id"] == run.id and published[0]["plan"]["makespan"] == 20
    assert "maintenance" in cli("plan", "latest", "--db", db).stdout
    after = json.loads(cli("schedule", "list", "--db", db, "--json").stdout)
    assert next(s for s in after if s["id"] == schedule_id)["last_run_id"] == run.id
    assert cli("schedule", "remove", schedule_id, "--db", db).exit_code == 0
    assert schedule_id not in [s["id"] for s in json.loads(cli("schedule", "list", "--db", db, "--json").stdout)]


def test_foreground_worker_command_runs_the_queue_then_exits_when_idle(tmp_path):
    db = tmp_path / "fleet.db"
    engine = runs_engine(db)
    ids = [enqueue_run(engine, "maintenance", snapshot=toy_snapshot(), options={"solver": "heuristic"}) for _ in range(3)]
    out = subprocess.run([sys.executable, "-m", "console.cli.main", "worker", "--db", str(db), "--concurrency", "2",
                          "--idle-exit", "1"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [get_run(engine, i).status for i in ids] == ["succeeded"] * 3
    assert "idle" in out.stderr and live_workers(engine) == []
