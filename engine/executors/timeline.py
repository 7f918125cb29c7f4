"""Where a decomposed solve's time goes: the orchestrator's phases and each job's life on its worker.

Stamps are wall-clock (`time.time()`), so the orchestrator's and its workers' stamps compare directly on
one machine (across machines only as well as their clocks agree); they are kept as seconds since the
solve started. A few clock reads per job: always on. `SolveReport.timeline` carries them to benchmarks.

A job's life: `submitted` (handed to the executor) → `received` (unpickled on its worker; the engine
imported there first if it was not) → `start` → `end` (the sub-solve itself, `cpu_s` of its worker
process meanwhile) → `arrived` (its result back in the orchestrator, deserialised).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Optional


def job_clocks() -> tuple[float, float, float]:
    """On the worker, as a job starts: (wall, process CPU, this thread's CPU), for `worker_stamps`."""
    return time.time(), time.process_time(), time.thread_time()


def worker_stamps(received: Optional[float], started: tuple[float, float, float], engine_imported: float) -> dict:
    """On the worker, at the end of a job (`started`: its `job_clocks()`): its stamps, for `Timeline.job`."""
    start, cpu, thread_cpu = started
    return {"received": received, "start": start, "end": time.time(), "cpu_s": time.process_time() - cpu,
            "thread_cpu_s": time.thread_time() - thread_cpu, "process_cpu_end": time.process_time(),
            "pid": os.getpid(), "engine_imported": engine_imported}


@dataclass
class JobTimes:
    index: int
    submitted: Optional[float] = None
    received: Optional[float] = None
    start: Optional[float] = None
    end: Optional[float] = None
    arrived: Optional[float] = None
    cpu_s: Optional[float] = None         # its worker process's CPU during the job (all its threads)
    thread_cpu_s: Optional[float] = None  # the job's own thread's (the sub-solve itself; CP-SAT's threads not included)
    process_cpu_end: Optional[float] = None  # its worker process's CPU since the process started, at the job's end
    pid: Optional[int] = None
    engine_imported: Optional[float] = None  # when its worker process imported the engine (< 0: before the solve)


@dataclass
class Timeline:
    origin: float = field(default_factory=time.time)
    phases: dict[str, float] = field(default_factory=dict)  # phase -> when it ended (s since origin)
    jobs: list[JobTimes] = field(default_factory=list)

    def since(self, stamp: Optional[float]) -> Optional[float]:
        return None if stamp is None else stamp - self.origin

    def mark(self, phase: str, at: Optional[float] = None) -> None:
        self.phases[phase] = (time.time() if at is None else at) - self.origin

    def job(self, index: int, submitted: Optional[float], stamps: Optional[dict]) -> None:
        """Job `index`'s result arrived now (`stamps`: its worker's, absolute)."""
        s = stamps or {}
        self.jobs.append(JobTimes(index=index, submitted=self.since(submitted), received=self.since(s.get("received")),
                                  start=self.since(s.get("start")), end=self.since(s.get("end")),
                                  arrived=time.time() - self.origin, cpu_s=s.get("cpu_s"),
                                  thread_cpu_s=s.get("thread_cpu_s"), process_cpu_end=s.get("process_cpu_end"),
                                  pid=s.get("pid"),
                                  engine_imported=self.since(s.get("engine_imported"))))

    def to_dict(self) -> dict:
        return {"phases": dict(self.phases), "jobs": [vars(j) for j in self.jobs]}
