"""Entry point: solve a placement problem and return a validated PlacementPlan.

Solvers: `ffd`, `bfd` (greedy; `bfd` is worst-fit for balance and consolidation
for rebalance), `cbc` (PuLP MIP, CBC killed at the deadline), `cp-sat` (for
min_hosts first bin completion on interchangeable hosts, then the assignment
model hinted with the best greedy packing), `lns` (large-neighbourhood search
re-packing a few hosts at a time with CP-SAT; for balance, re-spreading the
hottest host's VMs with a few cool hosts),
`auto` (the best of ffd, bfd and the dot-product fill; done if it meets the
lower bound; else cp-sat up to EXACT_SIZE item×host pairs; lns beyond, after a
short bin completion up to COMPLETION_SIZE pairs).
Every plan goes through `engine.validate_placement` (PlanRejected on a violation).
With `on_plan`, the greedy packing is handed out (validated) as the first incumbent
and the final plan as the last (engine/progress.py); the searches in between
report progress only.

Status is honest: `optimal` only when the value meets the lower bound or a
solver proved it on exactly representable data; `infeasible` only when proved.
"""

from __future__ import annotations

import os
import time
from typing import Optional

from engine.model import Limits, Move, Assignment, PlacementPlan, SolverInfo, Snapshot
from engine.placement.bounds import lower_bound
from engine.placement.heuristics import best_fit_decreasing, first_fit_decreasing, heuristic
from engine.placement.problem import SCALE, PlacementProblem, build_problem
from engine.placement.solution import Assign, is_feasible, objective_value
from engine.progress import Cancellation, PlanCallback, ProgressCallback, ProgressEvent
from engine.validate_placement import validate_placement
from engine.violations import PlanRejected

SOLVERS = ("auto", "ffd", "bfd", "cbc", "cp-sat", "lns", "colgen")
EXACT_SIZE = 5_000        # item × receiver pairs up to which `auto` runs the full CP-SAT model
COMPLETION_SIZE = 30_000  # … and up to which it tries bin completion (a quarter of the time) before LNS
COLGEN_MIN_ITEMS = 30     # `auto` takes the column-generation path for min_hosts from this many VMs …
COLGEN_MAX_TYPES = 1_500  # … up to this many distinct VM shapes …
COLGEN_MAX_SHAPES = 20    # … and host shapes (after fixed VMs)
EXACT_FIT_SHARE = 0.4    # of the time: bin completion first when a packing at the bound wastes nothing
COLGEN_SHARE = 0.3        # of the time: column generation for the bound,
DIVE_SHARE = 0.5          # dives (at 500 VMs the LNS after them rarely gains a host),
RMP_SHARE = 0.05          # the restricted master as an integer program; the LNS gets the rest …
COLGEN_EXACT_SIZE = 1_500 # … or the CP-SAT assignment model up to this many item × host pairs


def solve_placement(snapshot: Snapshot, limits: Limits, *, solver: str = "auto", objective: Optional[str] = None,
                    time_limit_s: Optional[float] = None, workers: Optional[int] = None,
                    on_progress: Optional[ProgressCallback] = None, cancel: Optional[Cancellation] = None,
                    max_moves: Optional[int] = None, on_plan: Optional[PlanCallback] = None) -> PlacementPlan:
    if solver not in SOLVERS:
        raise ValueError(f"unknown placement solver {solver!r}: choose {', '.join(SOLVERS)}")
    started = time.monotonic()
    limit = time_limit_s if time_limit_s is not None else limits.solve.time_limit_s
    deadline = started + limit
    workers = workers or limits.solve.workers or os.cpu_count() or 1
    p = build_problem(snapshot, limits, objective, max_moves)
    max_moves_checked = p.max_moves if p.objective == "rebalance" else None

    def validated(plan: PlacementPlan) -> PlacementPlan:
        problems = validate_placement(snapshot, limits, plan, max_moves=max_moves_checked)
        if problems:
            raise PlanRejected(plan.solver.name, problems)
        return plan

    incumbent = (lambda plan: on_plan(validated(plan))) if on_plan is not None else None
    run = _Run(p, started, deadline, workers, limits.solve.seed, on_progress, cancel, incumbent)
    plan = validated(run.solve(solver))
    if on_plan is not None and plan.status in ("optimal", "feasible"):
        on_plan(plan)
    return plan


class _Run:
    def __init__(self, p: PlacementProblem, started: float, deadline: float, workers: int, seed: int,
                 on_progress: Optional[ProgressCallback], cancel: Optional[Cancellation],
                 incumbent: Optional[PlanCallback] = None):
        self.p, self.started, self.deadline = p, started, deadline
        self.incumbent = incumbent
        self.workers, self.seed = workers, seed
        self.on_progress, self.cancel = on_progress, cancel
        self.lb = lower_bound(p)
        self.bound_note: Optional[str] = None
        self.proved = False

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def report(self, value: Optional[float], message: str) -> None:
        if self.on_progress:
            self.on_progress(ProgressEvent(time.monotonic() - self.started, objective=value, bound=self.lb,
                                           message=message))

    def solve(self, solver: str) -> PlacementPlan:
        p = self.p
        unplaceable = _unplaceable(p)
        if unplaceable:
            return self.plan(None, "infeasible", solver, explanation=unplaceable)
        if solver == "ffd":
            greedy, name = first_fit_decreasing(p), "ffd"
        elif solver == "bfd":
            greedy, name = best_fit_decreasing(p), "bfd"
        else:
            greedy, name = heuristic(p)
        if greedy is not None:
            self.report(objective_value(p, greedy), f"{name}: greedy packing")
            if self.incumbent is not None and solver not in ("ffd", "bfd"):  # (for ffd/bfd it is the final plan)
                self.incumbent(self.plan(greedy, None, name, report=False))
        if solver in ("ffd", "bfd") and greedy is None:
            return self.plan(None, "unknown", name, explanation=f"{name} could not place every VM (a greedy "
                             "packing can fail where a placement exists: try cp-sat)")
        if solver in ("ffd", "bfd") or self._meets_bound(greedy):
            return self.plan(greedy, None, name)
        if solver == "colgen" or (solver == "auto" and greedy is not None and _colgen_pays(p)):
            return self.run_colgen(greedy, name)
        if solver == "auto":
            pairs = len(p.items) * len(p.receivers)
            solver = "cp-sat" if pairs <= EXACT_SIZE or greedy is None else "lns"
            if solver == "lns" and pairs <= COMPLETION_SIZE:
                found = self.bin_completion(greedy, 0.25)
                if found is not None:
                    return self.plan(found, None, "bin-completion")
        if solver == "cp-sat":
            return self.run_cpsat(greedy, name)
        if solver == "cbc":
            from engine.placement.cbc import solve_cbc

            result = solve_cbc(p, greedy, self.left(), self.workers, self.cancel)
            assign, status = result.assign, result.status
            if assign is None or (greedy is not None and objective_value(p, greedy) < objective_value(p, assign)):
                assign, status = greedy, ("feasible" if greedy is not None else result.status)
            self.proved = status == "optimal" and _exact(p)
            if status == "infeasible" and not _exact(p):
                status = "unknown"
            return self.plan(assign, status if assign is None else None, "cbc" if assign is not greedy else f"cbc ({name})")
        if solver == "lns":
            if greedy is None:
                return self.run_cpsat(greedy, name)
            plan = self.run_lns(greedy, name)
            plan.solver.name = "lns"
            return plan
        raise AssertionError(solver)

    def run_colgen(self, greedy: Optional[Assign], name: str) -> PlacementPlan:
        """min_hosts through the set-covering LP: its bound, dives and the restricted master as an
        integer program for packings, then the LNS (or the CP-SAT model when small) for the rest."""
        from engine.placement.colgen import ColumnGeneration, applies
        from engine.placement.colgen_integer import dives, integer_packing

        p = self.p
        if greedy is None or not applies(p):  # rebalance, balance, or nothing placed greedily
            return self.run_cpsat(greedy, name) if len(p.items) * len(p.receivers) <= EXACT_SIZE or greedy is None \
                else self.run_lns(greedy, name)
        if _zero_waste(p, self.lb):  # a packing at the bound wastes nothing: bin completion's home ground
            found = self.bin_completion(greedy, EXACT_FIT_SHARE)
            if found is not None:
                return self.plan(found, None, "bin-completion")
        exact = _exact(p)
        cg = ColumnGeneration(p, exact, self.workers, self.cancel)
        cg.add_assignment(greedy)
        best, best_name = greedy, name
        total = self.left()
        cg.run(time.monotonic() + COLGEN_SHARE * total, self.cancel, stop_at=int(objective_value(p, greedy)))
        bound = cg.lower_bound()
        if bound is not None and bound > self.lb:
            self.lb = float(bound)
            self.bound_note = "lower bound: set-covering LP by column generation (" + \
                ("converged: ⌈LP optimum⌉" if cg.converged else "stopped early: Lagrangian/Farley bound") + ")"
        self.report(objective_value(p, best), f"colgen: LP bound {self.lb:g}, {len(cg.columns)} patterns")

        def better(found: Optional[Assign], label: str) -> None:
            nonlocal best, best_name
            if found is not None and is_feasible(p, found) and objective_value(p, found) < objective_value(p, best):
                best, best_name = found, label
                self.report(objective_value(p, best), f"{label}: {objective_value(p, best):g} hosts")
                if self.incumbent is not None:
                    self.incumbent(self.plan(best, None, label, report=False))

        if not self._meets_bound(best):
            dives(cg, time.monotonic() + DIVE_SHARE * total, int(objective_value(p, best)),
                  lambda found: better(found, "colgen-dive"), self.cancel, int(self.lb), self.deadline - 0.5)
        if not self._meets_bound(best):
            better(self.bin_completion(best, 0.25), "bin-completion")
        if not self._meets_bound(best):
            rmp_end = min(self.deadline - 0.3, time.monotonic() + RMP_SHARE * total)
            better(integer_packing(cg, rmp_end, best, self.workers, self.seed, int(self.lb), self.cancel), "colgen-rmp")
        if self._meets_bound(best) or self.left() < 0.2:
            return self.plan(best, None, best_name)
        if len(p.items) * len(p.receivers) <= COLGEN_EXACT_SIZE:
            return self.run_cpsat(best, best_name, completion=False)
        return self.run_lns(best, best_name)

    def run_lns(self, greedy: Assign, name: str) -> PlacementPlan:
        from engine.placement.lns import improve, improve_balance

        search = improve_balance if self.p.objective == "balance" else improve
        assign = search(self.p, greedy, self.deadline, self.lb, self.workers, self.seed, self.report, self.cancel)
        return self.plan(assign, None, "lns" if assign != greedy else name)

    def run_cpsat(self, greedy: Optional[Assign], name: str, completion: bool = True) -> PlacementPlan:
        from engine.placement.cpsat import AssignmentModel

        p = self.p
        found = self.bin_completion(greedy, 0.5) if completion else None
        if found is not None:
            return self.plan(found, None, "cp-sat")
        from engine.placement.candidates import BuildTimeout

        try:
            model = AssignmentModel(p, deadline=self.deadline - 0.5)
        except BuildTimeout:
            if greedy is None:
                return self.plan(None, "unknown", "cp-sat", explanation="the model could not be built in the time limit")
            return self.plan(greedy, None, f"cp-sat ({name}: model too large for the time limit)")
        if greedy is not None:
            model.hint(greedy)
        res = model.solve(self.left(), self.workers, self.seed, self.on_progress, self.cancel, self.started)
        exact = _exact(p)
        if res.bound is not None and exact:
            self.lb = max(self.lb, res.bound if p.objective != "balance" else _floor6(res.bound))
        assign = res.assign
        if assign is None or (greedy is not None and objective_value(p, greedy) < objective_value(p, assign)):
            assign = assign if greedy is None else greedy
        if assign is None:
            status = res.status if (res.status != "infeasible" or exact) else "unknown"
            expl = "no assignment satisfies capacity and anti-affinity (proved by cp-sat)" if status == "infeasible" else \
                "no placement found within the time limit"
            return self.plan(None, status, "cp-sat", explanation=expl)
        self.proved = res.status == "optimal" and exact and assign is res.assign
        return self.plan(assign, None, "cp-sat")

    def bin_completion(self, greedy: Optional[Assign], share: float) -> Optional[Assign]:
        """A packing into exactly lower-bound hosts (min_hosts), searched for `share` of the time left."""
        from engine.placement.exact_fit import exact_fit_search

        if self.p.objective != "min_hosts" or greedy is None:
            return None
        found = exact_fit_search(self.p, self.lb, time.monotonic() + share * self.left(), self.cancel)
        if found is not None and objective_value(self.p, found) <= self.lb:
            return found
        return None

    def _meets_bound(self, assign: Optional[Assign]) -> bool:
        return assign is not None and objective_value(self.p, assign) <= self.lb + 1e-9

    def plan(self, assign: Optional[Assign], status: Optional[str], solver: str,
             explanation: Optional[str] = None, report: bool = True) -> PlacementPlan:
        p = self.p
        wall = round(time.monotonic() - self.started, 3)
        info = SolverInfo(name=solver, wall_s=wall)
        if assign is None:
            return PlacementPlan(status=status or "unknown", objective=p.objective, lower_bound=self.lb,
                                 solver=info, explanation=explanation or "no placement found within the time limit")
        if p.objective == "rebalance":
            from engine.placement.heuristics import return_home

            assign = return_home(p, assign)
        value = objective_value(p, assign)
        lb = min(self.lb, value)
        optimal = value <= self.lb + 1e-9 or self.proved
        assignments = [Assignment(vm=p.items[i].vm, host=p.receivers[r].host)
                       for i, r in enumerate(assign) if p.items[i].origin is None]
        moves = [Move(vm=p.items[i].vm, source=p.items[i].origin, target=p.receivers[r].host)
                 for i, r in enumerate(assign)
                 if p.items[i].origin is not None and p.receivers[r].host != p.items[i].origin]
        plan = PlacementPlan(status="optimal" if optimal else "feasible", objective=p.objective, value=value,
                             lower_bound=lb, assignments=sorted(assignments, key=lambda a: a.vm),
                             moves=sorted(moves, key=lambda m: m.vm), solver=info, explanation=explanation,
                             notes=[self.bound_note] if self.bound_note else None)
        if report:
            self.report(value, f"{solver}: done ({plan.status})")
        return plan


def _colgen_pays(p: PlacementProblem) -> bool:
    """min_hosts with few enough item types and host shapes for the LP to settle in time."""
    from engine.placement.colgen import applies, build_types

    return applies(p) and len(p.items) >= COLGEN_MIN_ITEMS and len(build_types(p).weight) <= COLGEN_MAX_TYPES and \
        len({tuple(p.int_free(r)) for r in range(len(p.receivers))}) <= COLGEN_MAX_SHAPES


def _zero_waste(p: PlacementProblem, lb: float) -> bool:
    """Would `lb` hosts (all alike, nothing fixed) be filled exactly in some resource?"""
    if not p.receivers or any(rec.fixed_used for rec in p.receivers) or p.fixed_used_elsewhere:
        return False
    free = p.receivers[0].free
    if any(rec.free != free for rec in p.receivers):
        return False
    return any(abs(lb * free[d] - sum(it.demand[d] for it in p.items)) <= 1e-9 * max(1.0, lb * free[d])
               for d in range(p.dims))


def _floor6(x: float) -> float:
    import math

    return math.floor(x * 1e6) / 1e6


def _exact(p: PlacementProblem) -> bool:
    """Are demands and capacities whole numbers of 1/SCALE units (so the integer model is exact)?"""
    def whole(x: float) -> bool:
        return abs(x * SCALE - round(x * SCALE)) < 1e-6

    return all(whole(a) for it in p.items for a in it.demand) and \
        all(whole(u) and whole(f) for rec in p.receivers for u, f in zip(rec.usable, rec.fixed_load))


def _unplaceable(p: PlacementProblem) -> Optional[str]:
    """Items that fit no receiver even alone: a proof of infeasibility that names them."""
    bad = []
    for it in p.items:
        reasons = []
        ok = False
        for r, rec in enumerate(p.receivers):
            room = p.customer_room(r, it.customer)
            if (room is not None and room < 1) or not p.allowed(it, r):
                continue
            if all(a <= f + 1e-9 * max(1.0, f) for a, f in zip(it.demand, rec.free)):
                ok = True
                break
        if not ok:
            if not p.receivers:
                reasons.append("no active host")
            bad.append(it.vm)
    if not bad:
        return None
    shown = ", ".join(bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
    return f"{len(bad)} VM(s) fit no active host (capacity after headroom and existing VMs, or the per-customer limit): {shown}"
