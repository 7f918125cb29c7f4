"""Sub-solves on a Dask distributed cluster (`--executor dask://HOST:PORT`).

Dask is at-least-once: a task whose worker died is run again elsewhere, a task that raised is
retried. The result is exactly-once: each job is one future under a key of its own, and `run`
yields each index once, from that future's final result.

Dask's `cancel` does not stop a running native solve, so cancellation is cooperative: a
`distributed.Event` per run that every task polls (`CANCEL_POLL_S`) and turns into its own
`Cancellation` (CP-SAT's stop_search); a task that starts after the stop returns `NotStarted` at
once. Progress travels back as events on a topic per run (`Worker.log_event` →
`Client.subscribe_topic`: batched, never blocks the solver; pickled, since incumbent schedules are
Python objects); the results themselves travel through the futures.

One client per scheduler and process, kept for the next solve (connecting cost ~0.3 s a run), and
on connecting it has every worker import the engine (`_warm`) while the orchestrator is still
building the fleet: otherwise each worker's first task paid those imports on the critical path.

A cluster for these sub-solves should run with `CLUSTER_CONFIG` (Dask's housekeeping slowed down):
`fleetctl cluster local` does; workers started with `dask worker` take it from the environment
(`cluster_environment()`).
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import threading
import time
import uuid
from typing import Any, Callable, Optional, Sequence

from engine.executors import ExecutorError, NotStarted, SubSolveFailed
from engine.progress import Cancellation

CANCEL_POLL_S = 0.2
SCHEDULE_EVERY_S = 0.5  # incumbent schedules from one sub-solve, at most this often (the latest kept)
CONNECT_TIMEOUT_S = 10.0
RETRIES = 2  # a task that raised runs at most 1 + RETRIES times (a worker death is retried by the scheduler)


# Dask's own housekeeping, which competes with the sub-solves (CPU-bound Python, one per thread slot) for the
# same cores: by default every process wakes its event loop every 20 ms (tick), each worker samples its task
# threads' stacks every 10 ms (profile), reads its memory every 100 ms and system counters every 500 ms. Measured
# on 2 cores (LocalCluster of 2 single-thread workers, 3 s CPU-bound tasks, load 6-7): all cluster processes
# together spent 11-14% of the tasks' own CPU beyond it; with these settings 2-4%. On saturated cores that is
# the sub-solves' wall time (issue 14: Dask's first plan was 7-18% over local). What is given up: no task
# profiles on the dashboard, a blocked event loop noticed within 1 s, memory limits (spill, pause, terminate)
# acted on within 1 s rather than 0.1 s, and coarser dashboard counters.
CLUSTER_CONFIG = {
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def cluster_environment() -> dict[str, str]:
    """`CLUSTER_CONFIG` as environment variables, for `dask scheduler` / `dask worker` processes."""
    return {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
            for key, value in CLUSTER_CONFIG.items()}


def local_cluster(workers: int, threads: int = 1, **kw):
    """A LocalCluster (worker processes) configured for sub-solves: its scheduler, nannies and workers
    take `CLUSTER_CONFIG` (a nanny hands its worker the config it was started with)."""
    import dask

    distributed = _distributed()
    with dask.config.set(CLUSTER_CONFIG):
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                                        dashboard_address=None, **kw)


def _distributed():
    try:
        import distributed
    except ImportError as exc:  # an optional extra
        raise ExecutorError("the dask executor needs Dask distributed: pip install 'fleetctl[dask]'") from exc
    return distributed


WARM_MODULES = ("engine.maintenance.solve", "engine.maintenance.heuristic", "engine.maintenance.cpsat",
                "engine.columnar", "ortools.sat.python.cp_model")


def _import_engine() -> None:
    """The imports a sub-solve needs, at the lowest CPU priority of this thread alone (Linux: a thread has a
    nice value of its own). The workers' imports (about half a second of CPU each) ran while the orchestrator
    built the fleet's problems, on the same cores: that preparation took 1.5-2.5 s longer than with warm
    workers (100k VMs, 2 cores, same CPU on the orchestrator's thread). Niced, they take only the CPU the
    orchestrator leaves; a task that needs a module before its import is done waits for it (by then the
    orchestrator has handed its jobs over and idles)."""
    import importlib

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):  # (not Linux: the imports run at the worker's own priority)
        pass
    for name in WARM_MODULES:
        importlib.import_module(name)


async def _warm() -> None:
    """On every worker, once per connection: `_import_engine` in a thread of its own, started and left to
    run (not on the worker's event loop, nor in a pool thread that would keep the low priority;
    `Client.run(wait=False)` takes only coroutines)."""
    threading.Thread(target=_import_engine, name="fleetctl-warm", daemon=True).start()


_CLIENTS: dict[tuple[int, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _client(address: str, timeout_s: float):
    """This process's client of `address` (a forked child never reuses its parent's connection)."""
    distributed = _distributed()
    key = (os.getpid(), address)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is not None and client.status == "running":
            return client
        if client is not None:
            _close(client)
        try:
            client = distributed.Client(address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"no Dask scheduler answered at {address} within {timeout_s:g} s "
                                f"(start one with `fleetctl cluster local` or `dask scheduler`)") from exc
        client.run(_warm, wait=False)  # not awaited: it overlaps the orchestrator's own work
        _CLIENTS[key] = client
        return client


def _close(client) -> None:
    try:
        client.close(timeout=5)
    except Exception:  # noqa: BLE001 - a scheduler already gone
        pass


@atexit.register
def close_clients() -> None:
    """Close this process's clients (at exit; before stopping a cluster this process used)."""
    with _CLIENTS_LOCK:
        mine = [c for (pid, _), c in _CLIENTS.items() if pid == os.getpid()]
        _CLIENTS.clear()
    for client in mine:
        _close(client)


def _remote(fn: Callable[..., Any], index: int, job: Any, run_key: str) -> Any:
    """On a Dask worker: run one job with a cancellation fed by the run's Event."""
    distributed = _distributed()
    stop = distributed.Event(f"{run_key}-stop", client=distributed.get_client())  # (the thread-safe way in a task)
    if stop.is_set():
        return NotStarted()  # queued behind the searches when the stop came: nothing to stop, nothing to run
    worker = distributed.get_worker()
    cancel = Cancellation()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                if stop.wait(timeout=CANCEL_POLL_S):
                    cancel.cancel()
                    return
            except Exception:  # noqa: BLE001 - a scheduler hiccup must not kill the solve; poll again
                done.wait(CANCEL_POLL_S)

    watcher = threading.Thread(target=watch, name="fleetctl-cancel-watch", daemon=True)
    watcher.start()
    send = _Coalescing(lambda fields: worker.log_event(f"{run_key}-progress", pickle.dumps((index, fields))))
    try:
        return fn(job, send, cancel)
    finally:
        done.set()
        send.flush()


class _Coalescing:
    """Numbers (objective, bound) go out at once; an incumbent schedule (thousands of migrations) at
    most every `every_s`, the latest one kept: a fast solver never floods the scheduler, and a held
    schedule goes out when its window ends (a timer), never waiting for the next one (`flush` at the end)."""

    def __init__(self, send: Callable[[dict], None], every_s: float = SCHEDULE_EVERY_S):
        self.send, self.every_s = send, every_s
        self.pending: Optional[dict] = None
        self.last = float("-inf")
        self.timer: Optional[threading.Timer] = None
        self.lock = threading.Lock()

    def __call__(self, fields: dict) -> None:
        numbers = {k: v for k, v in fields.items() if k != "schedule"}
        if numbers:
            self.send(numbers)
        if "schedule" not in fields:
            return
        now = time.monotonic()
        with self.lock:
            if now - self.last < self.every_s:
                self.pending = {"schedule": fields["schedule"]}
                if self.timer is None:
                    self.timer = threading.Timer(self.last + self.every_s - now, self.flush)
                    self.timer.daemon = True
                    self.timer.start()
                return
            self.pending, self.last = None, now
        self.send({"schedule": fields["schedule"]})

    def flush(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, None
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if pending is not None:
                self.last = time.monotonic()
        if pending is not None:
            self.send(pending)


class DaskExecutor:
    """Jobs as futures on a running Dask scheduler; one thread slot per job."""

    remote = True  # jobs may wait in the cluster's queue: each gets its time share from when it starts

    def __init__(self, address: str, *, connect_timeout_s: float = CONNECT_TIMEOUT_S, retries: int = RETRIES):
        self.address = address
        self.retries = retries
        self.client = _client(address, connect_timeout_s)
        threads = sum(self.client.nthreads().values())
        if threads < 1:
            raise ExecutorError(f"the Dask scheduler at {address} has no workers")
        self.processes = threads

    def close(self) -> None:
        pass  # the client stays for this process's next solve (closed at exit)

    def threads_per_job(self, workers: int) -> int:
        return 1  # a task holds one of its worker's thread slots: more CP-SAT threads would oversubscribe

    def run(self, fn, jobs: Sequence[Any], on_progress, cancel: Optional[Cancellation]):
        distributed = _distributed()
        run_key = f"fleetctl-{uuid.uuid4().hex}"
        stop = distributed.Event(f"{run_key}-stop", client=self.client)
        inbox: queue.Queue = queue.Queue()
        topic = f"{run_key}-progress"
        self.client.subscribe_topic(topic, lambda event: inbox.put(event[1]))

        def pump() -> None:  # off the client's event loop: on_progress may validate or write to a store
            while True:
                event = inbox.get()
                if event is None:
                    return  # (the run is over: what had arrived before is handed on first)
                index, fields = pickle.loads(event)
                on_progress(index, fields)

        pumper = threading.Thread(target=pump, name="fleetctl-dask-progress", daemon=True)
        pumper.start()
        if cancel is not None:
            cancel.on_cancel(stop.set)
        # In the order given (a higher priority runs first): the caller puts its first wave and largest jobs first.
        futures = {self.client.submit(_remote, fn, i, job, run_key, key=f"{run_key}-job-{i}", pure=False,
                                      retries=self.retries, priority=len(jobs) - i): i for i, job in enumerate(jobs)}
        self.submitted_at = time.time()  # (a timeline stamp: every job handed to the scheduler)
        seen: set[int] = set()
        try:
            for future in distributed.as_completed(futures, loop=self.client.loop):
                index = futures[future]
                if index in seen:  # never twice, whatever the cluster did
                    continue
                if future.status != "finished":
                    raise SubSolveFailed(index, f"failed on the cluster after {self.retries} retries: "
                                                f"{_reason(future)}")
                seen.add(index)
                result = future.result()
                if not isinstance(result, NotStarted):
                    yield index, result
        finally:
            if cancel is not None:
                cancel.remove(stop.set)
            stop.set()  # any job still running (an error elsewhere, a caller that stopped reading) stops too
            self.client.unsubscribe_topic(topic)
            inbox.put(None)  # the pump's end, behind every report already in (a poll would add up to its period)
            pumper.join(timeout=1)
            for future in futures:
                future.release()


def _reason(future) -> str:
    try:
        exc = future.exception(timeout=5)
    except Exception as err:  # noqa: BLE001
        return type(err).__name__
    return f"{type(exc).__name__}: {exc}" if exc is not None else future.status
