"""Where a decomposed solve's time goes (engine.executors.timeline), and the Dask cluster settings fleetctl
starts its clusters with (engine.executors.dask.CLUSTER_CONFIG), and the workers' warm-up at low priority."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from engine.maintenance.solve import solve_maintenance_report
from tests.scaleout_support import fleet

PHASES = ["executor ready", "prepared", "jobs built", "sub-solves done", "merged", "validated"]


def test_a_local_pool_solve_reports_its_phases_in_order_and_every_sub_solve_on_its_worker():
    snapshot, limits = fleet(datacenters=3, vms=600, regional=True)
    report = solve_maintenance_report(snapshot, limits, solver="heuristic", workers=2)
    timeline = report.timeline
    assert [p for p in PHASES if p in timeline.phases] == PHASES
    ends = [timeline.phases[p] for p in PHASES]
    assert ends == sorted(ends) and ends[0] >= 0
    assert report.plan.solver.wall_s >= ends[-1] - 0.05  # (the plan's wall time covers the phases)
    assert sorted(j.index for j in timeline.jobs) == list(range(report.components)) and report.components == 3
    for j in timeline.jobs:
        assert j.pid != os.getpid()  # ran in a pool process
        assert j.submitted <= j.received <= j.start <= j.end <= j.arrived <= timeline.phases["sub-solves done"]
        assert j.cpu_s >= j.thread_cpu_s > 0 and j.process_cpu_end >= j.cpu_s


def test_an_inline_solve_has_its_sub_solves_in_this_process():
    snapshot, limits = fleet(datacenters=2, vms=200, regional=True)
    report = solve_maintenance_report(snapshot, limits, solver="heuristic", workers=1)
    assert [j.pid for j in report.timeline.jobs] == [os.getpid()] * report.components
    assert all(j.received is None for j in report.timeline.jobs)  # (never pickled)


def test_the_cluster_settings_reach_dask_as_environment_variables():
    dask_config = pytest.importorskip("dask.config", reason="the dask extra is part of the test lock")
    from engine.executors.dask import CLUSTER_CONFIG, cluster_environment

    env = cluster_environment()
    assert all(k.startswith("DASK_DISTRIBUTED__") for k in env)
    read = dask_config.collect(paths=[], env=env)
    for key, value in CLUSTER_CONFIG.items():
        got = read
        for part in key.split("."):
            got = got[part.replace("-", "_")] if part.replace("-", "_") in got else got[part]
        assert got == value, key


@pytest.mark.slow
def test_a_cluster_fleetctl_starts_runs_its_workers_with_the_quiet_settings():
    distributed = pytest.importorskip("distributed", reason="the dask extra is part of the test lock")
    import dask

    from engine.executors.dask import CLUSTER_CONFIG, local_cluster

    cluster = local_cluster(2, host="127.0.0.1")
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    try:
        seen = client.run(lambda: {k: dask.config.get(k) for k in CLUSTER_CONFIG})
        assert len(seen) == 2 and all(v == CLUSTER_CONFIG for v in seen.values())
        callbacks = client.run(lambda dask_worker: sorted(dask_worker.periodic_callbacks))
        assert all("profile" not in names for names in callbacks.values())  # no stack sampling every 10 ms
        assert dask.config.get("distributed.worker.profile.enabled") is True  # (this process's settings untouched)
    finally:
        client.close()
        cluster.close(timeout=20)


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_a_worker_warms_its_imports_at_the_lowest_priority_of_that_thread_alone():
    pytest.importorskip("distributed", reason="the dask extra is part of the test lock")
    from engine.executors.dask import _import_engine

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = []

    def warm():
        _import_engine()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=warm)
    thread.start()
    thread.join(60)
    assert seen == [19]  # the warming thread: its imports take only the CPU the orchestrator leaves
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # the rest of the worker: untouched
