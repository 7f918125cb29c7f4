"""Replan the rest of a partly executed maintenance plan from what really happened.

Done actions are facts; in-progress ones are pinned at their real start and target, holding
their capacity on both hosts until their projected end; failed migrations and reboots are
redone; hosts already rebooted are targets (rolling). The rest is re-solved with
engine.maintenance's CP-SAT model, on the problem *clipped at now*: every fact becomes a
fixed interval [max(start, now), max(end, now)) on its real target (a done one has length 0:
its VM has arrived, its host has rebooted), everything else starts at or after `now`. The
past is not constrained again, so a plan that ran late still has a continuation.

Objective, lexicographic: the makespan, then the number of not-yet-started actions that
changed — another target, or a start that is not the remaining plan's common shift (its
place in the sequence moved). Warm start: the remaining plan shifted past `now` and past
the late in-progress actions.

The result is a whole plan from minute 0 with an `execution` section, and it must pass
engine.validate_continuation (facts unmoved) or it is never returned.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass
from typing import Optional

from engine.execution.state import Execution, Facts, migrate_id, reboot_id
from engine.maintenance.cpsat import MaintenanceModel, _parameters
from engine.maintenance.problem import Problem, build_problem, candidate_targets
from engine.maintenance.schedule import Schedule
from engine.model import ExecutionState, Limits, MaintenancePlan, Migration, Reboot, Snapshot, SolverInfo
from engine.violations import PlanRejected


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


def fact_snapshot(snapshot: Snapshot, facts: Facts) -> Snapshot:
    """Each fact lasts what it really lasts (in progress: projected); a skipped migration's VM stays."""
    data = snapshot.model_dump(mode="json", by_alias=True)
    minutes = {f.subject: f.end - f.start for f in facts.all().values() if f.kind == "migrate"}
    reboots = {f.subject: f.end - f.start for f in facts.all().values() if f.kind == "reboot"}
    stays = {a.split(":", 1)[1] for a in facts.skipped if a.startswith("migrate:")}
    for vm in data["vms"]:
        if vm["id"] in minutes:
            vm["migration_minutes"] = max(1, minutes[vm["id"]])
        if vm["id"] in stays:
            vm["migratable"] = False
    for h in data["hosts"]:
        if h["id"] in reboots:
            h["reboot_minutes"] = reboots[h["id"]]
    return Snapshot.model_validate(data)


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
    `warm=False` is the cold re-solve the benchmark compares with (no hint, no change objective)."""
    from ortools.sat.python import cp_model

    from engine.maintenance.solve import candidate_cap
    from engine.validate_continuation import validate_continuation

    t0 = time.monotonic()
    facts = execution.facts(now)
    adjusted = fact_snapshot(snapshot, facts)
    base = build_problem(adjusted, limits)
    problem, fixed_task, fixed_reboot = _clip(base, facts)
    host_of = {h.id: h.index for h in problem.hosts}
    old_moves = {m.vm: m for m in plan.migrations}
    old_reboots = {r.host: r for r in plan.reboots}
    pending_ids = {a for a, st in execution.actions.items() if st.state == "pending"}

    # Warm start: the remaining plan shifted past now and past the late in-progress actions.
    free = [j for j in range(len(problem.tasks)) if j not in fixed_task]
    free_hosts = [h for h in problem.reboot_hosts if h not in fixed_reboot]
    old_starts = [old_moves[problem.tasks[j].vm].start for j in free if problem.tasks[j].vm in old_moves]
    old_starts += [old_reboots[problem.hosts[h].id].start for h in free_hosts if problem.hosts[h].id in old_reboots]
    lateness = [f.end - execution.planned[f.id].end for f in facts.in_progress.values()]
    shift = max([0, *(now - s for s in old_starts), *lateness])
    hint_targets, hint_starts = [], []
    for t in problem.tasks:
        if t.index in fixed_task:
            hint_targets.append(host_of[facts.all()[migrate_id(t.vm)].target])
            hint_starts.append(fixed_task[t.index])
        else:
            old = old_moves.get(t.vm)
            hint_targets.append(host_of[old.target] if old is not None and old.target in host_of else None)
            hint_starts.append(max(now, old.start + shift) if old is not None else now)
    hint_reboots = {h: fixed_reboot.get(h, max(now, old_reboots[problem.hosts[h].id].start + shift)
                                        if problem.hosts[h].id in old_reboots else now)
                    for h in problem.reboot_hosts}

    cap = candidate_cap(len(free))
    candidates, pruned = candidate_targets(problem, cap, keep=hint_targets)
    for j in fixed_task:
        candidates[j] = [hint_targets[j]]
    missing = [problem.tasks[j].vm for j in free if not candidates[j]]
    if missing:
        raise ReplanFailed(f"{len(missing)} VM(s) fit no target host any more: {', '.join(missing[:5])}")
    for j, c in enumerate(candidates):  # a stale target that no longer fits is not hinted
        if hint_targets[j] not in c:
            hint_targets[j] = c[0]

    serial = sum(problem.tasks[j].duration for j in free) + sum(problem.hosts[h].reboot_minutes for h in free_hosts)
    fixed_end = max([s + problem.tasks[j].duration for j, s in fixed_task.items()]
                    + [s + problem.hosts[h].reboot_minutes for h, s in fixed_reboot.items()] + [now])
    hint = Schedule(starts=hint_starts, targets=hint_targets, reboot_starts=hint_reboots)
    horizon = max(fixed_end + serial, hint.makespan(problem))
    mm = MaintenanceModel(problem, candidates, horizon)
    v, model = mm.vars, mm.model
    for j in range(len(problem.tasks)):
        if j in fixed_task:
            model.Add(v.start[j] == fixed_task[j])
        else:
            model.Add(v.start[j] >= now)
    for h in problem.reboot_hosts:
        if h in fixed_reboot:
            model.Add(v.reboot_start[h] == fixed_reboot[h])
        else:
            model.Add(v.reboot_start[h] >= now)

    n_workers = workers or 2
    first_at: list[float] = []

    class FirstSolution(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            if not first_at:
                first_at.append(time.monotonic() - t0)

    def solve(budget: float):
        solver = cp_model.CpSolver()
        _parameters(solver, budget, n_workers, seed)
        return solver, solver.Solve(model, FirstSolution())

    mm.minimise_makespan()
    if warm:
        mm.add_hint(hint)
    remaining = time_limit_s - (time.monotonic() - t0)
    solver, status = solve(remaining * (0.6 if warm else 1.0))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        why = "the facts leave no valid continuation" if status == cp_model.INFEASIBLE else \
            f"no continuation found in {time_limit_s:g} s (try a longer --time-limit)"
        raise ReplanFailed(why)
    schedule = mm.read(solver)
    makespan = int(solver.ObjectiveValue())
    proven = status == cp_model.OPTIMAL and not pruned
    bound = int(solver.BestObjectiveBound() + 1e-6) if not pruned else None

    remaining = time_limit_s - (time.monotonic() - t0)
    if warm and remaining > 0.3:
        model.Add(v.makespan <= makespan)
        delta = model.NewIntVar(0, horizon, "shift")
        keep = []
        for j in free:
            old = old_moves.get(problem.tasks[j].vm)
            if old is None or migrate_id(old.vm) not in pending_ids:
                continue
            same = model.NewBoolVar(f"same[{old.vm}]")
            model.Add(v.start[j] == old.start + delta).OnlyEnforceIf(same)
            lit = v.present[j].get(host_of.get(old.target, -1))
            if lit is None:
                model.Add(same == 0)
            elif len(v.present[j]) > 1:
                model.AddImplication(same, lit)
            keep.append(same)
        for h in free_hosts:
            old = old_reboots.get(problem.hosts[h].id)
            if old is None or reboot_id(old.host) not in pending_ids:
                continue
            same = model.NewBoolVar(f"same[{old.host}]")
            model.Add(v.reboot_start[h] == old.start + delta).OnlyEnforceIf(same)
            keep.append(same)
        if keep:
            model.Maximize(sum(keep))
            mm.add_hint(schedule)
            solver2, status2 = solve(remaining)
            if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                schedule = mm.read(solver2)

    out = _continuation(problem, schedule, facts, plan, execution, pending_ids, proven, bound,
                        time.monotonic() - t0)
    violations = validate_continuation(snapshot, limits, out.plan, facts)
    if violations:
        raise PlanRejected("replan", violations)
    out.first_solution_s = first_at[0] if first_at else None
    return out


def _continuation(problem: Problem, schedule: Schedule, facts: Facts, plan: MaintenancePlan, execution: Execution,
                  pending_ids: set[str], proven: bool, bound: Optional[int], wall_s: float) -> ReplanResult:
    hosts = problem.hosts
    fact_by_id = facts.all()
    migrations, reboots = [], []
    for t in problem.tasks:
        f = fact_by_id.get(migrate_id(t.vm))
        if f is not None:
            migrations.append(Migration(vm=t.vm, source=f.source, target=f.target, start=f.start, end=f.end))
        else:
            s = schedule.starts[t.index]
            migrations.append(Migration(vm=t.vm, source=hosts[t.source].id, target=hosts[schedule.targets[t.index]].id,
                                        start=s, end=s + t.duration))
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
    """Pending actions with another target, or whose start is not the common shift of the rest."""
    old_m = {migrate_id(m.vm): m for m in old.migrations}
    old_r = {reboot_id(r.host): r for r in old.reboots}
    pairs = []  # (old start, new start, same target)
    for m in migrations:
        o = old_m.get(migrate_id(m.vm))
        if o is not None and migrate_id(m.vm) in pending_ids:
            pairs.append((o.start, m.start, o.target == m.target))
    for r in reboots:
        o = old_r.get(reboot_id(r.host))
        if o is not None and reboot_id(r.host) in pending_ids:
            pairs.append((o.start, r.start, True))
    shifts = Counter(new - old_ for old_, new, same in pairs if same)
    shift = shifts.most_common(1)[0][0] if shifts else 0
    return sum(1 for old_, new, same in pairs if not same or new - old_ != shift)
