"""Executors for independent sub-solves (today: a fleet's per-datacenter maintenance components).

An executor runs `fn(job, progress, cancel)` for every job and yields `(index, result)` as they
complete, exactly once per index, whatever happens underneath (a retried task, a re-run after a
worker died). Progress callbacks may arrive from other threads; `cancel` is the caller's stop request:
it reaches every running job (its own `Cancellation`), and a job not yet started when it fires is
not run at all and not yielded (the caller keeps what it has; a queue of searches must not delay a
stop). Jobs start in the order given (callers put the largest first).

    local   InlineExecutor (one job or one worker) or ProcessExecutor (a pool of spawned processes)
    dask    DaskExecutor: `distributed.Client.submit` to a scheduler (`dask://HOST:PORT`), optional
            extra `pip install fleetctl[dask]`

`executor_for(spec, n_jobs, workers)` turns an operator's `--executor` value into one of them.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional, Protocol, Sequence

from engine.progress import Cancellation

ProgressSink = Callable[[int, dict], None]  # (job index, progress fields)

LOCAL = "local"
DASK_SCHEME = "dask://"


class Executor(Protocol):
    processes: int  # jobs that run at once

    def threads_per_job(self, workers: int) -> int:
        """Search threads each job may use (CP-SAT num_workers): never more than it was given."""
        ...

    def run(self, fn: Callable[..., Any], jobs: Sequence[Any], on_progress: ProgressSink,
            cancel: Optional[Cancellation]) -> Iterator[tuple[int, Any]]:
        """Run fn(job, progress, cancel) for every job; yield (index, result) as they complete."""
        ...

    def close(self) -> None:
        """Release what the executor holds for this solve (a cluster connection stays for the next)."""
        ...


class NotStarted:
    """What a job returns when the stop came before it started (never yielded by `run`)."""


class SubSolveFailed(RuntimeError):
    """Job `index` failed for good (after the executor's retries): the caller names what it was."""

    def __init__(self, index: int, reason: str):
        super().__init__(reason)
        self.index = index
        self.reason = reason


class ExecutorError(ValueError):
    """A bad executor spec, or a cluster that cannot be reached: the operator's input, said plainly."""


def check_spec(spec: Optional[str]) -> str:
    """`local` or `dask://HOST:PORT` (returned normalised); anything else is an ExecutorError."""
    value = (spec or LOCAL).strip()
    if value == LOCAL:
        return value
    if value.startswith(DASK_SCHEME):
        host, _, port = value[len(DASK_SCHEME):].rpartition(":")
        if host and port.isdigit() and 0 < int(port) < 65536:
            return value
    raise ExecutorError(f"executor {value!r}: use 'local' or 'dask://HOST:PORT' (e.g. dask://127.0.0.1:8786)")


def executor_for(spec: Optional[str], n_jobs: int, workers: int) -> Executor:
    """The executor an operator asked for (`None` = local)."""
    value = check_spec(spec)
    if value == LOCAL:
        from engine.executors.local import choose_local

        return choose_local(n_jobs, workers)
    from engine.executors.dask import DaskExecutor

    return DaskExecutor("tcp://" + value[len(DASK_SCHEME):])
