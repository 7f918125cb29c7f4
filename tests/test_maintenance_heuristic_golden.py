"""The heuristic's deterministic passes give exactly the plans recorded before its restructuring
(tests/heuristic_golden.py; issue 16 item 6: same plans on the benchmark fleets)."""

import json

import pytest

from tests.heuristic_golden import BIG, FLEETS, GOLDEN, fleet, run_passes

RECORDED = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("name", [n for n in FLEETS if n not in BIG])
def test_same_plans_on_small_fleets(name):
    problem = fleet(name)
    got = run_passes(problem)
    assert {k: v["sha"] for k, v in got.items()} == {k: v["sha"] for k, v in RECORDED[name]["passes"].items()}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", BIG)
def test_same_plans_on_benchmark_size_fleets(name):
    problem = fleet(name)
    assert len(problem.tasks) == RECORDED[name]["migrations"]
    got = run_passes(problem)
    assert {k: v["sha"] for k, v in got.items()} == {k: v["sha"] for k, v in RECORDED[name]["passes"].items()}
