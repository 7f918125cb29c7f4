"""engine.validate's receipts: a plan the validator accepted is not checked again against the same
snapshot object and limits, but any change to the plan, the limits or the snapshot object is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import engine.validate as validate
from engine.documents import parse_model, parse_snapshot
from engine.maintenance.solve import solve_maintenance
from engine.model import Limits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def solved():
    snapshot = parse_snapshot(json.loads((FIXTURES / "demo.json").read_text()))
    limits = parse_model(Limits, json.loads((FIXTURES / "demo-limits.json").read_text()), "limits")
    plan = solve_maintenance(snapshot, limits, solver="heuristic")
    assert plan.migrations, "the demo fleet needs migrations for these checks"
    return snapshot, limits, plan


@pytest.fixture
def full_checks(monkeypatch):
    """How many times the rules really ran."""
    calls = []
    real = validate._Plan

    def counting(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(validate, "_Plan", counting)
    return calls


def test_the_same_accepted_plan_is_answered_without_running_the_rules_again(solved, full_checks):
    snapshot, limits, plan = solved
    assert validate.validate_maintenance(snapshot, limits, plan) == []
    n = len(full_checks)
    # What the store's door asks: the same plan, with its solver info, notes and inputs stamped since.
    stamped = plan.model_copy(update={"notes": ["cancelled"], "solver": {"name": "x", "wall_s": 9.0}})
    assert validate.validate_maintenance(snapshot, limits, stamped) == []
    assert len(full_checks) == n


def test_a_changed_plan_is_checked_in_full(solved, full_checks):
    snapshot, limits, plan = solved
    assert validate.validate_maintenance(snapshot, limits, plan) == []
    first = plan.migrations[0]
    plan.migrations[0] = first.model_copy(update={"end": first.end + 1})  # in place: the same plan object
    found = validate.validate_maintenance(snapshot, limits, plan)
    assert any(v.rule == "1-migrate-once" for v in found)
    shorter = plan.model_copy(update={"makespan": (plan.makespan or 0) + 1})
    assert any(v.rule == "9-makespan" for v in validate.validate_maintenance(snapshot, limits, shorter))


def test_other_limits_or_another_snapshot_object_are_checked_in_full(solved, full_checks):
    snapshot, limits, plan = solved
    assert validate.validate_maintenance(snapshot, limits, plan) == []
    n = len(full_checks)
    tight = limits.model_copy(update={"concurrency": limits.concurrency.model_copy(update={"global_": 1})})
    assert any(v.rule == "5-concurrency" for v in validate.validate_maintenance(snapshot, tight, plan))
    same_content = snapshot.model_copy(deep=True)
    assert validate.validate_maintenance(same_content, limits, plan) == []
    assert len(full_checks) == n + 2


def test_a_rejected_plan_leaves_no_receipt(solved, full_checks):
    snapshot, limits, plan = solved
    bad = plan.model_copy(update={"makespan": (plan.makespan or 0) + 1})
    for _ in range(2):
        assert validate.validate_maintenance(snapshot, limits, bad)
    assert len(full_checks) == 2
