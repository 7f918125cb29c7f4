"""Issue 12, defect 9: a cancel reaches every sub-solve at once. The heuristic every sub-solve runs
first stops after the pass that gives its first plan (it used to run all its deterministic passes,
seconds each at 25k migrations, after the operator had pressed c y)."""

from __future__ import annotations

from engine.documents import load_limits, load_snapshot
from engine.maintenance import heuristic
from engine.maintenance.problem import build_problem
from tests.runs_support import FIXTURES


def test_a_cancelled_heuristic_keeps_its_first_plan_and_runs_no_further_pass(monkeypatch):
    snap = load_snapshot(FIXTURES / "demo.json")
    limits = load_limits(FIXTURES / "demo-limits.json")
    problem = build_problem(snap, limits, tuple(d.id for d in snap.datacenters))
    passes = []
    real_run = heuristic._Pass.run

    def counting_run(self, *args, **kw):
        passes.append(1)
        return real_run(self, *args, **kw)

    monkeypatch.setattr(heuristic._Pass, "run", counting_run)
    plan = heuristic.schedule_heuristic(problem, budget_s=5.0, stop=lambda: True)
    assert plan is not None  # the plan found before the cancel is kept
    assert len(passes) == 1
    passes.clear()
    heuristic.schedule_heuristic(problem, budget_s=0.0, stop=lambda: False)
    assert len(passes) > 1  # without a cancel it tries its other orders
