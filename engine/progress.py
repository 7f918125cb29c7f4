"""What a running solve reports, and how it is asked to stop.

Every solver (CP-SAT, MIP, heuristics, capacity LPs) takes an optional
`on_progress` callback and an optional `Cancellation`; the runs store, the CLI
and the console consume the same events.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Callable, Optional


def relative_gap(objective: Optional[float], bound: Optional[float]) -> Optional[float]:
    """(objective − bound) / objective, at least 0; None until both are known and objective > 0."""
    if objective is None or bound is None or objective <= 0:
        return None
    return max(0.0, (objective - bound) / objective)


@dataclass(frozen=True)
class ProgressEvent:
    elapsed_s: float
    objective: Optional[float] = None
    bound: Optional[float] = None
    message: Optional[str] = None

    @property
    def gap(self) -> Optional[float]:
        return relative_gap(self.objective, self.bound)

    def to_dict(self) -> dict:
        return asdict(self)


ProgressCallback = Callable[[ProgressEvent], None]


class Cancellation:
    """A thread-safe stop request. Solvers register hooks (e.g. CpSolver.stop_search)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._hooks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            hooks = list(self._hooks)
        for hook in hooks:
            hook()

    def on_cancel(self, hook: Callable[[], None]) -> None:
        """Run `hook` on cancel; at once if already cancelled."""
        with self._lock:
            if not self._event.is_set():
                self._hooks.append(hook)
                return
        hook()

    def remove(self, hook: Callable[[], None]) -> None:
        with self._lock:
            if hook in self._hooks:
                self._hooks.remove(hook)

    def wait(self, timeout: Optional[float] = None) -> bool:
        return self._event.wait(timeout)


# --------------------------------------------------------------------------- incumbent plans
#
# Besides ProgressEvents, a solver may hand out improving plans ("incumbents") through an
# optional `on_plan` callback: `solve_maintenance(..., on_plan=fn)` (and `solve_placement`).
#
#   * `fn(plan)` receives a complete plan object (MaintenancePlan / PlacementPlan) that has
#     ALREADY passed the independent validator: a consumer may store or show it as is.
#     An incumbent that fails validation is a solver bug: PlanRejected is raised, it is
#     never handed out.
#   * Maintenance incumbents never get worse: each one's makespan is <= the previous one's
#     (a later one with the same makespan has less total disruption: CP-SAT's second phase).
#   * They are throttled (at most one every PLAN_EVERY_S seconds) and the final plan the
#     solve returns is always the last one handed out (when the solve ends with a plan).
#   * `fn` runs on a solver-side thread: keep it cheap (queue the plan, write it elsewhere).
#   * ProgressEvent.objective stays the primary objective (the makespan); values of a
#     secondary phase are never reported as `objective`.

PlanCallback = Callable[[object], None]

PLAN_EVERY_S = 1.0
