"""CP-SAT model of the maintenance problem (FORMATS.md, "What a valid maintenance plan satisfies").

    Variables    an interval per migration (start, fixed duration), an optional
                 interval per candidate target sharing that start/end, a reboot
                 interval per rebooting host, the makespan.
    Constraints  one method per rule family; `Constraints.add_constraints`
                 is the table of contents.
    Objective    minimise the makespan; then, with the makespan fixed, the
                 total completion time (sum of migration and reboot ends).
    Solution     start, target and reboot minutes read back as a `Schedule`.

The model is exact when every eligible target is a candidate; with pruned
candidates (large instances) its optimum and bound hold only for the pruned
model, and `CpSatResult.exact` says so.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

from engine.cp_solver import new_cp_solver, solve_cancellable
from engine.maintenance.problem import RESOURCES, Problem
from engine.maintenance.schedule import Schedule
from engine.progress import Cancellation, ProgressCallback, ProgressEvent

# Constraint families that can be switched off (infeasibility explanation): named after FORMATS.md limits.
FAMILIES = (
    "capacity",
    "per_source_host",
    "per_target_host",
    "per_rack",
    "per_datacenter",
    "global",
    "bandwidth",
    "conflict",
    "max_hosts_down_per_rack",
    "rolling_order",
)

PROGRESS_EVERY_S = 0.2
BUILD_CHECK_EVERY = 256  # tasks between two looks at the cancel flag while the model is built


class ModelBuildCancelled(Exception):
    """The cancel came while the model was being built (seconds at thousands of migrations)."""


def _check(cancel: Optional[Cancellation]) -> None:
    if cancel is not None and cancel.cancelled:
        raise ModelBuildCancelled()


@dataclass
class CpSatResult:
    status: str                      # optimal | feasible | infeasible | unknown (for the model solved)
    schedule: Optional[Schedule]
    makespan: Optional[int]
    bound: Optional[int]             # proven bound on the makespan of the model solved
    exact: bool                      # the model had every eligible target as candidate
    wall_s: float


class Variables:
    """The decision variables, named after what they mean."""

    def __init__(self, model, problem: Problem, candidates: Sequence[Sequence[int]], horizon: int,
                 cancel: Optional[Cancellation] = None):
        self.model = model
        self.problem = problem
        self.candidates = candidates
        self.horizon = horizon
        self.start = []
        self.end = []
        self.interval = []
        self.present: list[dict[int, object]] = []          # task -> {target: literal}
        self.target_interval: list[dict[int, object]] = []  # task -> {target: optional interval}
        for t in problem.tasks:
            if t.index % BUILD_CHECK_EVERY == 0:
                _check(cancel)
            s = model.NewIntVar(0, max(0, horizon - t.duration), f"start[{t.vm}]")
            e = s + t.duration
            iv = model.NewFixedSizeIntervalVar(s, t.duration, f"migration[{t.vm}]")
            self.start.append(s)
            self.end.append(e)
            self.interval.append(iv)
            lits: dict[int, object] = {}
            ivs: dict[int, object] = {}
            cands = candidates[t.index]
            for h in cands:
                if len(cands) == 1:
                    lit = model.NewConstant(1)
                    ivs[h] = iv
                else:
                    lit = model.NewBoolVar(f"to[{t.vm},{problem.hosts[h].id}]")
                    ivs[h] = model.NewOptionalFixedSizeIntervalVar(s, t.duration, lit, f"arrive[{t.vm},{problem.hosts[h].id}]")
                lits[h] = lit
            self.present.append(lits)
            self.target_interval.append(ivs)
        self.reboot_start: dict[int, object] = {}
        self.reboot_end: dict[int, object] = {}
        self.reboot_interval: dict[int, object] = {}
        for h in problem.reboot_hosts:
            hd = problem.hosts[h]
            r = model.NewIntVar(0, max(0, horizon - hd.reboot_minutes), f"reboot[{hd.id}]")
            self.reboot_start[h] = r
            self.reboot_end[h] = r + hd.reboot_minutes
            self.reboot_interval[h] = model.NewFixedSizeIntervalVar(r, hd.reboot_minutes, f"down[{hd.id}]")
        self.makespan = model.NewIntVar(0, horizon, "makespan")
        # auxiliary literals the constraints add: (literal, task, rack) "task's target is in rack"
        self.in_rack: list[tuple[object, int, int]] = []


class Constraints:
    """One method per rule family of FORMATS.md; `skip` switches families off (explanations)."""

    def __init__(self, v: Variables, skip: Iterable[str] = (), cancel: Optional[Cancellation] = None):
        self.v = v
        self.m = v.model
        self.p = v.problem
        self.skip = set(skip)
        self.cancel = cancel

    def add_constraints(self) -> None:
        # (a look at the cancel flag between families: each takes up to ~0.3 s at 2,500 migrations)
        for add in (self.add_migrate_once,             # rule 1
                    self.add_reboot_after_evacuation,  # rule 2
                    self.add_target_rules,             # rule 3
                    self.add_capacity,                 # rule 4
                    self.add_concurrency,              # rule 5
                    self.add_bandwidth,                # rule 6
                    self.add_conflict,                 # rule 7
                    self.add_hosts_down,               # rule 8
                    self.add_makespan):                # rule 9
            _check(self.cancel)
            add()

    # -------------------------------------------------------------- helpers

    def _cumulative(self, intervals: list, demands: list[int], capacity: Optional[int]) -> None:
        """sum of demands of running intervals <= capacity at every minute (skipped when it cannot bind)."""
        if capacity is None or not intervals or sum(demands) <= capacity:
            return
        if all(d == 1 for d in demands) and capacity == 1:
            self.m.AddNoOverlap(intervals)
        else:
            self.m.AddCumulative(intervals, demands, capacity)

    # -------------------------------------------------------------- rules

    def add_migrate_once(self) -> None:
        """Rule 1: every task migrates exactly once, to exactly one of its candidate targets."""
        for lits in self.v.present:
            self.m.AddExactlyOne(list(lits.values()))

    def add_reboot_after_evacuation(self) -> None:
        """Rule 2: a host reboots once, after every migration leaving it has ended."""
        for h, r in self.v.reboot_start.items():
            for j in self.p.hosts[h].tasks:
                self.m.Add(r >= self.v.end[j])

    def add_target_rules(self) -> None:
        """Rule 3: same datacenter, not the source, not disabled (in the candidates); a
        rebooting target (rolling only) receives only after its reboot has ended."""
        if "rolling_order" in self.skip:
            return
        for t in self.p.tasks:
            for h, lit in self.v.present[t.index].items():
                if self.p.hosts[h].reboots:
                    self.m.Add(self.v.start[t.index] >= self.v.reboot_end[h]).OnlyEnforceIf(lit)

    def add_capacity(self) -> None:
        """Rule 4: VMs that end up on a target fit its free room (static: see problem.py)."""
        if "capacity" in self.skip:
            return
        arriving: dict[int, list[tuple[int, object]]] = {}
        for t in self.p.tasks:
            for h, lit in self.v.present[t.index].items():
                arriving.setdefault(h, []).append((t.index, lit))
        for h, items in arriving.items():
            room = self.p.hosts[h].room
            for k in range(len(RESOURCES)):
                demands = [self.p.tasks[j].demand[k] for j, _ in items]
                if sum(demands) <= room[k]:
                    continue
                self.m.Add(sum(d * lit for d, (_, lit) in zip(demands, items)) <= room[k])

    def add_concurrency(self) -> None:
        """Rule 5: migrations in [start, end) leaving a host, arriving at a host, touching a
        rack (counted once), in a datacenter and in all stay within their limits."""
        p, v = self.p, self.v
        if "per_source_host" not in self.skip:
            for h in p.reboot_hosts:
                ivs = [v.interval[j] for j in p.hosts[h].tasks]
                self._cumulative(ivs, [1] * len(ivs), p.per_source_host)
        arriving = self._arrivals()
        if "per_target_host" not in self.skip:
            for h, items in arriving.items():
                ivs = [iv for _, iv in items]
                self._cumulative(ivs, [1] * len(ivs), p.per_target_host)
        if "per_rack" not in self.skip and p.per_rack is not None:
            # A migration touches its source's rack, and its target's rack when that differs
            # (counted once). One optional interval per (migration, other rack), present when
            # the chosen target is in that rack: far fewer intervals than one per target.
            by_rack: dict[int, list] = {}
            for t in p.tasks:
                src_rack = p.hosts[t.source].rack
                by_rack.setdefault(src_rack, []).append(v.interval[t.index])
                targets_in: dict[int, list] = {}
                for h, lit in v.present[t.index].items():
                    if p.hosts[h].rack != src_rack:
                        targets_in.setdefault(p.hosts[h].rack, []).append(lit)
                for rack, lits in targets_in.items():
                    if len(v.present[t.index]) == 1:
                        by_rack.setdefault(rack, []).append(v.interval[t.index])
                        continue
                    if len(lits) == 1:
                        in_rack = lits[0]
                    else:
                        in_rack = self.m.NewBoolVar(f"in_rack[{t.vm},{p.racks[rack]}]")
                        self.m.Add(in_rack == sum(lits))
                        v.in_rack.append((in_rack, t.index, rack))
                    by_rack.setdefault(rack, []).append(self.m.NewOptionalFixedSizeIntervalVar(
                        v.start[t.index], t.duration, in_rack, f"rack[{t.vm},{p.racks[rack]}]"))
            for ivs in by_rack.values():
                self._cumulative(ivs, [1] * len(ivs), p.per_rack)
        if "per_datacenter" not in self.skip and p.per_datacenter is not None:
            by_dc: dict[int, list] = {}
            for t in p.tasks:
                by_dc.setdefault(p.hosts[t.source].datacenter, []).append(v.interval[t.index])
            for ivs in by_dc.values():
                self._cumulative(ivs, [1] * len(ivs), p.per_datacenter)
        if "global" not in self.skip:
            self._cumulative(list(v.interval), [1] * len(v.interval), p.global_limit)

    def add_bandwidth(self) -> None:
        """Rule 6: Gbps of migrations touching a host (leaving or arriving) <= its bandwidth."""
        if "bandwidth" in self.skip:
            return
        p, v = self.p, self.v
        arriving = self._arrivals()
        for hd in p.hosts:
            if hd.bandwidth is None:
                continue
            ivs = [v.interval[j] for j in hd.tasks] + [iv for _, iv in arriving.get(hd.index, [])]
            demands = [p.tasks[j].gbps for j in hd.tasks] + [p.tasks[j].gbps for j, _ in arriving.get(hd.index, [])]
            self._cumulative(ivs, demands, hd.bandwidth)

    def add_conflict(self) -> None:
        """Rule 7: per customer, its VMs migrating plus its non-migratable VMs on rebooting
        hosts stay within its limit."""
        if "conflict" in self.skip:
            return
        p, v = self.p, self.v
        ivs: dict[int, list] = {}
        dem: dict[int, list[int]] = {}
        for t in p.tasks:
            ivs.setdefault(t.customer, []).append(v.interval[t.index])
            dem.setdefault(t.customer, []).append(1)
        for h in p.reboot_hosts:
            for c, n in p.hosts[h].down_customers:
                ivs.setdefault(c, []).append(v.reboot_interval[h])
                dem.setdefault(c, []).append(n)
        for c, items in ivs.items():
            self._cumulative(items, dem[c], p.customer_limits[c])

    def add_hosts_down(self) -> None:
        """Rule 8: hosts rebooting at once in one rack <= max_hosts_down_per_rack."""
        if "max_hosts_down_per_rack" in self.skip:
            return
        by_rack: dict[int, list] = {}
        for h, iv in self.v.reboot_interval.items():
            by_rack.setdefault(self.p.hosts[h].rack, []).append(iv)
        for ivs in by_rack.values():
            self._cumulative(ivs, [1] * len(ivs), self.p.max_hosts_down_per_rack)

    def add_makespan(self) -> None:
        """Rule 9: the makespan is the latest end (every migration ends before its source reboots)."""
        for h, e in self.v.reboot_end.items():
            self.m.Add(self.v.makespan >= e)
        for j, e in enumerate(self.v.end):
            if not self.p.hosts[self.p.tasks[j].source].reboots:
                self.m.Add(self.v.makespan >= e)

    # -------------------------------------------------------------- shared views

    def _arrivals(self) -> dict[int, list[tuple[int, object]]]:
        out: dict[int, list[tuple[int, object]]] = {}
        for t in self.p.tasks:
            for h, iv in self.v.target_interval[t.index].items():
                out.setdefault(h, []).append((t.index, iv))
        return out


# --------------------------------------------------------------------------- the model


class MaintenanceModel:
    def __init__(self, problem: Problem, candidates: Sequence[Sequence[int]], horizon: int,
                 skip: Iterable[str] = (), cancel: Optional[Cancellation] = None):
        """Raises ModelBuildCancelled when `cancel` fires during the build."""
        from ortools.sat.python import cp_model

        self.cp_model = cp_model
        self.problem = problem
        self.model = cp_model.CpModel()
        self.vars = Variables(self.model, problem, candidates, horizon, cancel)
        Constraints(self.vars, skip, cancel).add_constraints()
        # No `makespan >= lower_bound` here: a wrong external bound would raise the makespan and still
        # read "optimal". An external bound only ends the search once a plan reaches it (solve_cpsat).

    def minimise_makespan(self) -> None:
        self.model.Minimize(self.vars.makespan)

    def minimise_total_completion(self, makespan: int) -> None:
        v = self.vars
        self.model.Add(v.makespan <= makespan)
        self.model.Minimize(sum(v.end) + sum(v.reboot_end.values()))

    def add_hint(self, schedule: Schedule) -> None:
        v, m = self.vars, self.model
        m.ClearHints()
        for j, s in enumerate(schedule.starts):
            m.AddHint(v.start[j], s)
            if len(v.present[j]) > 1:  # a single candidate is the constant true
                for h, lit in v.present[j].items():
                    m.AddHint(lit, 1 if schedule.targets[j] == h else 0)
        for h, s in schedule.reboot_starts.items():
            if h in v.reboot_start:
                m.AddHint(v.reboot_start[h], s)
        for lit, j, rack in v.in_rack:
            m.AddHint(lit, 1 if self.problem.hosts[schedule.targets[j]].rack == rack else 0)
        m.AddHint(v.makespan, schedule.makespan(self.problem))

    def read(self, solver) -> Schedule:
        v = self.vars
        starts = [int(solver.Value(s)) for s in v.start]
        targets = []
        for lits in v.present:
            chosen = [h for h, lit in lits.items() if solver.Value(lit) == 1]
            targets.append(chosen[0])
        reboots = {h: int(solver.Value(r)) for h, r in v.reboot_start.items()}
        return Schedule(starts=starts, targets=targets, reboot_starts=reboots)


class _Progress:
    """Throttled progress events from solutions and bound improvements."""

    def __init__(self, on_progress: Optional[ProgressCallback], t0: float, external_bound: Optional[int], exact: bool):
        self.on_progress = on_progress
        self.t0 = t0
        self.last = -1.0
        self.objective: Optional[int] = None
        self.bound: Optional[int] = external_bound
        self.exact = exact
        self.lock = threading.Lock()

    def solution(self, objective: float, bound: float) -> None:
        with self.lock:
            self.objective = int(round(objective))
            self._bound(bound)
            self._emit(force=False)

    def new_bound(self, bound: float) -> None:
        with self.lock:
            self._bound(bound)
            self._emit(force=False)

    def _bound(self, bound: float) -> None:
        if self.exact:
            b = int(bound + 1e-6) if bound == bound else None
            if b is not None and (self.bound is None or b > self.bound):
                self.bound = b

    def _emit(self, force: bool) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        # never capped by the objective: a bound above it is a bug to see, not to hide
        self.on_progress(ProgressEvent(elapsed_s=now - self.t0, objective=self.objective, bound=self.bound))


def _parameters(solver, time_limit_s: float, workers: int, seed: int, deterministic: bool = False) -> None:
    params = solver.parameters
    params.max_time_in_seconds = max(0.05, time_limit_s)
    params.num_workers = max(1, workers)
    params.random_seed = seed
    if deterministic:  # same model, same seed -> same answer, however loaded the machine is
        params.max_deterministic_time = max(0.05, time_limit_s)
        params.max_time_in_seconds = 10 * time_limit_s + 30  # only a wall-clock backstop (a loaded machine)
        params.num_workers = 1
    # Both matter enormously on these fleets (NOTES.md: bound 84 vs optimum 377 without them).
    params.use_overload_checker_in_cumulative = True
    params.use_timetable_edge_finding_in_cumulative = True
    # Probing in presolve took 8 s of a 10 s budget on 100-migration fleets with thousands of
    # optional intervals; without it the hint is loaded in under a second and LNS improves it.
    params.cp_model_probing_level = 0
    params.log_search_progress = False
    # The caller owns Ctrl-C (Cancellation → stop_search). CP-SAT's own SIGINT handler, installed
    # from a worker thread, aborted the process (std::bad_function_call) on Ctrl-C.
    params.catch_sigint_signal = False


def solve_cpsat(
    problem: Problem,
    *,
    candidates: Sequence[Sequence[int]],
    exact: bool,
    hint: Optional[Schedule] = None,
    time_limit_s: float = 10.0,
    workers: int = 1,
    seed: int = 0,
    lower_bound: Optional[int] = None,
    on_progress: Optional[ProgressCallback] = None,
    cancel: Optional[Cancellation] = None,
    skip: Iterable[str] = (),
    polish: bool = True,
    on_solution: Optional[Callable[[Schedule], None]] = None,
    deterministic: bool = False,
) -> CpSatResult:
    """Minimise the makespan, then (time permitting) the total completion time.

    `lower_bound` (proven elsewhere) ends the makespan search once a plan reaches it; it is not a
    constraint, so a wrong one cannot raise the makespan (the caller compares it with the plan).
    `deterministic`: one search worker and CP-SAT's deterministic time instead of the clock, no
    polish phase, so the same inputs give the same schedule on any machine (replays, executors).

    `on_solution(schedule)` sees every improving solution of both phases (makespans never
    increase); progress events report only the first phase's makespan and bound."""
    from ortools.sat.python import cp_model

    t0 = time.monotonic()
    horizon = hint.makespan(problem) if hint is not None else problem.serial_horizon()
    try:
        mm = MaintenanceModel(problem, candidates, horizon, skip=skip, cancel=cancel)
        mm.minimise_makespan()
        if hint is not None:
            _check(cancel)
            mm.add_hint(hint)
    except ModelBuildCancelled:  # stopped before the search: the hint (if any) is the answer
        return CpSatResult(status="feasible" if hint is not None else "unknown", schedule=hint,
                           makespan=hint.makespan(problem) if hint is not None else None, bound=None, exact=exact,
                           wall_s=time.monotonic() - t0)
    progress = _Progress(on_progress, t0, lower_bound, exact)
    if hint is not None:
        progress.solution(hint.makespan(problem), float("nan"))

    class Callback(cp_model.CpSolverSolutionCallback):
        """`makespan_phase`: the objective is the makespan (reported as progress); in the
        polish phase it is the total completion time, which is never reported as `objective`."""

        def __init__(self, makespan_phase: bool):
            super().__init__()
            self.makespan_phase = makespan_phase
            self.kept: Optional[Schedule] = None  # polish: the latest solution of least makespan

        def on_solution_callback(self) -> None:
            if self.makespan_phase:
                progress.solution(self.ObjectiveValue(), self.BestObjectiveBound())
                if on_solution is not None:
                    on_solution(mm.read(self))
                if lower_bound is not None and self.ObjectiveValue() <= lower_bound:
                    self.StopSearch()  # the external bound proves this plan optimal (the caller checks it)
                return
            schedule = mm.read(self)
            if self.kept is None or schedule.makespan(problem) <= self.kept.makespan(problem):
                self.kept = schedule  # never end on a larger makespan than a plan already handed out
                if on_solution is not None:
                    on_solution(schedule)

    def run(deadline_s: float, makespan_phase: bool = True) -> tuple[object, int, Callback]:
        callback = Callback(makespan_phase)
        solver = new_cp_solver()
        _parameters(solver, deadline_s, workers, seed, deterministic)
        if makespan_phase:  # the polish phase's bounds are on total completion, not the makespan
            solver.best_bound_callback = progress.new_bound
        return solver, solve_cancellable(solver, mm.model, callback, cancel), callback

    remaining = time_limit_s - (time.monotonic() - t0)
    solver, status, _ = run(time_limit_s if deterministic else remaining)
    schedule = hint
    makespan = hint.makespan(problem) if hint is not None else None
    bound: Optional[int] = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        schedule = mm.read(solver)
        makespan = int(solver.ObjectiveValue())
        bound = int(solver.BestObjectiveBound() + 1e-6)
        result_status = "optimal" if status == cp_model.OPTIMAL else "feasible"
    elif status == cp_model.INFEASIBLE:
        result_status = "infeasible"
        schedule, makespan = None, None
    elif status == cp_model.MODEL_INVALID:
        raise RuntimeError(f"CP-SAT model invalid: {mm.model.Validate()}")
    else:
        result_status = "feasible" if schedule is not None else "unknown"

    # Polish: same makespan, fewer total minutes of disruption.
    remaining = time_limit_s - (time.monotonic() - t0)
    # (Not in deterministic mode: the polish model spent 35 s of wall time on 0.5 s of deterministic
    # time on a 100-migration fleet, so only the wall-clock backstop would stop it: not reproducible.)
    if (polish and not deterministic and schedule is not None and result_status in ("optimal", "feasible")
            and remaining > 0.5 and not (cancel is not None and cancel.cancelled)):
        mm.minimise_total_completion(makespan)
        mm.add_hint(schedule)
        solver2, status2, polish_cb = run(min(remaining, max(0.5, 0.25 * time_limit_s)), makespan_phase=False)
        if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            better = polish_cb.kept if polish_cb.kept is not None else mm.read(solver2)
            if better.makespan(problem) <= makespan:
                schedule = better

    if progress.on_progress is not None:
        progress.objective = makespan
        if bound is not None and exact:
            progress._bound(bound)
        progress._emit(force=True)
    return CpSatResult(status=result_status, schedule=schedule, makespan=makespan, bound=bound if exact else None,
                       exact=exact, wall_s=time.monotonic() - t0)


def explain_infeasible(problem: Problem, candidates: Sequence[Sequence[int]], time_limit_s: float = 5.0,
                       workers: int = 1, cancel: Optional[Cancellation] = None) -> list[str]:
    """Name the limit families whose removal alone makes the exact model feasible (cut short by `cancel`)."""
    culprits = []
    per = max(0.2, time_limit_s / len(FAMILIES))
    for family in FAMILIES:
        if cancel is not None and cancel.cancelled:
            break
        r = solve_cpsat(problem, candidates=candidates, exact=True, time_limit_s=per, workers=workers,
                        skip={family}, polish=False, cancel=cancel)
        if r.status in ("optimal", "feasible"):
            culprits.append(family)
    return culprits
