"""Integer packings from column generation (engine/placement/colgen_integer.py) and the shared
first-fit completion (engine/placement/heuristics.py): every VM placed, the rules kept."""

from __future__ import annotations

import time

import pytest

from engine.placement.colgen import ColumnGeneration
from engine.placement.colgen_integer import dive
from engine.placement.generate import snapshot_of
from engine.placement.heuristics import heuristic
from engine.placement.problem import build_problem
from engine.placement.published import instance
from engine.placement.solution import is_feasible
from placement_support import limits


@pytest.mark.parametrize("budget_s", [0.0, 0.3])
def test_a_dive_out_of_time_still_packs_every_vm_around_its_fixed_patterns(budget_s):
    # an existing VM and a headroom: the first-fit completion must respect both like the patterns do
    doc, _ = instance("ct-uniform", 60, seed=5)
    doc["vms"][0]["host"] = doc["hosts"][0]["id"]
    snap = snapshot_of(doc)
    lim = limits(headroom={"cpu": 0.05})
    p = build_problem(snap, lim)
    cg = ColumnGeneration(p, exact=True)
    cg.add_assignment(heuristic(p)[0])
    packed = dive(cg, time.monotonic() + budget_s)
    assert packed is not None and is_feasible(p, packed)
    assert all(r >= 0 for r in packed)
