"""The execution engine: events and their refusals, safe next actions, replan, continuation validator, margins.

The property tests play random executions of valid plans (tests/execution_support.simulate:
operators start random subsets of what `safe_next` allows, actions run late and fail) and
check with the validator's own rule checks that what `safe_next` hands out breaks no rule,
and that `replan` returns a continuation the validator accepts with every fact unmoved.
"""

from __future__ import annotations

import copy
import functools
import random

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from engine.execution.margins import plan_margins
from engine.execution.next_actions import safe_next
from engine.execution.replan import replan
from engine.execution.state import Event, EventRefused, Execution, parse_event
from engine.maintenance.solve import solve_maintenance
from engine.model import Migration, Reboot
from engine.validate_continuation import check_facts, time_rule_violations, validate_continuation
from execution_support import simulate
from fleet_builder import limits, plan, snapshot
from lifecycle_support import LIMITS, small_fleet

# --------------------------------------------------------------------------- a hand-made fleet

# h1 and h2 reboot; h3 is the spare. per_source_host 1: h1's two VMs leave one after the other.
FLEET = snapshot(
    [{"id": "h1", "state": "needs_reboot", "reboot_minutes": 5}, {"id": "h2", "state": "needs_reboot", "reboot_minutes": 5},
     {"id": "h3"}],
    [{"id": "a", "host": "h1"}, {"id": "b", "host": "h1"}, {"id": "c", "host": "h2"}],
)
LIM = limits(concurrency={"per_source_host": 1, "max_hosts_down_per_rack": 1})
PLAN = plan([("a", "h1", "h3", 0, 10), ("b", "h1", "h3", 10, 20), ("c", "h2", "h1", 25, 35)],
            [("h1", 20, 25), ("h2", 35, 40)], lower_bound=None)


def states(ex: Execution) -> dict:
    return copy.deepcopy({a: vars(s) for a, s in ex.actions.items()})


def test_the_hand_made_plan_is_valid():
    from engine.validate import validate_maintenance

    assert validate_maintenance(FLEET, LIM, PLAN) == []


@pytest.mark.parametrize("history, event, message", [
    ([("migrate:a", "started", 0), ("migrate:a", "done", 10)], ("migrate:a", "started", 12), "already done"),
    ([], ("migrate:zzz", "started", 0), "unknown action"),
    ([("migrate:a", "started", 5)], ("migrate:a", "done", 3), "time goes backwards"),
    ([("migrate:a", "started", 5)], ("migrate:a", "done", 5), "at least one minute"),
    ([], ("migrate:a", "done", 3), "not in progress"),
    ([("migrate:a", "started", 0), ("migrate:a", "done", 10)], ("reboot:h1", "started", 11), "not done"),
    ([], ("migrate:c", "started", 0), "has not finished its reboot"),
    ([], ("reboot:h2", "skipped", 0), "cannot be skipped"),
    ([("migrate:a", "started", 0)], ("migrate:a", "started", 1), "already in progress"),
])
def test_an_illegal_event_is_refused_with_a_clear_error_and_changes_nothing(history, event, message):
    ex = Execution(PLAN, [Event(*e) for e in history])
    before, n = states(ex), len(ex.events)
    with pytest.raises(EventRefused, match=message):
        ex.apply(Event(*event))
    assert states(ex) == before and len(ex.events) == n


def test_the_same_event_twice_is_applied_once_and_a_failed_action_may_start_again():
    ex = Execution(PLAN)
    assert ex.apply(Event("migrate:a", "started", 0)) is True
    assert ex.apply(Event("migrate:a", "started", 0)) is False
    ex.apply(Event("migrate:a", "failed", 4, "network"))
    ex.apply(Event("migrate:a", "started", 6))
    assert ex.actions["migrate:a"].state == "in_progress" and ex.actions["migrate:a"].attempts == 2
    assert len(ex.events) == 3


def test_parse_event_names_every_problem():
    with pytest.raises(EventRefused) as info:
        parse_event({"action": "", "state": "begun", "at": -1, "extra": 1})
    text = str(info.value)
    for part in ("unknown key 'extra'", "'action'", "'state'", "'at'"):
        assert part in text
    assert parse_event({"action": "migrate:a", "state": "done", "at": 3}).at == 3


def test_a_late_migration_holds_back_the_next_one_from_its_source_with_the_reason():
    ex = Execution(PLAN, [Event("migrate:a", "started", 0)])
    rep = safe_next(FLEET, LIM, ex, 12)  # a should have ended at 10; b is due at 10
    assert [a.id for a in rep.may_start] == []
    held = {h.id: h.reasons for h in rep.held_back}
    assert "per_source_host" in held["migrate:b"][0]
    assert ex.is_late("migrate:a", 12)
    ex.apply(Event("migrate:a", "done", 13))
    assert [a.id for a in safe_next(FLEET, LIM, ex, 13).may_start] == ["migrate:b"]


def test_replan_pins_a_late_migration_and_shifts_the_rest():
    ex = Execution(PLAN, [Event("migrate:a", "started", 0)])
    res = replan(FLEET, LIM, PLAN, ex, 12, time_limit_s=5, workers=1)
    p = res.plan
    a = next(m for m in p.migrations if m.vm == "a")
    assert (a.start, a.target) == (0, "h3") and a.end == 13  # in progress: projected to end after now
    assert all(m.start >= 12 for m in p.migrations if m.vm != "a")
    assert p.execution.now == 12 and p.execution.in_progress == ["migrate:a"]
    assert validate_continuation(FLEET, LIM, p, ex.facts(12)) == []
    # the old order 3 minutes later ends at 43 (b 13-23, h1 23-28, c 28-38, h2 38-43); c leaving h2 for h3
    # at once is better: the makespan comes first, changes second
    assert p.status == "optimal" and p.makespan < 43
    assert res.changed >= 1


def test_the_continuation_validator_refuses_a_moved_fact_and_a_new_action_before_now():
    ex = Execution(PLAN, [Event("migrate:a", "started", 1), Event("migrate:a", "done", 11)])
    res = replan(FLEET, LIM, PLAN, ex, 12, time_limit_s=5, workers=1)
    facts = ex.facts(12)
    moved = res.plan.model_copy(update={"migrations": [
        Migration(vm=m.vm, source=m.source, target=m.target, start=m.start - 1, end=m.end - 1) if m.vm == "a" else m
        for m in res.plan.migrations]})
    assert any(v.rule == "10-facts" and "moved" in v.message for v in check_facts(FLEET, LIM, moved, facts))
    early = res.plan.model_copy(update={"reboots": [
        Reboot(host=r.host, start=5, end=10) if r.host == "h2" else r for r in res.plan.reboots]})
    assert any("before now" in v.message for v in validate_continuation(FLEET, LIM, early, facts))


def test_the_continuation_validator_runs_every_rule_of_the_validator():
    from engine.validate import RULES
    from engine.validate_continuation import RECORD_CHECKS, TIME_CHECKS

    assert sorted(map(id, RECORD_CHECKS + TIME_CHECKS)) == sorted(map(id, RULES))


def test_margins_report_peaks_where_and_when():
    rep = plan_margins(FLEET, LIM, PLAN)
    by = {m.family: m for m in rep.margins}
    assert (by["per_source_host"].peak, by["per_source_host"].limit, by["per_source_host"].where) == (1, 1, "h1")
    assert by["per_source_host"].saturated_minutes == 30  # h1 busy 0-20, h2 25-35
    assert by["max_hosts_down_per_rack"].peak == 1
    assert by["capacity"].where.startswith("h3") or by["capacity"].where.startswith("h1")
    assert rep.binding == "per_source_host"


# --------------------------------------------------------------------------- properties on random executions


# Fleets of several sizes and customer mixes (few customers: their conflict limit binds), each under
# the shared LIMITS and a tight variant (one migration per source host, two per rack, one per customer).
TIGHT = LIMITS.model_copy(update={
    "concurrency": LIMITS.concurrency.model_copy(update={"per_source_host": 1, "per_rack": 2}),
    "conflict": LIMITS.conflict.model_copy(update={"per_customer": 1}),
})
FLEETS = [(5, 60, 8, "shared"), (6, 60, 8, "shared"), (7, 60, 8, "tight"), (8, 120, 4, "shared"),
          (9, 90, 3, "tight"), (11, 150, 12, "shared")]


@functools.lru_cache(maxsize=None)
def solved(seed: int, vms: int, customers: int, lim: str):
    fleet, chosen = small_fleet(seed=seed, vms=vms, customers=customers), LIMITS if lim == "shared" else TIGHT
    p = solve_maintenance(fleet, chosen, time_limit_s=2, workers=1)
    assert p.status in ("optimal", "feasible"), (seed, vms, customers, lim, p.status)
    return fleet, chosen, p


# What operators do, drawn: how often actions fail (and are retried), run late (by how much), and how
# eagerly they start what `exec next` allows.
# (Never all zero: with a few examples per fleet, hypothesis's first, simplest draws would be runs where
# nothing fails or runs late; the hand-made tests above cover those.)
OPERATORS = dict(fail_rate=st.floats(0.05, 0.4), late_rate=st.floats(0.1, 1.0), start_rate=st.floats(0.3, 1.0),
                 max_late=st.integers(1, 40), retry_rate=st.floats(0.0, 1.0))


def played(fleet_key, at, rng_seed, **operators):
    fleet, lim, p = solved(*fleet_key)
    now = int(p.makespan * at)
    ex = simulate(fleet, lim, p, now, random.Random(rng_seed), **operators)
    # what the examples cover (pytest --hypothesis-show-statistics)
    event(f"failed actions: {'some' if ex.count('failed') else 'none'}")
    event(f"late actions in progress: {'some' if any(ex.is_late(a, now) for a, s in ex.actions.items() if s.state == 'in_progress') else 'none'}")
    event(f"retried actions: {'some' if any(s.attempts > 1 for s in ex.actions.values()) else 'none'}")
    return fleet, lim, p, now, ex


# Every fleet is played (hypothesis's draws from a list lean on its first entries), the rest drawn.
@pytest.mark.parametrize("fleet_key", FLEETS, ids=lambda k: "-".join(map(str, k)))
@settings(max_examples=6, deadline=None, derandomize=True)
@given(at=st.floats(0.0, 0.95), rng_seed=st.integers(0, 10_000), **OPERATORS)
def test_next_never_hands_out_an_action_that_breaks_a_rule(fleet_key, at, rng_seed, **operators):
    fleet, lim, p, now, ex = played(fleet_key, at, rng_seed, **operators)
    rep = safe_next(fleet, lim, ex, now)
    facts = ex.facts(now)
    migrations = [Migration(vm=f.subject, source=f.source, target=f.target, start=f.start, end=f.end)
                  for f in facts.all().values() if f.kind == "migrate"]
    reboots = [Reboot(host=f.subject, start=f.start, end=f.end) for f in facts.all().values() if f.kind == "reboot"]
    migrations += [Migration(vm=a.subject, source=a.source, target=a.target, start=now, end=now + a.minutes)
                   for a in rep.may_start if a.kind == "migrate"]
    reboots += [Reboot(host=a.subject, start=now, end=now + a.minutes) for a in rep.may_start if a.kind == "reboot"]
    assert time_rule_violations(fleet, lim, migrations, reboots, now) == []
    started = {a.id for a in rep.may_start}
    assert not started & {h.id for h in rep.held_back}
    for a in rep.may_start:  # and each may really start: the execution's own event checks agree
        ex.check(Event(a.id, "started", now))


@pytest.mark.parametrize("fleet_key", FLEETS, ids=lambda k: "-".join(map(str, k)))
@settings(max_examples=5, deadline=None, derandomize=True)
@given(at=st.floats(0.05, 0.9), rng_seed=st.integers(0, 10_000), **OPERATORS)
def test_replan_is_a_valid_continuation_with_facts_unmoved(fleet_key, at, rng_seed, **operators):
    fleet, lim, p, now, ex = played(fleet_key, at, rng_seed, **operators)
    if ex.finished():
        return
    res = replan(fleet, lim, p, ex, now, time_limit_s=2, workers=1)
    facts = ex.facts(now)
    assert validate_continuation(fleet, lim, res.plan, facts) == []
    # facts unmoved, checked here too (not only by the validator under test)
    moves = {m.vm: m for m in res.plan.migrations}
    downs = {r.host: r for r in res.plan.reboots}
    for f in facts.all().values():
        if f.kind == "migrate":
            m = moves[f.subject]
            assert (m.source, m.target, m.start) == (f.source, f.target, f.start)
            assert m.end == f.end if f.state == "done" else m.end > now
        else:
            r = downs[f.subject]
            assert r.start == f.start and (r.end == f.end if f.state == "done" else r.end > now)
    fact_ids = set(facts.all())
    for m in res.plan.migrations:
        if f"migrate:{m.vm}" not in fact_ids:
            assert m.start >= now  # new, and failed ones redone, from now on
    for r in res.plan.reboots:
        if f"reboot:{r.host}" not in fact_ids:
            assert r.start >= now
    assert res.plan.execution.failed == sorted(facts.failed)
    # the policy: pending actions leave their target or order only for a makespan more than 5%
    # shorter than keeping the old order
    if res.kept_order_makespan is not None and res.plan.makespan * 100 >= 95 * res.kept_order_makespan:
        event("replan: old order kept")
        assert res.changed == 0, (res.changed, res.plan.makespan, res.kept_order_makespan)
    else:
        event("replan: reordered, more than 5% shorter")
    # the execution continues on the new plan: same history, nothing pending moved to the past
    cont = ex.switch_plan(res.plan)
    assert {a: s.state for a, s in cont.actions.items()} == {a: s.state for a, s in ex.actions.items()}
