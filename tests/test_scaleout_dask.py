"""Sub-solves on a real Dask cluster: the same plan as local, exactly one result per datacenter when a
worker dies, cancellation within 2 s, a failing datacenter named, progress from remote sub-solves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.dask_support import LIMITS, dask_processes, fleet, free_port, local_cluster, spec_of
from tests.scaleout_support import solve_then_cancel

from engine.executors import ExecutorError, check_spec, executor_for
from engine.executors.dask import DaskExecutor, SubSolveFailed, close_clients
from engine.executors.probe import stamped_reports
from engine.maintenance.solve import NOT_STARTED, STOPPED, SubSolveError, solve_maintenance
from engine.validate import validate_maintenance

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    c = local_cluster(2)
    yield c
    close_clients()  # this process's cached client first: else it tries to reconnect to the closed scheduler
    c.close(timeout=20)


def test_local_and_dask_give_the_same_plan_with_a_fixed_seed(cluster):
    snapshot, limits = fleet(datacenters=3, vms=300)
    for solver in ("heuristic", "cp-sat"):
        local = solve_maintenance(snapshot, limits, solver=solver, time_limit_s=2, workers=2, deterministic=True)
        remote = solve_maintenance(snapshot, limits, solver=solver, time_limit_s=2, workers=2, deterministic=True,
                                   executor=spec_of(cluster.scheduler_address))
        assert local.status in ("optimal", "feasible") and remote.status == local.status, solver
        assert validate_maintenance(snapshot, limits, remote) == []
        assert remote.migrations == local.migrations and remote.reboots == local.reboots, solver
        assert {m.source.split("-")[0] for m in remote.migrations} == {d.id for d in snapshot.datacenters}


def test_progress_of_remote_sub_solves_reaches_the_caller(cluster):
    snapshot, limits = fleet(datacenters=2, vms=200)
    events = []
    plan = solve_maintenance(snapshot, limits, solver="heuristic", workers=2, executor=spec_of(cluster.scheduler_address),
                             on_progress=events.append)
    assert plan.status in ("optimal", "feasible")
    assert any(e.objective is not None for e in events)
    assert events[-1].objective == plan.makespan


def test_cancel_stops_every_remote_sub_solve_and_keeps_a_valid_plan(cluster):
    snapshot, limits = fleet(datacenters=2, vms=4000, regional=True)  # two components, a worker each
    report, plans, took = solve_then_cancel(snapshot, limits, executor=spec_of(cluster.scheduler_address))
    assert report.sub_solves == [STOPPED, STOPPED]  # every remote search saw the stop and returned early
    plan = report.plan
    assert plan.status in ("optimal", "feasible") and plans[-1] is plan
    assert validate_maintenance(snapshot, limits, plan) == []
    assert any(n.startswith("cancelled on request after") for n in plan.notes)


def test_cancel_on_the_cluster_drops_queued_searches_and_keeps_their_first_plans(cluster):
    snapshot, limits = fleet(datacenters=4, vms=4000, regional=True)  # four components, two worker threads
    report, _, _ = solve_then_cancel(snapshot, limits, executor=spec_of(cluster.scheduler_address), searching_s=0.5)
    assert set(report.sub_solves) <= {STOPPED, NOT_STARTED} and STOPPED in report.sub_solves, report.sub_solves
    assert validate_maintenance(snapshot, limits, report.plan) == []
    if NOT_STARTED in report.sub_solves:
        assert any("first (heuristic) plan is kept" in n for n in report.plan.notes)


def test_a_remote_report_reaches_the_orchestrator_within_1_s(cluster):
    arrivals = []  # (kind, seconds from the worker's report to the orchestrator's callback)
    runner = DaskExecutor(cluster.scheduler_address)

    def on_progress(index, fields):
        kind = "schedule" if "schedule" in fields else "number"
        arrivals.append((kind, time.time() - (fields["schedule"] if kind == "schedule" else fields["at"])))

    # reports stamped with the worker's clock: numbers, then bursts of schedules (coalesced on the worker)
    assert sorted(runner.run(stamped_reports, [8, 8], on_progress, None)) == [(0, 8), (1, 8)]
    numbers = [lag for kind, lag in arrivals if kind == "number"]
    schedules = [lag for kind, lag in arrivals if kind == "schedule"]
    assert len(numbers) == 16 and schedules  # every number; schedules coalesced, never all dropped
    assert max(numbers) <= 1.0, f"slowest number took {max(numbers):.2f} s"
    # a held schedule goes out when its window (0.5 s) ends, not with the next report or at the end
    assert max(schedules) <= 1.0, f"slowest schedule took {max(schedules):.2f} s"


def test_kill_9_of_a_dask_worker_costs_a_retry_not_a_datacenter(tmp_path):
    # --no-nanny: the worker is the process we kill (no restart under it)
    with dask_processes(tmp_path, 2, nanny=False) as (address, procs):
        snapshot, limits = fleet(datacenters=4, vms=800)
        started = threading.Event()

        def on_progress(_event):
            started.set()

        def killer():
            if started.wait(60):
                time.sleep(0.5)
                os.killpg(procs[1].pid, signal.SIGKILL)

        threading.Thread(target=killer, daemon=True).start()
        plan = solve_maintenance(snapshot, limits, solver="cp-sat", time_limit_s=6, workers=2, executor=spec_of(address),
                                 on_progress=on_progress)
        assert procs[1].wait(5) == -signal.SIGKILL  # the worker really died mid-solve
        assert plan.status in ("optimal", "feasible")
        assert validate_maintenance(snapshot, limits, plan) == []  # every VM of every datacenter, exactly once
        vms = [m.vm for m in plan.migrations]
        assert len(vms) == len(set(vms))


def test_cli_solves_a_10_datacenter_fleet_on_a_dask_scheduler_and_two_workers(tmp_path):
    with dask_processes(tmp_path, 2) as (address, _):
        snapshot, limits = fleet(datacenters=10, vms=1000)
        (tmp_path / "fleet.json").write_text(snapshot.model_dump_json(by_alias=True, exclude_none=True))
        (tmp_path / "limits.json").write_text(json.dumps(LIMITS))
        fleetctl = [sys.executable, "-m", "console.cli.main"]
        done = subprocess.run(fleetctl + ["solve", "maintenance", "--snapshot", str(tmp_path / "fleet.json"),
                                          "--limits", str(tmp_path / "limits.json"), "--time-limit", "10",
                                          "--executor", spec_of(address), "--out", str(tmp_path / "plan.json")],
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr
        plan = json.loads((tmp_path / "plan.json").read_text())
        assert {m["source"].split("-")[0] for m in plan["migrations"]} == {f"dc{i}" for i in range(1, 11)}
        check = subprocess.run(fleetctl + ["check", str(tmp_path / "fleet.json"), str(tmp_path / "limits.json"),
                                           str(tmp_path / "plan.json")], capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, check.stdout + check.stderr


def _boom(job, progress, cancel):
    if job == 1:
        raise RuntimeError("solver crashed on job 1")
    return job * 10


def test_a_job_that_keeps_failing_is_named_after_its_retries(cluster):
    runner = DaskExecutor(cluster.scheduler_address, retries=1)
    results = {}
    with pytest.raises(SubSolveFailed) as failed:
        for index, value in runner.run(_boom, [0, 1, 2], lambda i, f: None, None):
            results[index] = value
    assert failed.value.index == 1 and "solver crashed on job 1" in failed.value.reason


def test_a_failed_sub_solve_fails_the_run_naming_its_datacenters(monkeypatch):
    snapshot, limits = fleet(datacenters=2, vms=200)

    class Failing:
        processes = 2
        remote = True

        def threads_per_job(self, workers):
            return 1

        def run(self, fn, jobs, on_progress, cancel):
            raise SubSolveFailed(0, "KilledWorker: every attempt died")
            yield  # pragma: no cover - a generator

        def close(self):
            pass

    monkeypatch.setattr("engine.maintenance.solve.executor_for", lambda spec, n, w: Failing())
    with pytest.raises(SubSolveError, match=r"datacenter\(s\) dc\d(, dc\d)*: sub-solve failed: KilledWorker"):
        solve_maintenance(snapshot, limits, solver="heuristic", workers=2)


def test_bad_executor_specs_are_refused_plainly():
    assert check_spec(None) == "local" and check_spec(" dask://10.0.0.1:8786 ") == "dask://10.0.0.1:8786"
    for bad in ("dask://", "dask://host", "dask://host:0", "dask://host:99999", "ray://h:1", "remote"):
        with pytest.raises(ExecutorError):
            check_spec(bad)
    with pytest.raises(ExecutorError, match="no Dask scheduler answered"):
        executor_for(f"dask://127.0.0.1:{free_port()}", 2, 2)


def test_a_run_submitted_with_an_executor_option_solves_on_the_cluster(cluster, tmp_path):
    snapshot, limits = fleet(datacenters=3, vms=300)
    (tmp_path / "fleet.json").write_text(snapshot.model_dump_json(by_alias=True, exclude_none=True))
    (tmp_path / "limits.json").write_text(json.dumps(LIMITS))
    db = str(tmp_path / "runs.db")
    fleetctl = [sys.executable, "-m", "console.cli.main"]
    spec = spec_of(cluster.scheduler_address)
    submitted = subprocess.run(fleetctl + ["runs", "submit", "maintenance", "--db", db, "--snapshot",
                                           str(tmp_path / "fleet.json"), "--limits", str(tmp_path / "limits.json"),
                                           "--time-limit", "5", "--executor", spec],
                               capture_output=True, text=True, timeout=120)
    try:
        assert submitted.returncode == 0, submitted.stderr
        run_id = submitted.stdout.strip().splitlines()[-1]
        watched = subprocess.run(fleetctl + ["runs", "watch", run_id, "--db", db, "--plain", "--timeout", "150"],
                                 capture_output=True, text=True, timeout=180)
        assert watched.returncode == 0, watched.stdout + watched.stderr
        shown = json.loads(subprocess.run(fleetctl + ["runs", "show", run_id, "--db", db, "--json"],
                                          capture_output=True, text=True, timeout=60).stdout)
    finally:  # `runs submit` started a detached worker: stop it with the test, not 5 idle minutes later
        from console.store.runs import runs_engine
        from tests.runs_support import kill_spawned_workers

        kill_spawned_workers(runs_engine(db))
    assert shown["options"]["executor"] == spec
    assert {m["source"].split("-")[0] for m in shown["plan"]["migrations"]} == {"dc1", "dc2", "dc3"}


@pytest.mark.parametrize("command", [["solve", "maintenance", "--snapshot", "fixtures/toy.json"],
                                     ["runs", "submit", "maintenance"], ["worker"]])
def test_every_command_refuses_a_bad_executor_before_doing_anything(command, tmp_path):
    done = subprocess.run([sys.executable, "-m", "console.cli.main", *command, "--db", str(tmp_path / "x.db"),
                           "--executor", "dask://nowhere"], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 2, done.stderr
    assert "use 'local' or 'dask://HOST:PORT'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.db").exists()


def test_incumbent_schedules_are_coalesced_but_the_last_is_never_dropped():
    from engine.executors.dask import _Coalescing

    sent = []
    send = _Coalescing(sent.append, every_s=60)
    send({"objective": 9})
    send({"schedule": "s1"})
    send({"schedule": "s2"})
    send({"objective": 8})
    send({"schedule": "s3"})
    assert sent == [{"objective": 9}, {"schedule": "s1"}, {"objective": 8}]
    send.flush()
    assert sent[-1] == {"schedule": "s3"}
    send.flush()
    assert len(sent) == 4
