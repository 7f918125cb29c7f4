"""Local executors: jobs inline in this process, or in a pool of spawned worker processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from engine.executors import NotStarted
from engine.progress import Cancellation

CANCEL_POLL_S = 0.1  # a worker process notices a cancel within this (plus CP-SAT's stop_search latency)


class InlineExecutor:
    """Jobs one after the other in this process."""

    processes = 1

    def threads_per_job(self, workers: int) -> int:
        return max(1, workers)

    def run(self, fn, jobs, on_progress, cancel):
        self.submitted_at = time.time()
        for i, job in enumerate(jobs):
            if cancel is not None and cancel.cancelled:
                return  # the rest never start
            yield i, fn(job, lambda fields, i=i: on_progress(i, fields), cancel)

    def close(self) -> None:
        pass


_QUEUE = None
_STOP = None


def _init_worker(queue, stop) -> None:
    global _QUEUE, _STOP
    _QUEUE, _STOP = queue, stop


def _run_in_worker(fn, index, job):
    if _STOP.is_set():
        return NotStarted()  # queued before the stop: the pool hands it over anyway
    cancel = Cancellation()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if _STOP.wait(CANCEL_POLL_S):
                cancel.cancel()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return fn(job, lambda fields: _QUEUE.put((index, fields)), cancel)
    finally:
        done.set()


class ProcessExecutor:
    """A local pool of worker processes (spawned: no fork of a threaded parent)."""

    def __init__(self, processes: int):
        self.processes = processes

    def threads_per_job(self, workers: int) -> int:
        return max(1, workers // self.processes)

    def close(self) -> None:
        pass

    def run(self, fn, jobs, on_progress, cancel):
        ctx = multiprocessing.get_context("spawn")
        queue, stop = ctx.Queue(), ctx.Event()

        def drain() -> None:
            while True:
                try:
                    report = queue.get()
                except Exception:  # noqa: BLE001 - a queue torn down under us: nothing more will come
                    return
                if report is None:
                    return  # the run is over
                on_progress(*report)

        pump = threading.Thread(target=drain, daemon=True)
        pump.start()
        futures: dict = {}

        def stop_all() -> None:
            stop.set()  # running jobs: their watcher cancels the search
            for fut in list(futures):
                fut.cancel()  # queued jobs: never started (those already handed to a process return NotStarted)

        pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=ctx, initializer=_init_worker,
                                   initargs=(queue, stop))
        try:
            futures.update({pool.submit(_run_in_worker, fn, i, job): i for i, job in enumerate(jobs)})
            self.submitted_at = time.time()  # (a timeline stamp: every job handed to the pool)
            if cancel is not None:
                cancel.on_cancel(stop_all)
            left = set(futures)
            while left:
                if stop.is_set() and not any(f.running() for f in left):
                    break  # stopped: what is left never started (it returns NotStarted, or was cancelled)
                done, left = wait(left, timeout=CANCEL_POLL_S, return_when=FIRST_COMPLETED)
                for fut in done:
                    result = None if fut.cancelled() else fut.result()
                    if result is not None and not isinstance(result, NotStarted):
                        yield futures[fut], result
        finally:
            stop.set()  # (a caller that stopped reading, an error: nothing keeps running)
            # Not waiting for the pool's processes to exit (seconds on a loaded machine, after a cancel):
            # the pool's own thread reaps them.
            pool.shutdown(wait=False, cancel_futures=True)
            queue.put(None)  # the pump's end (a poll would add up to its period to every solve)
            pump.join(timeout=1)
            if cancel is not None:
                cancel.remove(stop_all)


def choose_local(n_jobs: int, workers: int):
    if n_jobs <= 1 or workers <= 1 or multiprocessing.current_process().daemon:
        return InlineExecutor()  # (a daemonic worker process may not start children)
    return ProcessExecutor(min(workers, n_jobs))
