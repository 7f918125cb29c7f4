"""CP-SAT twin of the MIP formulations: the same fixed-targets problem, for a fair comparison.

One fixed-size interval per task, the same precedences, and one
`add_cumulative` per cumulative of the problem. Weights that are not integers
(bandwidth in Gbps) are scaled by the smallest power of ten (≤ 10^6) that makes
every weight and capacity of that cumulative integral; the capacity is
floored, so the scaled constraint is never looser than the real one.
"""

from __future__ import annotations

import math
import time
from typing import Optional

from engine.cp_solver import new_cp_solver, solve_cancellable
from engine.maintenance.fixed_targets import Cumulative, FixedTargetsProblem, FormulationResult, Precedence
from engine.maintenance.formulation import Rules
from engine.progress import Cancellation, ProgressCallback, ProgressEvent

NAME = "cp-sat-fixed"


class CpSatFixedModel(Rules):
    def __init__(self, problem: FixedTargetsProblem):
        from ortools.sat.python import cp_model

        self.problem = p = problem
        self.model = cp_model.CpModel()
        m = self.model
        self.start = {t.index: m.new_int_var(p.earliest[t.index], p.latest[t.index], f"s_{t.index}") for t in p.tasks}
        self.interval = {t.index: m.new_fixed_size_interval_var(self.start[t.index], t.duration, f"i_{t.index}")
                         for t in p.tasks}
        self.makespan = m.new_int_var(p.lower_bound(), p.horizon, "makespan")
        self.add_rules()
        m.minimize(self.makespan)

    # ------------------------------------------------------------------ the forms of rules 2–9

    def precedence(self, k: int, p: Precedence) -> None:
        """s_after ≥ s_before + p_before."""
        self.model.add(self.start[p.after] >= self.start[p.before] + self.problem.tasks[p.before].duration)

    def cumulative(self, c: Cumulative) -> None:
        """One `add_cumulative` over the members' intervals, weights scaled to integers, capacity floored."""
        scale = _integral_scale([c.capacity, *c.weights.values()])
        members = list(c.weights)
        self.model.add_cumulative([self.interval[j] for j in members],
                                  [int(round(c.weights[j] * scale)) for j in members],
                                  int(math.floor(c.capacity * scale + 1e-9)))

    def ends_by_makespan(self, j: int) -> None:
        """makespan ≥ s_j + p_j."""
        self.model.add(self.makespan >= self.start[j] + self.problem.tasks[j].duration)

    def hint(self, starts: dict[int, int]) -> None:
        for j, v in self.start.items():
            self.model.add_hint(v, starts[j])
        self.model.add_hint(self.makespan, self.problem.makespan_of(starts))


def _integral_scale(values: list[float]) -> int:
    for k in range(7):
        scale = 10 ** k
        if all(abs(v * scale - round(v * scale)) < 1e-9 * max(1.0, abs(v * scale)) for v in values):
            return scale
    return 10 ** 6


def solve(problem: FixedTargetsProblem, *, time_limit_s: float, threads: int = 1,
          initial: Optional[dict[int, int]] = None, cancel: Optional[Cancellation] = None,
          on_progress: Optional[ProgressCallback] = None) -> FormulationResult:
    from ortools.sat.python import cp_model

    t0, c0 = time.monotonic(), time.process_time()
    built = CpSatFixedModel(problem)
    if initial is not None:
        built.hint(initial)
    build_s = time.monotonic() - t0
    solver = new_cp_solver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit_s - build_s)
    solver.parameters.num_workers = max(1, threads)
    solver.parameters.use_overload_checker_in_cumulative = True
    solver.parameters.use_timetable_edge_finding_in_cumulative = True
    callback = _progress_callback(on_progress, t0) if on_progress is not None else None
    code = solve_cancellable(solver, built.model, callback, cancel)
    status = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible",
              cp_model.INFEASIBLE: "infeasible"}.get(code, "unknown")
    starts = {j: solver.value(v) for j, v in built.start.items()} if status in ("optimal", "feasible") else None
    bound = solver.best_objective_bound if status in ("optimal", "feasible") else None
    stopped = "cancelled" if cancel is not None and cancel.cancelled else ("time limit" if status == "feasible" else None)
    proto = built.model.proto
    return FormulationResult(NAME, status, problem.makespan_of(starts) if starts else None, bound, starts,
                             len(proto.variables), len(proto.constraints), build_s, time.monotonic() - t0 - build_s,
                             stopped, time.process_time() - c0)


def _progress_callback(on_progress: ProgressCallback, t0: float):
    """A solution callback forwarding each improving solution as a ProgressEvent."""
    from ortools.sat.python import cp_model

    class Callback(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            on_progress(ProgressEvent(elapsed_s=time.monotonic() - t0, objective=self.objective_value,
                                      bound=self.best_objective_bound))

    return Callback()
