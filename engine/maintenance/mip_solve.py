"""Whole-plan solvers built on the fixed-targets formulations (`--solver mip-time-indexed|mip-continuous|cp-sat-fixed`).

Each one: takes targets (given, else the constructive heuristic's, else
`simple_targets`), builds the fixed-targets problem, sets the horizon to the
best known schedule's makespan (the heuristic's or `list_schedule`'s, so a
solution always exists), warm-starts from that schedule, solves, validates.

Status of the returned plan, honestly: the formulation optimises the
schedule *for these targets*. The plan says `optimal` only when that is also
provably optimal for the whole problem (its makespan equals the whole
problem's lower bound); a subproblem optimum above that bound is `feasible`.
A formulation stopped before it returns a solution (CBC is killed at the
deadline or on cancellation, and loses its incumbent) leaves the warm start as
the plan: valid, `feasible`, never worse than what the solver was given.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Optional

from engine.maintenance import fixed_targets as ft
from engine.maintenance.bound_check import enforce, settle
from engine.maintenance.problem import Problem, build_problem
from engine.model import Limits, MaintenancePlan, Snapshot, SolverInfo
from engine.progress import Cancellation, ProgressCallback, ProgressEvent
from engine.violations import PlanRejected


def heuristic_schedule(problem: Problem) -> Optional[tuple[dict[str, str], dict[str, int]]]:
    """(targets by VM, starts by VM id / rebooting host id) from the constructive heuristic, if it finds a plan."""
    from engine.maintenance.heuristic import schedule_heuristic

    schedule = schedule_heuristic(problem)
    if schedule is None:
        return None
    hosts = problem.hosts
    targets = {t.vm: hosts[schedule.targets[t.index]].id for t in problem.tasks}
    starts = {t.vm: schedule.starts[t.index] for t in problem.tasks}
    starts.update({hosts[h].id: s for h, s in schedule.reboot_starts.items()})
    return targets, starts


def whole_problem_bounds(problem: Problem):
    from engine.maintenance.bounds import problem_bound_details

    return problem_bound_details(problem)


def solve_fixed(formulation: Callable[..., ft.FormulationResult], name: str, snapshot: Snapshot, limits: Limits, *,
                time_limit_s: Optional[float] = None, workers: Optional[int] = None,
                on_progress: Optional[ProgressCallback] = None, cancel: Optional[Cancellation] = None,
                targets: Optional[Mapping[str, str]] = None) -> MaintenancePlan:
    """Solve with `formulation` (a `solve(problem, ...)` of mip_time_indexed, mip_continuous or cpsat_fixed)."""
    from engine.validate import validate_maintenance

    t0 = time.monotonic()
    time_limit_s = time_limit_s if time_limit_s is not None else limits.solve.time_limit_s
    initial_by_key: Optional[dict[str, int]] = None
    view = build_problem(snapshot, limits)  # the one view of the fleet: heuristic, targets, bounds
    if targets is None:
        found = heuristic_schedule(view)
        if found is not None:
            targets, initial_by_key = found
        else:
            targets = ft.simple_targets(snapshot, limits, view)
    try:
        problem = ft.build(snapshot, limits, targets, problem=view)
    except ft.FixedTargetsRefused as exc:
        return _no_plan(name, t0, "unknown", "no usable fixed targets: " + "; ".join(exc.problems))
    initial = ft.list_schedule(problem)
    if initial_by_key is not None:
        theirs = {t.index: initial_by_key[t.key] for t in problem.tasks if t.key in initial_by_key}
        if problem.is_schedule(theirs) and problem.makespan_of(theirs) < problem.makespan_of(initial):
            initial = theirs
    problem.with_horizon(problem.makespan_of(initial))
    claims = whole_problem_bounds(view)
    bound = max((b.value for b in claims), default=0)

    def progress(event: ProgressEvent) -> None:
        # the formulation's own bound holds for these targets only: show the whole problem's
        on_progress(ProgressEvent(elapsed_s=time.monotonic() - t0, objective=event.objective, bound=bound))

    if on_progress is not None:
        on_progress(ProgressEvent(elapsed_s=time.monotonic() - t0, objective=problem.horizon, bound=bound))
    result = formulation(problem, time_limit_s=max(0.5, time_limit_s - (time.monotonic() - t0)),
                         threads=workers or 1, initial=initial, cancel=cancel,
                         on_progress=progress if on_progress is not None else None)
    wall = time.monotonic() - t0
    if result.status == "infeasible":  # cannot happen: the warm start is a solution within the horizon
        return _no_plan(name, t0, "unknown",
                        f"{name} reported the fixed-targets problem infeasible within horizon {problem.horizon}")
    # Nothing back (stopped and killed before CBC wrote its incumbent): the warm start still stands.
    starts = result.starts if result.starts is not None else initial
    settled = settle(claims, problem.makespan_of(starts))  # a bound above this plan is a bug, not a cap
    plan = problem.to_plan(starts, status="optimal" if settled.proven else "feasible", solver=name, wall_s=wall,
                           lower_bound=settled.value)
    if settled.notes():
        plan = plan.model_copy(update={"notes": settled.notes()})
    violations = validate_maintenance(snapshot, limits, plan)
    if violations:
        raise PlanRejected(name, violations)
    enforce(settled, f"solver {name}")
    return plan


def _no_plan(name: str, t0: float, status: str, explanation: Optional[str]) -> MaintenancePlan:
    return MaintenancePlan(status=status, solver=SolverInfo(name=name, wall_s=round(time.monotonic() - t0, 3)),
                           explanation=explanation)


def solve_mip_time_indexed(snapshot: Snapshot, limits: Limits, **kwargs) -> MaintenancePlan:
    from engine.maintenance import mip_time_indexed

    return solve_fixed(mip_time_indexed.solve, mip_time_indexed.NAME, snapshot, limits, **kwargs)


def solve_mip_continuous(snapshot: Snapshot, limits: Limits, **kwargs) -> MaintenancePlan:
    from engine.maintenance import mip_continuous

    return solve_fixed(mip_continuous.solve, mip_continuous.NAME, snapshot, limits, **kwargs)


def solve_cpsat_fixed(snapshot: Snapshot, limits: Limits, **kwargs) -> MaintenancePlan:
    from engine.maintenance import cpsat_fixed

    return solve_fixed(cpsat_fixed.solve, cpsat_fixed.NAME, snapshot, limits, **kwargs)


SOLVERS: dict[str, Callable[..., MaintenancePlan]] = {
    "mip-time-indexed": solve_mip_time_indexed,
    "mip-continuous": solve_mip_continuous,
    "cp-sat-fixed": solve_cpsat_fixed,
}
