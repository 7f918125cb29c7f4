"""Provenance, `fleetctl runs replay ID` and `fleetctl acceptance` on runs a real worker executed."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from console.cli.main import app
from tests.service_support import toy_limits, toy_snapshot


def _cli(*args: str, db: str):
    """The command in this process (the solver stack is already imported: a subprocess would cost seconds)."""
    result = CliRunner().invoke(app, [*args, "--db", db])
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A database with two finished maintenance runs (seed 0 and seed 7, one search worker)."""
    from console.ops.runs import RunRequest, submit_run
    from console.ops.store import open_store
    from console.runner.submit import wait_for_run
    from tests.runs_support import start_worker, stop_worker

    db = tmp_path_factory.mktemp("replay") / "r.db"
    engine = open_store(str(db))
    limits = toy_limits()
    seeded = {**limits, "solve": {**limits.get("solve", {}), "seed": 7}}
    ids = [submit_run(engine, RunRequest("maintenance", snapshot=toy_snapshot(), limits=lim,
                                         options={"workers": 1, "time_limit_s": 10}), spawn_worker=False).id
           for lim in (limits, seeded)]
    worker = start_worker(db)
    try:
        views = [wait_for_run(str(db), run_id, timeout_s=90) for run_id in ids]
    finally:
        stop_worker(worker)
    assert all(v.status == "succeeded" for v in views), [v.error for v in views]
    yield str(db), ids, engine
    engine.dispose()


def test_runs_record_their_provenance(finished):
    from console.ops.runs import get_run
    from engine.fingerprint import plan_sha256, sha256_of

    db, ids, engine = finished
    view = get_run(engine, ids[1])
    prov = view.provenance
    assert prov["plan_sha256"] == plan_sha256(view.plan)
    assert prov["limits_sha256"] == sha256_of(view.limits) and prov["seed"] == 7
    assert prov["snapshot_sha256"] == sha256_of(toy_snapshot_model())
    assert prov["solver_params"] == {"workers": 1, "time_limit_s": 10}
    assert set(prov["versions"]) == {"fleetctl", "ortools", "pulp", "highspy", "python"}
    assert prov["worker_host"] and prov["termination"] == "optimal"


def toy_snapshot_model():
    from engine.documents import parse_snapshot

    return parse_snapshot(toy_snapshot())


def test_replay_reproduces_the_plan_hash(finished):
    db, ids, _ = finished
    out = _cli("runs", "replay", str(ids[1]), "--json", db=db)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["match"] is True and result["stored_sha256"] == result["replay_sha256"]
    missing = _cli("runs", "replay", "999", db=db)
    assert missing.returncode == 2 and "no run 999" in missing.stderr and "Traceback" not in missing.stderr


def test_replay_reports_a_different_plan(finished, monkeypatch):
    """A stored plan that the current engine would not make: the hashes differ and the exit is 1."""
    from sqlalchemy import update

    from console.store.run_tables import RunRow

    db, ids, engine = finished
    run = RunRow.__table__
    with engine.begin() as conn:
        plan = json.loads(conn.execute(run.select().where(run.c.id == ids[0])).first().plan_json)
        plan["migrations"][0]["target"] = plan["migrations"][0]["source"] + "-elsewhere"
        conn.execute(update(run).where(run.c.id == ids[0]).values(plan_json=json.dumps(plan)))
    out = _cli("runs", "replay", str(ids[0]), db=db)
    assert out.returncode == 1 and "DIFFERENT" in out.stdout


def test_acceptance_prints_a_pass_fail_row_per_run(finished):
    db, ids, engine = finished
    out = _cli("acceptance", "--runs", str(ids[1]), "--json", db=db)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["run_id"] for r in rows] == [ids[1]] and rows[0]["passed"] and rows[0]["valid"]
    assert rows[0]["new_objective"] == rows[0]["stored_objective"]
    # A stored objective better than the engine can reach (an impossible record) fails the check.
    from sqlalchemy import update

    from console.store.run_tables import RunRow

    with engine.begin() as conn:
        conn.execute(update(RunRow.__table__).where(RunRow.__table__.c.id == ids[1]).values(objective=1.0))
    table = _cli("acceptance", "--runs", str(ids[1]), db=db)
    assert table.returncode == 1 and "FAIL" in table.stdout and "1 failed" in table.stdout
