"""`fleetctl cluster local`: a Dask scheduler and N workers on this machine, for trying `--executor dask://`.

Prints the address to pass to `--executor` and runs until Ctrl-C / SIGTERM, which stop the
scheduler and its workers. On several machines, run `dask scheduler` on one and
`dask worker tcp://HOST:8786` on each (fleetctl installed everywhere) instead, with the settings of
engine.executors.dask.CLUSTER_CONFIG in their environment (Dask's housekeeping slowed down: by default
it costs the sub-solves about a tenth of the cores).
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Annotated

import typer

from console.cli.apps import cluster_app
from console.cli.common import fail


@cluster_app.command("local")
def cluster_local(
    workers: Annotated[int, typer.Option("--workers", min=1, max=256, help="Dask worker processes.")] = 2,
    threads: Annotated[int, typer.Option("--threads", min=1, max=64, help="Threads (sub-solves at once) per worker.")] = 1,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Scheduler port (0: any free one).")] = 8786,
) -> None:
    """Start a local Dask scheduler + workers, print `dask://HOST:PORT`, run until stopped."""
    from engine.executors.dask import local_cluster

    try:
        import distributed  # noqa: F401  (the optional extra, checked here)
    except ImportError:
        fail("the dask executor needs Dask distributed: pip install 'fleetctl[dask]'")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    try:
        cluster = local_cluster(workers, threads, host=host, scheduler_port=port)
    except OSError as exc:
        fail(f"cannot start a scheduler on {host}:{port}: {exc.strerror or exc}")
    address = cluster.scheduler_address.removeprefix("tcp://")
    sys.stderr.write(f"Dask scheduler with {workers} worker(s) × {threads} thread(s); Ctrl-C stops it.\n")
    print(f"dask://{address}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        cluster.close(timeout=10)
