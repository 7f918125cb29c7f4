"""The independent validator, extended for a continuation (a plan replanned mid-execution).

A continuation is a whole plan from minute 0 (FORMATS.md): done actions at the times they
really happened, in-progress ones at their real start (their end projected), new ones at or
after `now`. It is valid when

* "10-facts": facts are not moved — every done / in-progress action keeps its real start,
  target and (done) end; an in-progress one ends after `now`; everything else starts at or
  after `now`; a skipped migration does not happen; the `execution` section names the facts;
* rules 1-3 and 9 hold on the whole plan, with each fact's real duration;
* rules 4-8 hold from `now` on. The past is not judged again: it happened. They are checked
  on the plan clipped to [now, ∞) — a done action becomes a zero-length move at `now`
  (its VM has arrived), an in-progress one keeps its remaining part.

Every rule check is engine.validate's; this module only builds the documents it checks.
"""

from __future__ import annotations

from typing import Iterable, Optional

from engine.execution.fleet import with_changes
from engine.execution.state import Fact, Facts, migrate_id, reboot_id
from engine.model import Limits, MaintenancePlan, Migration, Reboot, Snapshot
from engine import validate as rules
from engine.validate import migration_minutes, validate_maintenance  # (the validator's own derived values)
from engine.violations import Violation

RECORD_RULES = ("0-", "1-", "2-", "3-", "9-")
TIME_RULES = ("4-", "5-", "6-", "7-", "8-")
# The validator's checks of each family: each view of the plan is checked only for its rules (half the work).
RECORD_CHECKS = (rules.check_migrate_once, rules.check_reboots, rules.check_targets, rules.check_makespan)
TIME_CHECKS = (rules.check_capacity, rules.check_concurrency, rules.check_bandwidth, rules.check_conflict,
               rules.check_hosts_down)


def _rule_in(v: Violation, prefixes: Iterable[str]) -> bool:
    return v.rule.startswith(tuple(prefixes))


def adjusted_snapshot(snapshot: Snapshot, plan: MaintenancePlan, facts: Facts) -> Snapshot:
    """The snapshot the continuation's records are checked against: each fact lasts what it
    really lasted (as the plan states it), a skipped migration's VM stays (not migratable)."""
    moves = {m.vm: m for m in plan.migrations}
    downs = {r.host: r for r in plan.reboots}
    minutes: dict[str, int] = {}
    reboot_minutes: dict[str, int] = {}
    for f in facts.all().values():
        if f.kind == "migrate" and f.subject in moves:
            minutes[f.subject] = max(1, moves[f.subject].end - moves[f.subject].start)
        elif f.kind == "reboot" and f.subject in downs:
            reboot_minutes[f.subject] = max(0, downs[f.subject].end - downs[f.subject].start)
    stays = {f.split(":", 1)[1] for f in facts.skipped if f.startswith("migrate:")}
    vms: dict[str, dict] = {vm: {"migration_minutes": n} for vm, n in minutes.items()}
    for vm in stays:
        vms.setdefault(vm, {})["migratable"] = False
    return with_changes(snapshot, vms, {h: {"reboot_minutes": n} for h, n in reboot_minutes.items()})


def clipped(plan: MaintenancePlan, now: int) -> MaintenancePlan:
    """The plan from `now` on: every interval cut to [max(start, now), max(end, now))."""
    return plan.model_copy(update={
        # model_construct: the records were validated as the plan was built; only times change here
        "migrations": [Migration.model_construct(vm=m.vm, source=m.source, target=m.target, start=max(m.start, now),
                                                 end=max(m.end, now)) for m in plan.migrations],
        "reboots": [Reboot.model_construct(host=r.host, start=max(r.start, now), end=max(r.end, now))
                    for r in plan.reboots],
    })


def check_facts(snapshot: Snapshot, limits: Limits, plan: MaintenancePlan, facts: Facts) -> list[Violation]:
    """Rule "10-facts": facts unmoved, the rest at or after now, the execution section truthful."""
    out: list[Violation] = []
    now = facts.now
    moves = {m.vm: m for m in plan.migrations}
    downs = {r.host: r for r in plan.reboots}
    fact_ids = facts.all()

    def bad(message: str, entities: tuple, minute: Optional[int] = None) -> None:
        out.append(Violation("10-facts", message, entities, minute))

    for f in fact_ids.values():
        if f.kind == "migrate":
            m = moves.get(f.subject)
            if m is None:
                bad(f"{f.id} ({f.state}) is missing from the plan", (f.subject,), f.start)
                continue
            if (m.source, m.target, m.start) != (f.source, f.target, f.start):
                bad(f"{f.id} ({f.state}) moved: it ran {f.source}→{f.target} from minute {f.start}, the plan "
                    f"says {m.source}→{m.target} from minute {m.start}", (f.subject, m.target), m.start)
            planned_end = m.end
            least = f.start + (migration_minutes(snapshot.vm_by_id[f.subject], limits)
                               if f.subject in snapshot.vm_by_id else 1)
        else:
            r = downs.get(f.subject)
            if r is None:
                bad(f"{f.id} ({f.state}) is missing from the plan", (f.subject,), f.start)
                continue
            if r.start != f.start:
                bad(f"{f.id} ({f.state}) moved: it started at minute {f.start}, the plan says minute {r.start}",
                    (f.subject,), r.start)
            planned_end = r.end
            host = snapshot.host_by_id.get(f.subject)
            least = f.start + (host.reboot_minutes if host is not None else 0)
        if f.state == "done" and planned_end != f.end:
            bad(f"{f.id} ended at minute {f.end}, the plan says minute {planned_end}", (f.subject,), planned_end)
        if f.state == "in_progress" and (planned_end <= now or planned_end < least):
            bad(f"{f.id} is in progress at minute {now} but the plan ends it at minute {planned_end} "
                f"(at least minute {max(now + 1, least)})", (f.subject,), planned_end)
    for m in plan.migrations:
        aid = migrate_id(m.vm)
        if aid in facts.skipped:
            bad(f"{aid} was skipped but the plan migrates it", (m.vm,), m.start)
        elif aid not in fact_ids and m.start < now:
            bad(f"{aid} is not started yet but the plan starts it at minute {m.start}, before now "
                f"(minute {now})", (m.vm,), m.start)
    for r in plan.reboots:
        aid = reboot_id(r.host)
        if aid not in fact_ids and r.start < now:
            bad(f"{aid} is not started yet but the plan starts it at minute {r.start}, before now "
                f"(minute {now})", (r.host,), r.start)
    ex = plan.execution
    if ex is None:
        bad("a continuation must carry its execution section", ())
    else:
        if ex.now != now:
            bad(f"execution.now is {ex.now}, the facts are at minute {now}", ())
        for name, ids in (("done", facts.done), ("in_progress", facts.in_progress), ("failed", facts.failed)):
            if set(getattr(ex, name)) != set(ids):
                bad(f"execution.{name} lists {len(getattr(ex, name))} action(s), the facts have {len(ids)}", ())
    return out


def claimed_facts(plan: MaintenancePlan) -> tuple[Facts, list[Violation]]:
    """The facts a continuation claims for itself, read from its own `execution` section: each done or
    in-progress id at the times and target the plan gives it. Checking a plan against these proves its
    own rules and that nothing new starts before `now` — not that the facts are what really happened
    (that needs the execution's events). Ids the plan does not schedule are violations of "10-facts"."""
    ex = plan.execution
    if ex is None:
        raise ValueError("the plan has no execution section: it is not a continuation")
    facts, out = Facts(now=ex.now, failed=set(ex.failed)), []
    moves = {migrate_id(m.vm): m for m in plan.migrations}
    downs = {reboot_id(r.host): r for r in plan.reboots}
    for state, ids in (("done", ex.done), ("in_progress", ex.in_progress)):
        for aid in ids:
            m, r = moves.get(aid), downs.get(aid)
            if m is not None:
                fact = Fact(aid, "migrate", m.vm, m.source, m.target, m.start, m.end, state)
            elif r is not None:
                fact = Fact(aid, "reboot", r.host, r.host, None, r.start, r.end, state)
            else:
                out.append(Violation("10-facts", f"execution.{state} names {aid}, which the plan does not schedule",
                                     (aid.split(":", 1)[-1],)))
                continue
            getattr(facts, state)[aid] = fact
    overlap = set(ex.done) & set(ex.in_progress) | (set(ex.done) | set(ex.in_progress)) & set(ex.failed)
    for aid in sorted(overlap):
        out.append(Violation("10-facts", f"{aid} is listed in more than one of execution.done / in_progress / failed",
                             (aid.split(":", 1)[-1],)))
    return facts, out


def validate_continuation(snapshot: Snapshot, limits: Limits, plan: MaintenancePlan, facts: Facts) -> list[Violation]:
    """Every violation of a continuation of a plan for `snapshot` at `facts.now`; [] means valid."""
    out = check_facts(snapshot, limits, plan, facts)
    if plan.status in ("infeasible", "unknown"):
        return out + validate_maintenance(snapshot, limits, plan)
    adjusted = adjusted_snapshot(snapshot, plan, facts)
    out += [v for v in validate_maintenance(adjusted, limits, plan, RECORD_CHECKS) if _rule_in(v, RECORD_RULES)]
    out += [v for v in validate_maintenance(adjusted, limits, clipped(plan, facts.now), TIME_CHECKS)
            if _rule_in(v, TIME_RULES)]
    return out


def time_rule_violations(snapshot: Snapshot, limits: Limits, migrations: list[Migration], reboots: list[Reboot],
                         now: int) -> list[Violation]:
    """Rules 3-8 for a partial schedule (what runs or ran, plus what would start): rules 4-8 from
    `now` on. Used to prove that starting a set of actions breaks nothing."""
    plan = MaintenancePlan(status="feasible", makespan=0, migrations=migrations, reboots=reboots,
                           solver={"name": "partial"})
    out = [v for v in validate_maintenance(snapshot, limits, plan, (rules.check_targets,)) if v.rule.startswith("3-")]
    out += [v for v in validate_maintenance(snapshot, limits, clipped(plan, now), TIME_CHECKS) if _rule_in(v, TIME_RULES)]
    return out
