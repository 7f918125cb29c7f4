"""Simulated executions of a valid plan: operators who start what `safe_next` allows, with lateness and failures.

`simulate(snapshot, limits, plan, now, rng, ...)` plays minutes 0..now: each minute it ends the
in-progress actions whose real duration (planned + random lateness) is over — done, or failed
with probability `fail_rate`, retried or not (`retry_rate`) — then starts a random subset of what `safe_next` lets start.
The events are those a real execution would report, so every history is one the tool must handle.
"""

from __future__ import annotations

import random

from engine.execution.next_actions import safe_next
from engine.execution.state import Event, Execution
from engine.model import Limits, MaintenancePlan, Snapshot


def simulate(snapshot: Snapshot, limits: Limits, plan: MaintenancePlan, now: int, rng: random.Random, *,
             fail_rate: float = 0.1, late_rate: float = 0.3, start_rate: float = 0.8,
             max_late: int = 15, retry_rate: float = 0.5) -> Execution:
    ex = Execution(plan)
    ends: dict[str, int] = {}
    abandoned: set[str] = set()  # failed actions the operator does not retry before `now`
    for t in range(now + 1):
        for aid, end in sorted(ends.items()):
            if end <= t:
                state = "failed" if rng.random() < fail_rate else "done"
                if state == "done" and aid.startswith("migrate:") and end <= ex.actions[aid].started_at:
                    continue
                ex.apply(Event(aid, state, t, "simulated" if state == "failed" else None))
                del ends[aid]
                if state == "failed" and rng.random() > retry_rate:
                    abandoned.add(aid)
        if t == now:
            break  # at `now` the operator asks what to start: nothing more starts here
        for a in safe_next(snapshot, limits, ex, t).may_start:
            if a.id in abandoned or rng.random() > start_rate:
                continue
            ex.apply(Event(a.id, "started", t))
            late = rng.randint(1, max_late) if rng.random() < late_rate else 0
            ends[a.id] = t + a.minutes + late
    return ex
