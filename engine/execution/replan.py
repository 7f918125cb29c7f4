"""Replan the rest of a partly executed maintenance plan from what really happened.

Done actions are facts; in-progress ones are pinned at their real start and target, holding
their capacity on both hosts until their projected end; failed migrations and reboots are
redone; hosts already rebooted are targets (rolling). The rest is re-solved with
engine.maintenance's CP-SAT model, on the problem *clipped at now*: every fact becomes a
fixed interval [max(start, now), max(end, now)) on its real target (a done one has length 0:
its VM has arrived, its host has rebooted), everything else starts at or after `now`. The
past is not constrained again, so a plan that ran late still has a continuation.

Objective, lexicographic: the makespan, then the number of not-yet-started actions that
changed — another target, or out of the old order (`count_changed`; the model keeps an
action "in place" when it starts no earlier than the action before it in the old order).
Warm start: the remaining plan in its old order moved as early as the facts allow
(engine.execution.compress).

The result is a whole plan from minute 0 with an `execution` section, and it must pass
engine.validate_continuation (facts unmoved) or it is never returned.
"""

from __future__ import annotations

import bisect
import math
import dataclasses
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

from engine.cp_solver import new_cp_solver
from engine.execution.compress import compress
from engine.execution.fleet import with_changes
from engine.execution.state import Execution, Facts, migrate_id, reboot_id
from engine.maintenance.cpsat import MaintenanceModel, _parameters
from engine.maintenance.problem import Problem, build_problem, candidate_targets
from engine.maintenance.schedule import Schedule
from engine.model import ExecutionState, Limits, MaintenancePlan, Migration, Reboot, Snapshot, SolverInfo
from engine.violations import PlanRejected


REORDER_GAIN = Fraction(95, 100)  # leave the old order only for a makespan more than 5% shorter (exact: no float edge)
# Above this many actions left, CP-SAT is not tried: building its model alone takes longer than the
# replan's 10 s on 2 cores (8,000-VM rolling fleet: model 6-8 s, candidates 4-5 s); the warm start is the plan.
CPSAT_MAX_FREE_TASKS = 1500
FRESH_SHARE = 0.4  # the fresh heuristic plan of the rest is tried with this share of the time limit
# Kept for building and validating the continuation (8,000 VMs: 0.5 s CPU): the warm-start options
# after the first start only while less than the rest of the time limit is spent, so a loaded machine
# gets a plan in time (the old order kept) rather than the best plan late.
RESERVE_SHARE = 0.25
CPSAT_RESERVE_SHARE = 0.1  # CP-SAT stops this share of the time limit early: the continuation is still to build and validate


class ReplanFailed(RuntimeError):
    """No continuation was found (infeasible from the facts, or not in the time given)."""


@dataclass
class ReplanResult:
    plan: MaintenancePlan
    facts: Facts
    changed: int          # pending actions whose target or place changed
    pending: int          # pending actions (not started, not failed) of the old plan
    wall_s: float
    first_solution_s: Optional[float]
    warm_start_makespan: Optional[int] = None  # the compressed old plan CP-SAT started from
    kept_order_makespan: Optional[int] = None  # the old order kept / gaps filled (the 5% policy's two options)
    filled_makespan: Optional[int] = None
    fresh_makespan: Optional[int] = None       # the rest planned afresh by the heuristic (a third option)


def fact_snapshot(snapshot: Snapshot, facts: Facts) -> Snapshot:
    """Each fact lasts what it really lasts (in progress: projected); a skipped migration's VM stays."""
    vms: dict[str, dict] = {f.subject: {"migration_minutes": max(1, f.end - f.start)}
                            for f in facts.all().values() if f.kind == "migrate"}
    hosts = {f.subject: {"reboot_minutes": f.end - f.start} for f in facts.all().values() if f.kind == "reboot"}
    for a in facts.skipped:
        if a.startswith("migrate:"):
            vms.setdefault(a.split(":", 1)[1], {})["migratable"] = False
    return with_changes(snapshot, vms, hosts)


def _clip(problem: Problem, facts: Facts) -> tuple[Problem, dict[int, int], dict[int, int]]:
    """The problem from `now` on; returns it with the fixed start of each fact task / reboot host."""
    now = facts.now
    task_of = {t.vm: t.index for t in problem.tasks}
    host_of = {h.id: h.index for h in problem.hosts}
    tasks = list(problem.tasks)
    hosts = list(problem.hosts)
    fixed_task: dict[int, int] = {}
    fixed_reboot: dict[int, int] = {}
    for f in facts.all().values():
        start, end = max(f.start, now), max(f.end, now)
        if f.kind == "migrate":
            j = task_of[f.subject]
            tasks[j] = dataclasses.replace(tasks[j], duration=end - start)
            fixed_task[j] = start
        else:
            h = host_of[f.subject]
            hosts[h] = dataclasses.replace(hosts[h], reboot_minutes=end - start)
            fixed_reboot[h] = start
    return dataclasses.replace(problem, tasks=tuple(tasks), hosts=tuple(hosts)), fixed_task, fixed_reboot


def replan(snapshot: Snapshot, limits: Limits, plan: MaintenancePlan, execution: Execution, now: int, *,
           time_limit_s: float = 10.0, workers: Optional[int] = None, seed: int = 0,
           warm: bool = True) -> ReplanResult:
    """A validated continuation of `plan` at minute `now` (see the module docstring).
    `warm=False` is the bare model the benchmark compares with (no hint, no change objective)."""
    from engine.validate_continuation import validate_continuation

    t0 = time.monotonic()
    facts = execution.facts(now)
    problem, fixed_task, fixed_reboot = _clip(build_problem(fact_snapshot(snapshot, facts), limits), facts)
    pending_ids = {a for a, st in execution.actions.items() if st.state == "pending"}
    w = _WarmStart(problem, facts, plan, fixed_task, fixed_reboot)
    hint = None
    notes: list[str] = []
    if warm:
        hint = w.schedule(lambda budget: _fresh_schedule(problem, snapshot, limits, execution, w, budget=budget),
                          deadline=t0 + (1 - RESERVE_SHARE) * time_limit_s, fresh_budget=FRESH_SHARE * time_limit_s)
        notes += [f"warm start: {name} not tried (time limit)" for name in w.skipped]
    proven, bound, first_at = False, None, None
    if warm and len(w.free) > CPSAT_MAX_FREE_TASKS:
        schedule = hint
        notes.append(f"{len(w.free)} actions left: CP-SAT skipped (above {CPSAT_MAX_FREE_TASKS}); {w.chosen}")
    else:
        # The policy: leave the old order only for a makespan more than 5% shorter. Unless a warm start
        # already is, CP-SAT looks only for such a plan; finding none, the old order kept is the answer
        # (and the search for fewer changes at a barely shorter makespan is not run at all).
        below = None
        if warm and hint is not None and w.kept_makespan is not None \
                and hint.makespan(problem) >= REORDER_GAIN * w.kept_makespan:
            below = math.ceil(REORDER_GAIN * w.kept_makespan) - 1
        deadline = t0 + (1 - CPSAT_RESERVE_SHARE) * time_limit_s
        schedule, proven, bound, first_at, none_below = _cpsat(problem, w, hint, pending_ids, fixed_task,
                                                               fixed_reboot, now, deadline, workers or 2, seed, below)
        if schedule is None:
            if hint is None:
                raise ReplanFailed(f"no continuation found in {time_limit_s:g} s (try a longer --time-limit)")
            schedule = hint
            if below is None:
                notes.append(f"CP-SAT found no plan in {time_limit_s:g} s: {w.chosen}")
            else:
                notes.append(f"CP-SAT {'proved there is' if none_below else 'found'} no plan more than 5% shorter "
                             f"than keeping the old order (makespan {below} or less"
                             + ("" if none_below else f" in {time_limit_s:g} s, on its candidate targets")
                             + f"): {w.chosen}")
    out = _continuation(problem, schedule, facts, plan, execution, pending_ids, proven, bound,
                        time.monotonic() - t0)
    if notes:
        out.plan.notes = notes
    violations = validate_continuation(snapshot, limits, out.plan, facts)
    if violations:
        raise PlanRejected("replan", violations)
    out.wall_s = time.monotonic() - t0
    out.first_solution_s = first_at
    out.warm_start_makespan = hint.makespan(problem) if hint is not None else None
    out.kept_order_makespan, out.filled_makespan, out.fresh_makespan = getattr(w, "makespans", (None, None, None))
    return out


class _WarmStart:
    """The remaining actions in the old plan's order, on its targets (engine.execution.compress)."""

    def __init__(self, problem: Problem, facts: Facts, plan: MaintenancePlan, fixed_task: dict[int, int],
                 fixed_reboot: dict[int, int]):
        self.problem, self.facts = problem, facts
        self.fixed_task, self.fixed_reboot = fixed_task, fixed_reboot
        self.host_of = {h.id: h.index for h in problem.hosts}
        self.old_moves = {m.vm: m for m in plan.migrations}
        old_reboots = {r.host: r for r in plan.reboots}
        self.free = [j for j in range(len(problem.tasks)) if j not in fixed_task]
        self.free_hosts = [h for h in problem.reboot_hosts if h not in fixed_reboot]
        self.ready = max([facts.now] + [f.end for f in facts.in_progress.values()])
        fact_by_id = facts.all()
        self.targets: list[Optional[int]] = []
        for t in problem.tasks:
            if t.index in fixed_task:
                self.targets.append(self.host_of[fact_by_id[migrate_id(t.vm)].target])
            else:
                old = self.old_moves.get(t.vm)
                self.targets.append(self.host_of.get(old.target) if old is not None else None)
        # the old order as count_changed reads it: by start, then action id
        starts = [(self.old_moves[problem.tasks[j].vm].start if problem.tasks[j].vm in self.old_moves else self.ready,
                   migrate_id(problem.tasks[j].vm), "task", j) for j in self.free]
        starts += [(old_reboots[problem.hosts[h].id].start if problem.hosts[h].id in old_reboots else self.ready,
                    reboot_id(problem.hosts[h].id), "reboot", h) for h in self.free_hosts]
        self.order = [(kind, i) for _, _, kind, i in sorted(starts)]
        self.old_start = {(kind, i): s for s, _, kind, i in starts}
        self.skipped: list[str] = []
        self.kept_makespan: Optional[int] = None  # the old order kept, moved as early as the facts allow
        self.chosen = "no warm start"             # which option schedule() returned, in words

    def schedule(self, fresh_plan: Callable[[float], Optional[Schedule]], deadline: float,
                 fresh_budget: float) -> Optional[Schedule]:
        """Keep the old order unless another option — a fresh plan of the rest (`fresh_plan(budget)`),
        or gaps filled — shortens the plan by more than 5% (the issue's policy); those two are tried, in
        that order, only before `deadline` (`self.skipped` names those that were not). Should the order
        contradict a precedence, the remaining plan shifted as one block past every fact (a subset of a
        valid plan, shifted past the facts, stays valid)."""
        p, now = self.problem, self.facts.now

        def in_time(name: str) -> bool:
            if time.monotonic() < deadline:
                return True
            self.skipped.append(name)
            return False

        if any(self.targets[j] is None for j in self.free):  # no old order to keep
            self.chosen = "the rest planned afresh"
            return fresh_plan(max(0.0, min(fresh_budget, deadline - time.monotonic())))
        kept = compress(p, self.targets, self.order, self.fixed_task, self.fixed_reboot, now, keep_order=True)
        fresh = (fresh_plan(max(0.0, min(fresh_budget, deadline - time.monotonic())))
                 if in_time("the rest planned afresh") else None)
        filled = (compress(p, self.targets, self.order, self.fixed_task, self.fixed_reboot, now, keep_order=False)
                  if in_time("the old order with gaps filled") else None)
        self.makespans = tuple(x.makespan(p) if x else None for x in (kept, filled, fresh))
        self.kept_makespan = self.makespans[0]
        others = [(x, name) for x, name in ((filled, "the old order with gaps filled"),
                                            (fresh, "the rest planned afresh")) if x is not None]
        best, name = min(others, key=lambda o: o[0].makespan(p), default=(None, ""))
        if best is not None and (kept is None or best.makespan(p) < REORDER_GAIN * kept.makespan(p)):
            self.chosen = f"{name}, more than 5% shorter than the old order kept"
            return best
        if kept is not None:
            self.chosen = "the remaining plan in its old order, moved as early as the facts allow"
            return kept
        self.chosen = "the remaining plan shifted as one block past the facts"
        shift = max(0, self.ready - min(self.old_start.values(), default=self.ready))
        return Schedule(starts=[self.fixed_task.get(j, self.old_start.get(("task", j), self.ready) + shift)
                                for j in range(len(p.tasks))],
                        targets=list(self.targets),
                        reboot_starts={h: self.fixed_reboot.get(h, self.old_start.get(("reboot", h), self.ready) + shift)
                                       for h in p.reboot_hosts})


def _fresh_schedule(problem: Problem, snapshot: Snapshot, limits: Limits, execution: Execution, w: _WarmStart,
                    budget: float) -> Optional[Schedule]:
    """The rest planned afresh (engine.maintenance's constructive heuristic, no regard for the old plan;
    the whole continuation is validated later) on the fleet as
    it will be once the in-progress actions end, started when the last of them ends. None if the
    heuristic finds nothing or its plan does not cover exactly the remaining actions."""
    from types import SimpleNamespace

    from engine.execution.fleet import fleet_after
    from engine.maintenance.heuristic import schedule_heuristic
    from engine.maintenance.schedule import migration_records, reboot_records

    later = fleet_after(snapshot, execution, count_in_progress=True)
    later = with_changes(later, {a.split(":", 1)[1]: {"migratable": False}
                                 for a in w.facts.skipped if a.startswith("migrate:")}, {})
    rest_problem = build_problem(later, limits)
    found = schedule_heuristic(rest_problem, deadline=time.monotonic() + budget)
    if found is None:
        return None
    rest = SimpleNamespace(migrations=migration_records(rest_problem, found), reboots=reboot_records(rest_problem, found))
    task_of = {problem.tasks[j].vm: j for j in w.free}
    host_of = w.host_of
    starts = [w.fixed_task.get(j, -1) for j in range(len(problem.tasks))]
    targets = list(w.targets)
    for m in rest.migrations:
        j = task_of.get(m.vm)
        if j is None:
            return None
        starts[j], targets[j] = w.ready + m.start, host_of[m.target]
    reboots = dict(w.fixed_reboot)
    for r in rest.reboots:
        h = host_of[r.host]
        if h not in w.free_hosts:
            return None
        reboots[h] = w.ready + r.start
    if min(starts, default=0) < 0 or len(reboots) != len(problem.reboot_hosts):
        return None
    return Schedule(starts=starts, targets=targets, reboot_starts=reboots)


def _cpsat(problem: Problem, w: _WarmStart, hint: Optional[Schedule], pending_ids: set[str], fixed_task: dict[int, int],
           fixed_reboot: dict[int, int], now: int, deadline: float, workers: int, seed: int,
           below: Optional[int] = None):
    """engine.maintenance's CP-SAT model with the facts fixed and everything else at or after now:
    minimise the makespan, then (with it fixed) keep as many pending actions in place as possible.
    `below`: only a makespan of at most this is wanted. Returns (schedule or None, proven, bound,
    first solution seconds, whether none at most `below` exists)."""
    from ortools.sat.python import cp_model

    from engine.maintenance.solve import candidate_cap

    t0 = time.monotonic()
    candidates, pruned = candidate_targets(problem, candidate_cap(len(w.free)), keep=w.targets)
    for j in fixed_task:
        candidates[j] = [w.targets[j]]
    missing = [problem.tasks[j].vm for j in w.free if not candidates[j]]
    if missing:
        raise ReplanFailed(f"{len(missing)} VM(s) fit no target host any more: {', '.join(missing[:5])}")
    if hint is not None:
        # The hint's targets are candidates too: a fresh plan of the rest picks its own, and a hint
        # with a target the model lacks is dropped whole (CP-SAT then starts cold and, above a few
        # hundred actions, found nothing in 10 s). Only a target that cannot be one drops it.
        for j in w.free:
            t = hint.targets[j]
            if t not in candidates[j]:
                src = problem.hosts[problem.tasks[j].source]
                if t == src.index or t not in problem.targets_by_datacenter[src.datacenter]:
                    hint = None
                    break
                candidates[j].append(t)
    serial = sum(problem.tasks[j].duration for j in w.free) + sum(problem.hosts[h].reboot_minutes for h in w.free_hosts)
    horizon = max(w.ready + serial, hint.makespan(problem) if hint is not None else 0)
    mm = MaintenanceModel(problem, candidates, horizon)
    v, model = mm.vars, mm.model
    for j in range(len(problem.tasks)):
        model.Add(v.start[j] == fixed_task[j]) if j in fixed_task else model.Add(v.start[j] >= now)
    for h in problem.reboot_hosts:
        model.Add(v.reboot_start[h] == fixed_reboot[h]) if h in fixed_reboot else model.Add(v.reboot_start[h] >= now)
    first_at: list[float] = []

    class FirstSolution(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            if not first_at:
                first_at.append(time.monotonic() - t0)

    def solve(budget: float):
        solver = new_cp_solver()
        _parameters(solver, budget, workers, seed)
        return solver, solver.Solve(model, FirstSolution())

    mm.minimise_makespan()
    if below is not None:
        model.Add(v.makespan <= below)
    if hint is not None:
        mm.add_hint(hint)  # (above `below`, a hint still guides the search: CP-SAT repairs it)
    remaining = deadline - time.monotonic()
    solver, status = solve(remaining * (0.6 if hint is not None else 1.0))
    if status == cp_model.INFEASIBLE:
        if below is not None:  # a proof only if every target was a candidate
            return None, False, None, None, not pruned
        raise ReplanFailed("the facts leave no valid continuation")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False, None, None, False
    schedule = mm.read(solver)
    makespan = int(solver.ObjectiveValue())
    proven = status == cp_model.OPTIMAL and not pruned
    bound = int(solver.BestObjectiveBound() + 1e-6) if not pruned else None

    remaining = deadline - time.monotonic()
    if hint is not None and remaining > 0.3:
        model.Add(v.makespan <= makespan)
        # An action keeps its place when it keeps its target and does not start before the action
        # before it in the old order (pending actions only): each reordering breaks at most two links.
        keep, prev = [], None
        for kind, i in w.order:
            aid = migrate_id(problem.tasks[i].vm) if kind == "task" else reboot_id(problem.hosts[i].id)
            if aid not in pending_ids:
                continue
            start = v.start[i] if kind == "task" else v.reboot_start[i]
            same = model.NewBoolVar(f"same[{aid}]")
            if prev is not None:
                model.Add(start >= prev).OnlyEnforceIf(same)
            if kind == "task":
                old = w.old_moves.get(problem.tasks[i].vm)
                lit = v.present[i].get(w.host_of.get(old.target, -1)) if old is not None else None
                if lit is None:
                    model.Add(same == 0)
                elif len(v.present[i]) > 1:
                    model.AddImplication(same, lit)
            keep.append(same)
            prev = start
        if keep:
            model.Maximize(sum(keep))
            mm.add_hint(schedule)
            solver2, status2 = solve(remaining)
            if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                schedule = mm.read(solver2)
    return schedule, proven, bound, (first_at[0] if first_at else None), False


def _continuation(problem: Problem, schedule: Schedule, facts: Facts, plan: MaintenancePlan, execution: Execution,
                  pending_ids: set[str], proven: bool, bound: Optional[int], wall_s: float) -> ReplanResult:
    hosts = problem.hosts
    fact_by_id = facts.all()
    migrations, reboots = [], []
    for t in problem.tasks:
        f = fact_by_id.get(migrate_id(t.vm))
        if f is not None:
            migrations.append(Migration.model_construct(vm=t.vm, source=f.source, target=f.target, start=f.start,
                                                        end=f.end))
        else:
            s = schedule.starts[t.index]
            migrations.append(Migration.model_construct(vm=t.vm, source=hosts[t.source].id,
                                                        target=hosts[schedule.targets[t.index]].id, start=s,
                                                        end=s + t.duration))
    for h in problem.reboot_hosts:
        f = fact_by_id.get(reboot_id(hosts[h].id))
        if f is not None:
            reboots.append(Reboot(host=f.subject, start=f.start, end=f.end))
        else:
            s = schedule.reboot_starts[h]
            reboots.append(Reboot(host=hosts[h].id, start=s, end=s + hosts[h].reboot_minutes))
    migrations.sort(key=lambda m: (m.start, m.vm))
    reboots.sort(key=lambda r: (r.start, r.host))
    changed = count_changed(plan, migrations, reboots, pending_ids)
    makespan = max([m.end for m in migrations] + [r.end for r in reboots], default=0)
    new = MaintenancePlan(
        status="optimal" if proven else "feasible", makespan=makespan,
        lower_bound=min(bound, makespan) if bound is not None else None,
        migrations=migrations, reboots=reboots,
        solver=SolverInfo(name="cp-sat-replan", wall_s=round(wall_s, 3)), inputs=plan.inputs,
        execution=ExecutionState(now=facts.now, done=sorted(facts.done), in_progress=sorted(facts.in_progress),
                                 failed=sorted(facts.failed), changed=changed),
    )
    return ReplanResult(plan=new, facts=facts, changed=changed, pending=len(pending_ids), wall_s=wall_s,
                        first_solution_s=None)


def count_changed(old: MaintenancePlan, migrations: list[Migration], reboots: list[Reboot],
                  pending_ids: set[str]) -> int:
    """Pending actions with another target, plus those out of their old order: the fewest actions
    whose removal leaves the rest in the old order (n minus a longest subsequence kept in order)."""
    old_rank = {}
    for rank, (_, aid) in enumerate(sorted([(m.start, migrate_id(m.vm)) for m in old.migrations]
                                           + [(r.start, reboot_id(r.host)) for r in old.reboots])):
        old_rank[aid] = rank
    old_target = {migrate_id(m.vm): m.target for m in old.migrations}
    kept, moved_target = [], 0
    for m in migrations:
        aid = migrate_id(m.vm)
        if aid in pending_ids and aid in old_rank:
            if old_target[aid] != m.target:
                moved_target += 1
            else:
                kept.append((old_rank[aid], (m.start, old_rank[aid])))
    for r in reboots:
        aid = reboot_id(r.host)
        if aid in pending_ids and aid in old_rank:
            kept.append((old_rank[aid], (r.start, old_rank[aid])))
    kept.sort()
    tails: list = []  # patience sorting: tails[k] = least last key of an ordered subsequence of length k+1
    for _, key in kept:
        k = bisect.bisect_left(tails, key)
        if k == len(tails):
            tails.append(key)
        else:
            tails[k] = key
    return moved_target + len(kept) - len(tails)
