"""`solve_maintenance`: prechecks, decomposition, heuristic, exact solver, bounds, validation.

    1. prechecks (engine.maintenance.explain): a cheap, named reason → `infeasible`;
    2. split the fleet into independent components (datacenters, decompose.py);
    3. per component: the constructive heuristic (first plan, and the hint),
       then the chosen solver from `SOLVERS` ("cp-sat", "heuristic"; more via
       `register_solver`). The MIP formulations are whole-plan solvers instead
       (`engine.maintenance.mip_solve.SOLVERS`): after the prechecks they get the
       whole fleet, skipping steps 2-4. With more components than processes a
       first wave of heuristic sub-solves runs before any search, so a fleet plan
       exists early (to show, and to keep on a cancel);
    4. merge; the plan's lower bound is the best of engine.maintenance.bounds
       and the exact components' proven bounds that the plan does not refute
       (engine.maintenance.bound_check: a refuted bound is a bug, named in the
       plan's notes and dropped, or raised under FLEETCTL_STRICT_BOUNDS);
    5. ALWAYS engine.validate.validate_maintenance: a violation raises
       PlanRejected, never ships.

Status is honest: `optimal` only when proven (the makespan equals the lower
bound — a proof on its own — or every part was solved exactly to optimality);
`feasible` when a valid plan exists; `infeasible` with an explanation; `unknown`
when no plan was found in time.

Cancel: every phase looks at the flag (here between phases, in each sub-solve
between heuristic passes, candidate chunks, model chunks and constraint families,
then CP-SAT's stop_search); the executor passes the stop to every running
sub-solve and starts no queued one. The plan kept is the best merged one: the
incumbent already validated and handed out when the results are no better
(no second validation on the cancel's path), and its notes say what the cancel
did (`SolveReport.sub_solves` says it per component).
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from engine.executors import SubSolveFailed, executor_for
from engine.executors.timeline import Timeline, job_clocks, worker_stamps
from engine.maintenance.bound_check import Settled, enforce, settle
from engine.maintenance.bounds import Bound
from engine.maintenance.decompose import Component, plan_components, time_shares
from engine.maintenance.heuristic import EXTRA_PASSES_S
from engine.maintenance.problem import Problem, build_problem, candidate_targets
from engine.maintenance.schedule import Schedule, migration_records, reboot_records
from engine.model import Limits, MaintenancePlan, Migration, Reboot, Snapshot, SolverInfo
from engine.progress import PLAN_EVERY_S, Cancellation, PlanCallback, ProgressCallback, ProgressEvent
from engine.violations import PlanRejected, Violation

_ENGINE_IMPORTED_AT = time.time()  # (on a worker: when its process had the engine, see engine.executors.timeline)

# Above this many migrations in one component the exact model is skipped (heuristic plan only).
CPSAT_MAX_TASKS = 12000
# Fleet-wide progress events at most this often (the latest values always go out, see _MergedProgress).
EMIT_EVERY_S = 0.2
# Heuristic passes in deterministic mode (fixed passes first, then seeded random ones).
DETERMINISTIC_PASSES = 24


@dataclass
class ComponentJob:
    """Everything a worker process needs to solve one component (picklable)."""

    problem: Problem
    solver: str
    time_limit_s: float
    workers: int
    seed: int
    restricted: bool
    deadline: float  # time.time() by which the job must return
    lower_bound: Optional[int] = None  # a proven bound on this component's makespan: reaching it ends the search
    incumbents: bool = False  # report improving schedules as progress {"schedule": ...} (someone listens)
    deterministic: bool = False  # no clock in any decision: the same job gives the same result anywhere


    def __reduce__(self):
        """Pickled compactly (to worker processes, a Dask cluster): the problem's migrations and hosts
        as columns, not tens of thousands of objects."""
        return _unpack_job, (_pack_problem(self.problem),
                             {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "problem"})


def _pack_problem(problem: Problem) -> tuple:
    from dataclasses import fields

    from engine.columnar import Columns
    from engine.maintenance.problem import HostData, Task

    rest = {f.name: getattr(problem, f.name) for f in fields(problem) if f.name not in ("tasks", "hosts")}
    return Columns.of(problem.tasks, Task), Columns.of(problem.hosts, HostData), rest


def _unpack_job(packed: tuple, fields: dict) -> "ComponentJob":
    received = time.time()
    tasks, hosts, rest = packed
    job = ComponentJob(problem=Problem(tasks=tasks.rows(), hosts=hosts.rows(), **rest), **fields)
    job.received_at = received  # (not a field: a timeline stamp of this copy only)
    return job


@dataclass
class ComponentResult:
    status: str                     # optimal | feasible | infeasible | unknown (for this component)
    migrations: list[Migration] = field(default_factory=list)
    reboots: list[Reboot] = field(default_factory=list)
    makespan: Optional[int] = None
    bound: Optional[int] = None     # proven lower bound on this component's makespan (fleet-valid)
    proven: bool = False            # optimality proven for the fleet's version of this component
    explanation: Optional[str] = None
    first_plan_s: Optional[float] = None
    notes: list[str] = field(default_factory=list)
    cancelled: bool = False         # the sub-solve saw the stop request and returned early with what it had
    timing: Optional[dict] = None   # its worker's stamps (engine.executors.timeline.worker_stamps)


ComponentSolver = Callable[[ComponentJob, Callable[[dict], None], Optional[Cancellation]], ComponentResult]
SOLVERS: dict[str, ComponentSolver] = {}


def register_solver(name: str, fn: ComponentSolver) -> None:
    """Make `name` available to solve_maintenance / `fleetctl solve maintenance --solver`."""
    SOLVERS[name] = fn


# --------------------------------------------------------------------------- component solvers


def _result_from(problem: Problem, schedule: Schedule, status: str, **kw) -> ComponentResult:
    return ComponentResult(status=status, migrations=migration_records(problem, schedule),
                           reboots=reboot_records(problem, schedule), makespan=schedule.makespan(problem), **kw)


def _heuristic_first(job: ComponentJob, progress: Callable[[dict], None], budget_s: float = 0.0,
                     cancel: Optional[Cancellation] = None) -> tuple[Optional[Schedule], float]:
    from engine.maintenance.heuristic import schedule_heuristic

    t0 = time.monotonic()
    stop = (lambda: cancel.cancelled) if cancel is not None else None
    sched = schedule_heuristic(job.problem, deadline=t0 + max(1.0, job.deadline - time.time()), budget_s=budget_s,
                               seed=job.seed, stop=stop, passes=DETERMINISTIC_PASSES if job.deterministic else None)
    took = time.monotonic() - t0
    if sched is not None:
        progress({"objective": sched.makespan(job.problem), "elapsed_s": took,
                  **({"schedule": sched} if job.incumbents else {})})
    return sched, took


def solve_with_heuristic(job: ComponentJob, progress, cancel) -> ComponentResult:
    problem = job.problem
    if not problem.tasks and not problem.reboot_hosts:
        return ComponentResult(status="optimal", makespan=0, bound=0, proven=True, first_plan_s=0.0)
    sched, took = _heuristic_first(job, progress, cancel=cancel)
    if sched is None:
        stuck = _unplaceable(problem, [problem.eligible_targets(t) for t in problem.tasks])
        if stuck:
            return ComponentResult(status="infeasible", explanation=stuck)
        return ComponentResult(status="unknown", notes=["the heuristic found no plan (it dead-ended)"])
    return _result_from(problem, sched, "feasible", first_plan_s=took, cancelled=_seen(cancel))


def _seen(cancel: Optional[Cancellation]) -> bool:
    return cancel is not None and cancel.cancelled


def _unplaceable(problem: Problem, candidates) -> Optional[str]:
    """Rules 3, 4 and 6 leave some VM without any target: name them."""
    bad = [problem.tasks[j] for j, c in enumerate(candidates) if not c]
    if not bad:
        return None
    names = ", ".join(f"{t.vm} (on {problem.hosts[t.source].id})" for t in bad[:10])
    more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
    return (f"{len(bad)} VM(s) fit no target host in their datacenter (capacity with headroom, bandwidth, "
            f"disabled or rolling=false hosts): {names}{more}")


def candidate_cap(n_tasks: int) -> Optional[int]:
    """Candidate targets per migration in the exact model (None: all, the model is exact)."""
    if n_tasks <= 300:
        return None
    if n_tasks <= 1500:
        return 10
    if n_tasks <= 4000:
        return 6
    return 4


def solve_with_cpsat(job: ComponentJob, progress, cancel) -> ComponentResult:
    from engine.maintenance.cpsat import explain_infeasible, solve_cpsat

    problem = job.problem
    if not problem.tasks and not problem.reboot_hosts:
        return ComponentResult(status="optimal", makespan=0, bound=0, proven=True, first_plan_s=0.0)
    t0 = time.monotonic()
    # A better hint pays off: randomised heuristic passes first. On fleets of thousands of
    # migrations they beat CP-SAT's own improvement per second (2,000-VM rolling fleet: 10 s
    # of passes 1119 -> 1078; CP-SAT 60 s from 1119: 1104), so those get a larger share.
    n = len(problem.tasks)
    budget = min(1.0, 0.08 * job.time_limit_s) if n <= 1000 else min(0.25 * job.time_limit_s, 30.0)
    hint, took = _heuristic_first(job, progress, budget, cancel)
    remaining = job.deadline - time.time()
    n = len(problem.tasks)
    no_time = remaining < 1.0 + n / 4000 and not job.deterministic

    def hint_only(note: Optional[str]) -> ComponentResult:
        if hint is None:
            return ComponentResult(status="unknown", cancelled=_seen(cancel),
                                   notes=["no plan: heuristic dead-ended, no time or size for CP-SAT"])
        return _result_from(problem, hint, "feasible", first_plan_s=took, cancelled=_seen(cancel),
                            notes=[note] if note and not _seen(cancel) else [])

    if n > CPSAT_MAX_TASKS or no_time or _seen(cancel):
        return hint_only(f"CP-SAT skipped ({n} migrations, {remaining:.1f} s left)")
    cap = candidate_cap(n)
    candidates, pruned = candidate_targets(problem, cap, keep=hint.targets if hint is not None else None,
                                           stop=lambda: _seen(cancel))
    if candidates is None or _seen(cancel):  # (over a second on big components)
        return hint_only(None)
    stuck = _unplaceable(problem, candidates)
    if stuck:
        return ComponentResult(status="infeasible", explanation=stuck)

    def on_progress(ev: ProgressEvent) -> None:
        progress({"objective": ev.objective, "bound": ev.bound if not job.restricted else None,
                  "elapsed_s": time.monotonic() - t0})

    def on_solution(schedule: Schedule) -> None:  # an incumbent of this component (validated by the caller)
        # Its makespan goes out with it, at once: CP-SAT's own progress events are throttled and may
        # sit on an improvement until the next event (a remote incumbent must show within a second).
        fields: dict = {"objective": schedule.makespan(problem), "elapsed_s": time.monotonic() - t0}
        if job.incumbents:
            fields["schedule"] = schedule
        progress(fields)

    remaining = job.time_limit_s if job.deterministic else job.deadline - time.time()
    r = solve_cpsat(problem, candidates=candidates, exact=not pruned, hint=hint, time_limit_s=remaining,
                    workers=job.workers, seed=job.seed, lower_bound=job.lower_bound, on_progress=on_progress,
                    cancel=cancel, on_solution=on_solution,
                    deterministic=job.deterministic)
    valid_bound = r.bound if (r.exact and not job.restricted) else None
    if r.status == "infeasible":
        if r.exact and not job.restricted:
            culprits = explain_infeasible(problem, candidates, time_limit_s=min(10.0, max(1.0, job.deadline - time.time())),
                                          workers=job.workers, cancel=cancel)
            what = (", ".join(culprits) + " (removing any one of these alone makes a plan possible)") if culprits \
                else "the combination of limits (no single limit family explains it)"
            if _seen(cancel):  # the proof stands; only its explanation was cut short
                what = "not named (the explanation was cut short by the cancel)"
            dcs = ", ".join(problem.datacenters)
            return ComponentResult(status="infeasible", explanation=f"datacenter(s) {dcs}: no plan satisfies every rule; binding: {what}")
        return ComponentResult(status="unknown", notes=["CP-SAT found the restricted/pruned model infeasible"])
    if r.schedule is None:
        return ComponentResult(status="unknown", notes=["no plan found in time"], cancelled=_seen(cancel))
    proven = r.status == "optimal" and r.exact and not job.restricted
    return _result_from(problem, r.schedule, "optimal" if proven else "feasible", bound=valid_bound, proven=proven,
                        first_plan_s=took if hint is not None else time.monotonic() - t0, cancelled=_seen(cancel))


register_solver("heuristic", solve_with_heuristic)
register_solver("cp-sat", solve_with_cpsat)


def _solve_job(job: ComponentJob, progress, cancel) -> ComponentResult:
    """Entry point in a worker process (must be importable at module level)."""
    return SOLVERS[job.solver](job, progress, cancel)


# --------------------------------------------------------------------------- the orchestration


class SubSolveError(RuntimeError):
    """A component's sub-solve failed (after the executor's retries): the run fails, naming it."""

    def __init__(self, datacenters: tuple[str, ...], reason: str):
        super().__init__(f"datacenter(s) {', '.join(datacenters)}: sub-solve failed: {reason}")
        self.datacenters = datacenters


@dataclass
class SolveReport:
    plan: MaintenancePlan
    first_plan_s: Optional[float]
    components: int
    notes: list[str]
    sub_solves: list[str] = field(default_factory=list)  # per component: finished | stopped | not started
    timeline: Optional[Timeline] = None  # where the time went: phases, each sub-solve's life (diagnostics)


def solve_maintenance(snapshot: Snapshot, limits: Limits, *, solver: str = "cp-sat",
                      time_limit_s: Optional[float] = None, workers: Optional[int] = None,
                      on_progress: Optional[ProgressCallback] = None,
                      cancel: Optional[Cancellation] = None,
                      on_plan: Optional[PlanCallback] = None, executor: Optional[str] = None,
                      deterministic: bool = False) -> MaintenancePlan:
    """`on_plan(plan)` receives validated incumbent plans as the search improves (see
    engine/progress.py): throttled, makespans never increasing, the returned plan last.
    `executor`: where the per-datacenter sub-solves run, `local` (default) or `dask://HOST:PORT`.
    `deterministic`: one search thread per component and no clock in any decision, so the same
    inputs and seed give the same plan on any executor and machine (replays)."""
    return solve_maintenance_report(snapshot, limits, solver=solver, time_limit_s=time_limit_s, workers=workers,
                                    on_progress=on_progress, cancel=cancel, on_plan=on_plan, executor=executor,
                                    deterministic=deterministic).plan


def _fleet_bounds(fleet: Problem) -> list[Bound]:
    """Every bound family's strongest claim on the fleet."""
    from engine.maintenance.bounds import problem_bound_details

    return problem_bound_details(fleet)


def _precheck(snapshot: Snapshot, limits: Limits, fleet: Problem) -> list[str]:
    from engine.maintenance.explain import precheck

    return list(precheck(snapshot, limits, fleet))


def solve_maintenance_report(snapshot: Snapshot, limits: Limits, *, solver: str = "cp-sat",
                             time_limit_s: Optional[float] = None, workers: Optional[int] = None,
                             on_progress: Optional[ProgressCallback] = None,
                             cancel: Optional[Cancellation] = None,
                             on_plan: Optional[PlanCallback] = None,
                             executor: Optional[str] = None, deterministic: bool = False) -> SolveReport:
    """The phases: preparation (the fleet's view, prechecks, components' problems, bounds), the jobs (one
    per component, after a first wave of heuristic ones when they queue), their run on the executor, then
    keep-or-merge (the merged, validated plan, or on a cancel the incumbent already handed out)."""
    plan_level = _plan_solvers()
    if solver not in SOLVERS and solver not in plan_level:
        raise ValueError(f"unknown maintenance solver {solver!r}: choose one of {', '.join(available_solvers())}")
    s = _Solve(snapshot, limits, solver, float(time_limit_s if time_limit_s is not None else limits.solve.time_limit_s),
               int(workers or limits.solve.workers or os.cpu_count() or 1), on_progress, cancel, on_plan, deterministic)
    if solver not in SOLVERS:
        return _solve_whole_plan(s, plan_level[solver])
    # The executor first: a cluster connects (and warms its workers' imports) while the fleet is built here.
    components = plan_components(snapshot, limits)
    runner = executor_for(executor, len(components), s.workers)
    s.timeline.mark("executor ready")
    try:
        prepared = _prepare(s, components)
        if isinstance(prepared, SolveReport):
            return prepared
        all_jobs, first_wave = _jobs(s, prepared, runner)
        outcome = _run(s, prepared, runner, all_jobs, first_wave)
        return _keep_or_merge(s, prepared, outcome)
    finally:
        runner.close()


@dataclass
class _Solve:
    """One solve's settings and clocks, shared by its phases."""

    snapshot: Snapshot
    limits: Limits
    solver: str
    time_limit_s: float
    workers: int
    on_progress: Optional[ProgressCallback]
    cancel: Optional[Cancellation]
    on_plan: Optional[PlanCallback]
    deterministic: bool
    t0: float = field(default_factory=time.monotonic)
    timeline: Timeline = field(default_factory=Timeline)

    def info(self) -> SolverInfo:
        return SolverInfo(name=self.solver, wall_s=round(time.monotonic() - self.t0, 3))

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def cancelled_early(self) -> SolveReport:  # between phases, before any sub-solve ran: nothing to keep
        return SolveReport(plan=MaintenancePlan(status="unknown", solver=self.info(), explanation=(
            f"cancelled on request after {time.monotonic() - self.t0:.1f} s, before any plan was found: "
            f"no plan was kept")), first_plan_s=None, components=0, notes=[], timeline=self.timeline)


@dataclass
class _Prepared:
    fleet: Problem
    components: list[Component]
    problems: list[Problem]  # one per component
    fleet_bounds: list[Bound]

    @property
    def lower_bound(self) -> int:
        return max((b.value for b in self.fleet_bounds), default=0)


@dataclass
class _Outcome:
    results: list[Optional[ComponentResult]]  # the searches
    firsts: list[Optional[ComponentResult]]   # the first wave
    cancel_s: Optional[float]                 # when the caller's cancel came (None: not cancelled)
    incumbents: "_Incumbents"


def _checked_fleet(s: _Solve) -> "Problem | SolveReport":
    """One view of the whole fleet (problem.py) and the prechecks on it: a named reason is `infeasible`.
    Every phase of the preparation looks at the cancel flag before the next one (each takes up to a few
    seconds at 100k VMs): a cancel must not wait for the whole preparation."""
    fleet = build_problem(s.snapshot, s.limits)
    if s.cancelled():
        return s.cancelled_early()
    reasons = _precheck(s.snapshot, s.limits, fleet)
    if reasons:
        plan = MaintenancePlan(status="infeasible", explanation="; ".join(reasons), solver=s.info())
        return SolveReport(plan=plan, first_plan_s=None, components=0, notes=[], timeline=s.timeline)
    if s.cancelled():
        return s.cancelled_early()
    return fleet


def _solve_whole_plan(s: _Solve, solve_plan: Callable[..., MaintenancePlan]) -> SolveReport:
    """A whole-plan formulation (MIP comparisons): it validates too, and so do we."""
    fleet = _checked_fleet(s)
    if isinstance(fleet, SolveReport):
        return fleet
    plan = solve_plan(s.snapshot, s.limits, time_limit_s=s.time_limit_s, workers=s.workers,
                      on_progress=s.on_progress, cancel=s.cancel)
    _validate(s.snapshot, s.limits, plan, s.solver)
    _hand_out_final(plan, s.on_plan)
    return SolveReport(plan=plan, first_plan_s=None, components=1, notes=[], timeline=s.timeline)


def _prepare(s: _Solve, components: list[Component]) -> "_Prepared | SolveReport":
    """The fleet's view and prechecks, each component's problem, the fleet's bounds."""
    fleet = _checked_fleet(s)
    if isinstance(fleet, SolveReport):
        return fleet
    # A single component that shares no limit with anything is the fleet's problem itself: built once.
    if len(components) == 1 and not components[0].restricted and \
            set(components[0].datacenters) == set(fleet.datacenters):
        problems = [fleet]
    else:
        problems = []
        for c in components:
            if s.cancelled():
                return s.cancelled_early()
            problems.append(build_problem(s.snapshot, s.limits, c.datacenters,
                                          customer_limit_overrides=c.customer_limit_overrides,
                                          global_limit=c.global_limit, override_global=c.override_global))
    fleet_bounds = _fleet_bounds(fleet)
    if s.cancelled():
        return s.cancelled_early()
    s.timeline.mark("prepared")
    return _Prepared(fleet, components, problems, fleet_bounds)


def _jobs(s: _Solve, prep: _Prepared, runner) -> tuple[list[ComponentJob], bool]:
    """The executor's jobs: one per component (job k is component k % n), after a first wave of heuristic
    ones when there are more components than processes; and whether there is that first wave."""
    problems, components = prep.problems, prep.components
    processes = runner.processes
    n = len(problems)
    per_job_workers = 1 if s.deterministic else runner.threads_per_job(s.workers)
    # More components than processes: the later ones would wait for the earlier ones' whole search before
    # their first plan exists, so until late in the run there is no fleet plan to show or to keep on a
    # cancel. A first wave of heuristic sub-solves (about a second each) gives every component a plan
    # first; the searches follow, and a cancel drops the searches not yet started, keeping those plans.
    # (Not in deterministic mode: the wave depends on the executor's shape, the plan must not.)
    first_wave = s.solver != "heuristic" and not s.deterministic and n > processes
    if s.deterministic:  # each component its whole (deterministic-time) budget: no clock, no executor shape
        shares = [s.time_limit_s] * n
    else:
        wave_s = math.ceil(n / processes) * EXTRA_PASSES_S if first_wave else 0.0
        shares = time_shares([len(p.tasks) for p in problems], s.time_limit_s - (time.monotonic() - s.t0) - wave_s,
                             processes)
    start_wall = time.time()
    jobs = [ComponentJob(problem=p, solver=s.solver, time_limit_s=share, workers=per_job_workers,
                         seed=s.limits.solve.seed, restricted=c.restricted, deadline=start_wall + share,
                         incumbents=s.on_plan is not None, deterministic=s.deterministic)
            for p, c, share in zip(problems, components, shares)]
    if len(jobs) == 1 and not components[0].restricted:
        jobs[0].lower_bound = prep.lower_bound  # the fleet's bound is this component's bound
    if processes < len(jobs) or getattr(runner, "remote", False):
        # jobs queue behind each other (or in a cluster's queue): each gets its share from when it starts
        for job in jobs:
            job.deadline = float("inf")
    s.timeline.mark("jobs built")
    return ([replace(job, solver="heuristic") for job in jobs] + jobs if first_wave else jobs), first_wave


def _run(s: _Solve, prep: _Prepared, runner, all_jobs: list[ComponentJob], first_wave: bool) -> _Outcome:
    """Every job on the executor, exactly one result per job kept; progress and incumbent plans meanwhile."""
    n = len(prep.problems)
    # A rejected incumbent stops the search at once (then PlanRejected): the solve's own stop signal
    # follows the caller's, so the caller's Cancellation is never set by us.
    stop = Cancellation()
    asked: list[float] = []  # when the caller's cancel came (the plan's notes say so)

    def on_cancel() -> None:
        asked.append(time.monotonic())
        stop.cancel()

    if s.cancel is not None:
        s.cancel.on_cancel(on_cancel)
    incumbents = _Incumbents(s.snapshot, s.limits, prep.problems, prep.components, prep.fleet_bounds, s.solver,
                             s.info, s.on_plan, on_reject=stop.cancel)
    merged = _MergedProgress(n, prep.lower_bound, s.on_progress, s.t0, incumbents)
    results: list[Optional[ComponentResult]] = [None] * n
    firsts: list[Optional[ComponentResult]] = [None] * n
    try:
        for k, res in runner.run(_timed_job, all_jobs, lambda k, fields: merged.update(k % n, fields), stop):
            s.timeline.job(k, getattr(runner, "submitted_at", None), res.timing)
            slot = firsts if first_wave and k < n else results
            if slot[k % n] is not None:
                continue  # exactly one result per job, whatever the executor re-ran
            slot[k % n] = res
            merged.finished(k % n, res)
    except SubSolveFailed as exc:
        stop.cancel()
        raise SubSolveError(prep.components[exc.index % n].datacenters, exc.reason) from exc
    finally:
        merged.close()
        if s.cancel is not None:
            s.cancel.remove(on_cancel)
        incumbents.stop()
    s.timeline.mark("sub-solves done")
    cancel_s = (asked[0] if asked else time.monotonic()) - s.t0 if s.cancelled() else None
    return _Outcome(results, firsts, cancel_s, incumbents)


def _keep_or_merge(s: _Solve, prep: _Prepared, out: _Outcome) -> SolveReport:
    """The merged plan, validated; or, after a cancel, the incumbent already handed out when the results
    are no better. The returned plan is the last one handed out."""
    final = [_better(r, f) for r, f in zip(out.results, out.firsts)]
    states = [_sub_solve_state(r, f) for r, f in zip(out.results, out.firsts)]
    kept = out.incumbents.published_plan
    if out.cancel_s is not None and kept is not None and not _better_than(final, kept):
        # Stopped, and the results are no better than the incumbent already validated and handed out: keep
        # that one rather than merge and validate again (seconds at 100k VMs, on the cancel's critical path).
        plan, settled, notes = kept.model_copy(update={"solver": s.info()}), None, list(kept.notes or [])
    else:
        plan, notes, settled = _merge(final, prep.components, prep.fleet_bounds, s.solver, s.info)
        s.timeline.mark("merged")
        _validate(s.snapshot, s.limits, plan, s.solver)
        s.timeline.mark("validated")
    if out.cancel_s is not None:  # (notes only: the schedule validated above is unchanged)
        plan = _cancel_story(plan, prep.components, states, out.cancel_s)
        notes = notes + [x for x in (plan.notes or []) if x not in notes]
    if settled is not None:
        enforce(settled, f"solver {s.solver}")
    out.incumbents.final(plan)
    first_s = [r.first_plan_s for r in final if r is not None and r.first_plan_s is not None]
    return SolveReport(plan=plan, first_plan_s=max(first_s) if first_s else None, components=len(prep.problems),
                       notes=notes, sub_solves=states, timeline=s.timeline)


NOT_STARTED, STOPPED, FINISHED = "not started", "stopped", "finished"


def _better_than(final: list[Optional[ComponentResult]], plan: MaintenancePlan) -> bool:
    """Would the merge of `final` be a plan with a smaller makespan than `plan`?"""
    if any(r is None or r.status not in ("optimal", "feasible") for r in final):
        return False
    return max((r.makespan or 0 for r in final), default=0) < (plan.makespan or 0)


def _sub_solve_state(search: Optional[ComponentResult], first: Optional[ComponentResult]) -> str:
    """What became of a component's sub-solve(s): stopped early by a cancel, never started, or finished."""
    done = [r for r in (search, first) if r is not None]
    if not done:
        return NOT_STARTED
    if search is None and first is not None and not first.cancelled:
        return NOT_STARTED  # (its first wave had finished; the search never ran)
    return STOPPED if any(r.cancelled for r in done) else FINISHED


def _better(search: Optional[ComponentResult], first: Optional[ComponentResult]) -> Optional[ComponentResult]:
    """A component's result: its search's, unless the first wave's plan is shorter (or the search never
    ran / found nothing). Incumbents were offered from both, so the final plan is never worse than one
    handed out; the search's proven bound stays a bound whichever plan is kept."""
    if first is None or (search is not None and search.status == "infeasible"):
        return search
    if search is None or search.status == "unknown" or first.status == "infeasible":
        return first
    if first.makespan is not None and search.makespan is not None and first.makespan < search.makespan:
        return replace(first, bound=search.bound, notes=search.notes + first.notes, cancelled=search.cancelled)
    return search


def _cancel_story(plan: MaintenancePlan, components: list[Component], states: list[str],
                  after_s: float) -> MaintenancePlan:
    """The plan says what the cancel did, in the words every surface shows (runs, console, API)."""
    waiting = [dc for c, st in zip(components, states) if st == NOT_STARTED for dc in c.datacenters]
    if plan.status not in ("optimal", "feasible"):
        return plan.model_copy(update={"explanation": (
            f"cancelled on request after {after_s:.1f} s, before every datacenter had a plan: no plan was kept"
            + (f" ({plan.explanation})" if plan.explanation else ""))})
    notes = [f"cancelled on request after {after_s:.1f} s: every sub-solve still searching stopped, and the best "
             f"valid plan found before the stop was kept"]
    if waiting:
        notes.append(f"datacenter(s) {', '.join(waiting)}: cancelled before the exact search started; their "
                     f"first (heuristic) plan is kept")
    return plan.model_copy(update={"notes": (plan.notes or []) + notes})


def _validate(snapshot: Snapshot, limits: Limits, plan: MaintenancePlan, solver: str) -> None:
    """The independent validator sees every plan; a violation is a solver bug, raised loudly."""
    from engine.validate import validate_maintenance

    violations = validate_maintenance(snapshot, limits, plan)
    if violations:
        raise PlanRejected(solver, violations)


def _plan_solvers() -> dict[str, Callable[..., MaintenancePlan]]:
    """Whole-plan solvers of other modules (the MIP formulations)."""
    from engine.maintenance.mip_solve import SOLVERS as plan_solvers

    return dict(plan_solvers)


def available_solvers() -> list[str]:
    return list(SOLVERS) + [name for name in _plan_solvers() if name not in SOLVERS]


def _timed_job(job: ComponentJob, progress, cancel) -> ComponentResult:
    """Jobs that queue (more jobs than processes) get their time share from when they start. The result
    carries the job's stamps on its worker (engine.executors.timeline)."""
    started = job_clocks()
    if job.deadline == float("inf"):
        job.deadline = started[0] + job.time_limit_s
    res = _solve_job(job, progress, cancel)
    res.timing = worker_stamps(getattr(job, "received_at", None), started, _ENGINE_IMPORTED_AT)
    return res


def _search_bound(component: Component, value: int, optimal: bool) -> Bound:
    """An exact component's own proof, as a bound claim (family "exact search")."""
    where = "datacenter(s) " + ", ".join(component.datacenters)
    why = "solved to proven optimality on its exact model (or nothing to do)" if optimal else \
        "the exact model's search proved no plan of this part ends earlier"
    return Bound("exact search", value, where, why)


def _merge(results: list[Optional[ComponentResult]], components: list[Component], fleet_bounds: list[Bound],
           solver: str, info) -> tuple[MaintenancePlan, list[str], Optional[Settled]]:
    """One fleet plan from the components' results. The lower bound is the best claim the plan does not
    refute (fleet bound families, the exact components' search bounds); `Settled` says which claim proves
    optimality and which were refuted (see bound_check), for `enforce` once the plan is validated."""
    notes = [n for r in results if r is not None for n in r.notes]
    lb = max((b.value for b in fleet_bounds), default=0)
    infeasible = [r for r in results if r is not None and r.status == "infeasible"]
    if infeasible:
        return MaintenancePlan(status="infeasible", lower_bound=lb, solver=info(),
                               explanation="; ".join(r.explanation or "infeasible" for r in infeasible)), notes, None
    if any(r is None or r.status == "unknown" for r in results):
        return MaintenancePlan(status="unknown", lower_bound=lb, solver=info(),
                               explanation="no plan found in time" + (f" ({'; '.join(notes)})" if notes else "")), \
            notes, None
    makespan = max((r.makespan or 0 for r in results), default=0)
    # A component's proven bound bounds the fleet too (its makespan is part of the fleet's). The fleet's
    # makespan is the max over components: it is also proven optimal when the component(s) attaining it
    # were each proven optimal on their exact model.
    claims = list(fleet_bounds) + [_search_bound(c, r.bound, False) for r, c in zip(results, components)
                                   if r.bound is not None]
    top = [(r, c) for r, c in zip(results, components) if (r.makespan or 0) == makespan]
    if top and all(r.proven for r, _ in top):
        claims.append(_search_bound(top[0][1], makespan, True))
    settled = settle(claims, makespan)
    migrations = [m for r in results for m in r.migrations]
    reboots = [b for r in results for b in r.reboots]
    migrations.sort(key=lambda m: (m.start, m.end, m.vm))
    reboots.sort(key=lambda b: (b.start, b.host))
    plan_notes = settled.notes()
    return MaintenancePlan(status="optimal" if settled.proven else "feasible", makespan=makespan,
                           lower_bound=settled.value, migrations=migrations, reboots=reboots, solver=info(),
                           notes=plan_notes or None), notes + plan_notes, settled


class _MergedProgress:
    """Fleet-wide progress from per-component reports: objective and bound are maxima.
    A report's "schedule" (a component's incumbent) goes to the incumbent publisher."""

    def __init__(self, n: int, lb: Optional[int], on_progress: Optional[ProgressCallback], t0: float,
                 incumbents: Optional["_Incumbents"] = None):
        self.incumbents = incumbents
        self.objective: list[Optional[int]] = [None] * n
        self.bound: list[Optional[int]] = [None] * n
        self.lb = lb
        self.on_progress = on_progress
        self.t0 = t0
        self.lock = threading.Lock()
        self.last = 0.0
        self.timer: Optional[threading.Timer] = None
        self.closed = False

    def _owed(self) -> None:
        with self.lock:
            self.timer = None
            self._emit(force=True)

    def close(self) -> None:
        """No event after the solve returned."""
        with self.lock:
            self.closed = True
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None

    def update(self, index: int, fields: dict) -> None:
        if fields.get("schedule") is not None and self.incumbents is not None:
            self.incumbents.offer(index, fields["schedule"])
        with self.lock:
            if fields.get("objective") is not None:  # a component's best so far (its first wave may be better)
                self.objective[index] = _least(self.objective[index], int(fields["objective"]))
            if fields.get("bound") is not None:
                self.bound[index] = int(fields["bound"])
            self._emit(force=False)

    def finished(self, index: int, res: ComponentResult) -> None:
        with self.lock:
            if res.makespan is not None:
                self.objective[index] = _least(self.objective[index], res.makespan)
            if res.bound is not None:
                self.bound[index] = res.bound
            self._emit(force=True)

    def _emit(self, force: bool) -> None:
        if self.on_progress is None or self.closed:
            return
        now = time.monotonic()
        if not force and now - self.last < EMIT_EVERY_S:
            # Throttled, not dropped: the latest values go out when the window ends, even if no other
            # report follows (a sub-solve's last improvement must not wait for the end of the solve).
            if self.timer is None:
                self.timer = threading.Timer(self.last + EMIT_EVERY_S - now, self._owed)
                self.timer.daemon = True
                self.timer.start()
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.last = now
        objective = max(self.objective) if all(o is not None for o in self.objective) else None
        bounds = [b for b in self.bound + [self.lb] if b is not None]
        bound = max(bounds) if bounds else None  # never capped by the objective: a bound above it is a bug
        self.on_progress(ProgressEvent(elapsed_s=now - self.t0, objective=objective, bound=bound))


def _least(a: Optional[int], b: int) -> int:
    return b if a is None else min(a, b)


def _hand_out_final(plan: MaintenancePlan, on_plan: Optional[PlanCallback]) -> None:
    if on_plan is not None and plan.status in ("optimal", "feasible"):
        on_plan(plan)


class _Incumbents:
    """Fleet-wide incumbent plans from the components' improving schedules.

    A plan exists once every component has a schedule: it is their merge (components
    are independent under their shares, exactly like the final merge). A publisher
    thread merges, validates and hands plans out at most every PLAN_EVERY_S seconds, so
    the solver's callback only stores a schedule. A merged incumbent the validator
    rejects is a solver bug: PlanRejected, re-raised by `stop()` in the solving thread.
    """

    def __init__(self, snapshot: Snapshot, limits: Limits, problems: list[Problem], components: list[Component],
                 fleet_bounds: list[Bound], solver: str, info, on_plan: Optional[PlanCallback],
                 every_s: float = PLAN_EVERY_S, on_reject: Optional[Callable[[], None]] = None):
        self.on_reject = on_reject
        self.snapshot, self.limits, self.problems, self.components = snapshot, limits, problems, components
        self.fleet_bounds, self.solver, self.info, self.on_plan, self.every_s = fleet_bounds, solver, info, on_plan, every_s
        self.best: list[Optional[Schedule]] = [None] * len(problems)
        self.best_makespan: list[Optional[int]] = [None] * len(problems)
        self.published: Optional[int] = None  # makespan of the last plan handed out
        self.published_plan: Optional[MaintenancePlan] = None  # (validated)
        self.handing_out = threading.Lock()
        self.error: Optional[BaseException] = None
        self.dirty = False
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.halt = threading.Event()
        self.thread: Optional[threading.Thread] = None
        if on_plan is not None:
            self.thread = threading.Thread(target=self._loop, name="incumbents", daemon=True)
            self.thread.start()

    def offer(self, index: int, schedule: Schedule) -> None:
        """A component's new schedule (kept when its makespan is no worse than its best so far)."""
        if self.on_plan is None:
            return
        makespan = schedule.makespan(self.problems[index])
        with self.lock:
            best = self.best_makespan[index]
            if best is not None and makespan > best:
                return
            self.best[index], self.best_makespan[index], self.dirty = schedule, makespan, True
        self.wake.set()

    def _loop(self) -> None:
        last = float("-inf")
        while not self.halt.is_set():
            self.wake.wait(0.5)
            if self.halt.is_set():
                return
            if not self.wake.is_set():
                continue
            pause = last + self.every_s - time.monotonic()
            if pause > 0 and self.halt.wait(pause):
                return
            self.wake.clear()
            try:
                self._publish()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the solving thread by stop()
                self.error = exc
                if self.on_reject is not None:
                    self.on_reject()  # stop the search now; stop() raises in the solving thread
                return
            last = time.monotonic()

    def _publish(self) -> None:
        with self.lock:
            if not self.dirty or any(s is None for s in self.best):
                return
            schedules, self.dirty = list(self.best), False
        results = [_result_from(p, s, "feasible") for p, s in zip(self.problems, schedules)]
        plan, _, settled = _merge(results, self.components, self.fleet_bounds, self.solver, self.info)
        if self.published is not None and (plan.makespan or 0) > self.published:
            return  # (cannot happen: every component's makespan only decreases)
        _validate(self.snapshot, self.limits, plan, self.solver)
        if settled is not None:
            enforce(settled, f"solver {self.solver} (incumbent)")
        with self.handing_out:
            if self.halt.is_set():
                return  # the solve has returned: nothing is handed out after its final plan
            self.published, self.published_plan = plan.makespan, plan
            self.on_plan(plan)

    def stop(self) -> None:
        """End the publisher; raise what it raised (a rejected incumbent). A validation under way is not
        waited for (seconds at 100k VMs, on a cancel's critical path): its plan is simply never handed out."""
        if self.thread is not None:
            self.halt.set()
            with self.handing_out:  # (a hand-out under way completes first)
                pass
            self.thread.join(timeout=0.05)
        if self.error is not None:
            raise self.error

    def final(self, plan: MaintenancePlan) -> None:
        """The returned plan is always the last one handed out (already validated)."""
        if self.on_plan is None or plan.status not in ("optimal", "feasible"):
            return
        if self.published is not None and (plan.makespan or 0) > self.published:
            raise PlanRejected(self.solver, [Violation("incumbents", f"the final makespan {plan.makespan} is larger "
                                                       f"than incumbent {self.published} handed out before")])
        _hand_out_final(plan, self.on_plan)
