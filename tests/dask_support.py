"""A real Dask cluster for the scale-out tests: a LocalCluster of worker processes, or a scheduler and
workers started as `dask` subprocesses on loopback (each in its own session, killed with its group)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is part of the test lock")

from tests.scaleout_support import LIMITS, fleet  # noqa: E402,F401  (re-exported to the scale-out tests)
from tests.service_support import free_port  # noqa: E402,F401  (re-exported to the scale-out tests)


def local_cluster(workers: int = 2):
    return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                    dashboard_address=None)


def spec_of(address: str) -> str:
    return "dask://" + address.removeprefix("tcp://")


def dask_bin() -> str:
    return str(Path(sys.executable).with_name("dask"))


def start(args: list[str], log: Path) -> subprocess.Popen:
    with log.open("wb") as fh:
        return subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@contextmanager
def dask_processes(folder: Path, workers: int = 2, *, nanny: bool = True):
    """A `dask scheduler` and `workers` single-thread `dask worker`s on loopback, as subprocesses in their
    own sessions; yields (address, processes) once every worker has joined; all are stopped after."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [start([dask_bin(), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                   folder / "scheduler.log")]
    try:
        for i in range(workers):
            procs.append(start([dask_bin(), "worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"w{i}",
                                *([] if nanny else ["--no-nanny"])], folder / f"worker{i}.log"))
        wait_for_workers(address, workers)
        yield address, procs
    finally:
        stop(procs)


def wait_for_workers(address: str, n: int, timeout: float = 60) -> None:
    client = distributed.Client(address, timeout=timeout, set_as_default=False)
    try:
        client.wait_for_workers(n, timeout=timeout)
    finally:
        client.close()
