"""What every fixed-targets formulation shares: the rules it walks, and the MIPs' solve.

A formulation (time-indexed MIP, continuous MIP, CP-SAT) differs only in how
it writes three forms: a precedence (rules 2, 3), a cumulative (rules 5–8) and
a task ending by the makespan (rule 9). `Rules` walks the problem's data rule
by rule, one documented method per FORMATS.md rule, and calls those forms, so
each model file keeps only its own math.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Optional

from engine.maintenance.fixed_targets import Cumulative, FixedTargetsProblem, FormulationResult, Precedence
from engine.progress import Cancellation, ProgressCallback


# The cancellation of the solve building a model in this thread: a big MIP takes tens of
# seconds to build (NOTES.md), and a Ctrl-C or SIGTERM must not wait for that.
BUILD_CANCEL: ContextVar[Optional[Cancellation]] = ContextVar("BUILD_CANCEL", default=None)


class BuildCancelled(Exception):
    """The solve was cancelled while its model was being built."""


def stop_if_cancelled() -> None:
    cancel = BUILD_CANCEL.get()
    if cancel is not None and cancel.cancelled:
        raise BuildCancelled()


class Rules:
    """Adds the rules of `self.problem` through the model's `precedence`, `cumulative` and `ends_by_makespan`."""

    problem: FixedTargetsProblem

    def add_rules(self) -> None:
        self.add_reboot_after_evacuation()
        self.add_target_after_reboot()
        self.add_concurrency()
        self.add_bandwidth()
        self.add_conflict()
        self.add_hosts_down_per_rack()
        self.add_makespan()

    def add_reboot_after_evacuation(self) -> None:
        """Rule 2: a host's reboot starts no earlier than the end of each migration leaving it."""
        self._precedences("2-reboot")

    def add_target_after_reboot(self) -> None:
        """Rule 3: a migration into a needs_reboot host starts no earlier than that host's reboot end."""
        self._precedences("3-target")

    def add_concurrency(self) -> None:
        """Rule 5: migrations per source host, target host, rack, datacenter and fleet."""
        self._cumulatives("5-concurrency")

    def add_bandwidth(self) -> None:
        """Rule 6: Σ migration_gbps touching a host ≤ its bandwidth_gbps."""
        self._cumulatives("6-bandwidth")

    def add_conflict(self) -> None:
        """Rule 7: a customer's migrating VMs plus its non-migratable VMs on rebooting hosts ≤ its limit."""
        self._cumulatives("7-conflict")

    def add_hosts_down_per_rack(self) -> None:
        """Rule 8: hosts rebooting at once in a rack ≤ max_hosts_down_per_rack."""
        self._cumulatives("8-hosts-down")

    def add_makespan(self) -> None:
        """Rule 9: the makespan is at least every task's end (tasks with successors end before those)."""
        for j in self.problem.sinks():
            self.ends_by_makespan(j)

    def _precedences(self, rule: str) -> None:
        for k, p in enumerate(self.problem.precedences):
            if p.rule == rule:
                if k % 256 == 0:
                    stop_if_cancelled()
                self.precedence(k, p)

    def _cumulatives(self, rule: str) -> None:
        for c in self.problem.binding_cumulatives(rule):   # one that never binds is left out
            stop_if_cancelled()
            self.cumulative(c)

    # ------------------------------------------------------------------ the model's own math

    def precedence(self, k: int, p: Precedence) -> None:
        """Task `p.after` starts no earlier than task `p.before` ends (`k`: its index, for names)."""
        raise NotImplementedError

    def cumulative(self, c: Cumulative) -> None:
        """At every minute, Σ weight of the members of `c` running ≤ its capacity."""
        raise NotImplementedError

    def ends_by_makespan(self, j: int) -> None:
        """Task `j` ends no later than the makespan."""
        raise NotImplementedError


def constraint_tag(c: Cumulative) -> str:
    """The cumulative's name as a MIP row name (letters, digits and underscores)."""
    return "".join(ch if ch.isalnum() else "_" for ch in c.name)


def solve_mip(name: str, model_class, problem: FixedTargetsProblem, *, time_limit_s: float, threads: int = 1,
              initial: Optional[dict[int, int]] = None, cancel: Optional[Cancellation] = None,
              on_progress: Optional[ProgressCallback] = None) -> FormulationResult:
    """Build `model_class(problem)`, warm-start it from `initial`, solve it with CBC within what the build left."""
    from engine.cbc import CbcTiming, run_cbc

    t0, c0 = time.monotonic(), time.process_time()
    token = BUILD_CANCEL.set(cancel)
    try:
        model = model_class(problem)
    except BuildCancelled:  # the caller's warm start stands
        return FormulationResult(name, "unknown", None, None, None, 0, 0, time.monotonic() - t0, 0.0, "cancelled",
                                 time.process_time() - c0)
    finally:
        BUILD_CANCEL.reset(token)
    warm = model.warm_start(initial) if initial is not None else False
    build_s, build_cpu = time.monotonic() - t0, time.process_time() - c0
    out = run_cbc(model.prob, CbcTiming.budget(max(0.5, time_limit_s - build_s)), threads=threads,
                  warm_start=warm, cancel=cancel, on_progress=on_progress)
    starts = model.starts() if out.solved else None
    return FormulationResult(name, out.status, problem.makespan_of(starts) if starts else None, out.bound, starts,
                             len(model.prob.variables()), model.prob.numConstraints(), build_s, out.solve_s,
                             out.stopped_by, build_cpu + out.cpu_s)
