"""Sub-solves on a Dask distributed cluster (`--executor dask://HOST:PORT`).

Dask is at-least-once: a task whose worker died is run again elsewhere, a task that raised is
retried. The result is exactly-once: each job is one future under a key of its own, and `run`
yields each index once, from that future's final result.

Dask's `cancel` does not stop a running native solve, so cancellation is cooperative: a
`distributed.Event` per run that every task polls (`CANCEL_POLL_S`) and turns into its own
`Cancellation` (CP-SAT's stop_search). Progress travels back as events on a topic per run
(`Worker.log_event` → `Client.subscribe_topic`: batched, never blocks the solver; pickled, since
incumbent schedules are Python objects); the results themselves travel through the futures.
"""

from __future__ import annotations

import pickle
import queue
import threading
import time
import uuid
from typing import Any, Callable, Optional, Sequence

from engine.executors import ExecutorError, SubSolveFailed
from engine.progress import Cancellation

CANCEL_POLL_S = 0.2
SCHEDULE_EVERY_S = 0.5  # incumbent schedules from one sub-solve, at most this often (the latest kept)
CONNECT_TIMEOUT_S = 10.0
RETRIES = 2  # a task that raised runs at most 1 + RETRIES times (a worker death is retried by the scheduler)


def _distributed():
    try:
        import distributed
    except ImportError as exc:  # an optional extra
        raise ExecutorError("the dask executor needs Dask distributed: pip install 'fleetctl[dask]'") from exc
    return distributed


def _remote(fn: Callable[..., Any], index: int, job: Any, run_key: str) -> Any:
    """On a Dask worker: run one job with a cancellation fed by the run's Event."""
    distributed = _distributed()
    stop = distributed.Event(f"{run_key}-stop", client=distributed.get_client())  # (the thread-safe way in a task)
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
    """Numbers go out at once; an incumbent schedule (thousands of migrations) at most every
    `every_s`, the latest one kept: a fast solver never floods the scheduler, and the last
    schedule is never dropped (`flush` sends it)."""

    def __init__(self, send: Callable[[dict], None], every_s: float = SCHEDULE_EVERY_S):
        self.send, self.every_s = send, every_s
        self.pending: Optional[dict] = None
        self.last = float("-inf")
        self.lock = threading.Lock()

    def __call__(self, fields: dict) -> None:
        if "schedule" not in fields:
            self.send(fields)
            return
        now = time.monotonic()
        with self.lock:
            if now - self.last < self.every_s:
                self.pending = fields
                return
            self.pending, self.last = None, now
        self.send(fields)

    def flush(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, None
        if pending is not None:
            self.send(pending)


class DaskExecutor:
    """Jobs as futures on a running Dask scheduler; one thread slot per job."""

    remote = True  # jobs may wait in the cluster's queue: each gets its time share from when it starts

    def __init__(self, address: str, *, connect_timeout_s: float = CONNECT_TIMEOUT_S, retries: int = RETRIES):
        distributed = _distributed()
        self.address = address
        self.retries = retries
        try:
            self.client = distributed.Client(address, timeout=connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"no Dask scheduler answered at {address} within {connect_timeout_s:g} s "
                                f"(start one with `fleetctl cluster local` or `dask scheduler`)") from exc
        threads = sum(self.client.nthreads().values())
        if threads < 1:
            self.client.close()
            raise ExecutorError(f"the Dask scheduler at {address} has no workers")
        self.processes = threads

    def threads_per_job(self, workers: int) -> int:
        return 1  # a task holds one of its worker's thread slots: more CP-SAT threads would oversubscribe

    def run(self, fn, jobs: Sequence[Any], on_progress, cancel: Optional[Cancellation]):
        distributed = _distributed()
        run_key = f"fleetctl-{uuid.uuid4().hex}"
        stop = distributed.Event(f"{run_key}-stop", client=self.client)
        inbox: queue.Queue = queue.Queue()
        topic = f"{run_key}-progress"
        self.client.subscribe_topic(topic, lambda event: inbox.put(event[1]))
        finished = threading.Event()

        def pump() -> None:  # off the client's event loop: on_progress may validate or write to a store
            while not finished.is_set():
                try:
                    index, fields = pickle.loads(inbox.get(timeout=0.2))
                except queue.Empty:
                    continue
                on_progress(index, fields)

        pumper = threading.Thread(target=pump, name="fleetctl-dask-progress", daemon=True)
        pumper.start()
        if cancel is not None:
            cancel.on_cancel(stop.set)
        futures = {self.client.submit(_remote, fn, i, job, run_key, key=f"{run_key}-job-{i}", pure=False,
                                      retries=self.retries): i for i, job in enumerate(jobs)}
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
                yield index, future.result()
        finally:
            finished.set()
            if cancel is not None:
                cancel.remove(stop.set)
            stop.set()  # any job still running (an error elsewhere, a caller that stopped reading) stops too
            pumper.join(timeout=1)
            self.client.unsubscribe_topic(topic)
            for future in futures:
                future.release()
            self.client.close(timeout=5)


def _reason(future) -> str:
    try:
        exc = future.exception(timeout=5)
    except Exception as err:  # noqa: BLE001
        return type(err).__name__
    return f"{type(exc).__name__}: {exc}" if exc is not None else future.status
