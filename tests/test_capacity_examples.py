"""Malloovia's own example problems: every row of shared/malloovia-examples/README.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import console.cli.solve_capacity_cmd  # noqa: F401  (registers `solve capacity`)
from console.cli.apps import app
from engine.capacity.model import Workload
from engine.capacity.phase_i import solve_phase_i
from engine.capacity.phase_ii import solve_phase_ii
from engine.capacity.reader import CapacityInputError, read_problem, read_problems

EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "malloovia-examples"


def close(a, b, rel=1e-6):
    return a is not None and abs(a - b) <= rel * max(1.0, abs(b))


# (file, problem id, relaxed, status, cost, reserved) — Phase I rows of the README.
PHASE_I_ROWS = [
    ("problem1.yaml", "example", False, "optimal", 178.0, {"m3large_r": 6}),
    ("problem1.yaml", "example", True, "optimal", 149.928, {"m3large_r": 5.006}),
    ("problem2.yaml", "example", False, "infeasible", None, None),
    ("problem2.yaml", "example", True, "infeasible", None, None),
    ("problem3.yaml", "example", False, "optimal", 226.0, {"m3large_r": 2}),
    ("problem3.yaml", "example", True, "optimal", 180.0, {"m3large_r": 2.5}),
    ("problem_example.yaml", "phaseI", False, "infeasible", None, None),
    ("problem_example_external_workload.yaml", "phaseI", False, "optimal", 106.3, {"ic1": 5}),
    ("problems_plus_solutions_with_allocation.yaml", "example1", False, "optimal", 1450.0, {"m3large_z1": 17}),
]

# (file, problem id, Phase II cost) — the "II (STWP = LTWP)" rows.
PHASE_II_ROWS = [
    ("problem1.yaml", "example", 178.0),
    ("problem3.yaml", "example", 226.0),
    ("problem_example_external_workload.yaml", "phaseI", 102.5),
    ("problems_plus_solutions_with_allocation.yaml", "example1", 1430.0),
]


@pytest.mark.parametrize("method", ["auto", "milp"])
@pytest.mark.parametrize("file,pid,relaxed,status,cost,reserved", PHASE_I_ROWS)
def test_phase_i_matches_readme(file, pid, relaxed, status, cost, reserved, method):
    sol = solve_phase_i(read_problem(EXAMPLES / file, pid), relaxed=relaxed, method=method)
    assert sol.status == status
    if cost is None:
        assert sol.cost is None and sol.allocation is None
        return
    assert close(sol.cost, cost)
    got = sol.reserved_counts()
    assert set(got) == set(reserved)
    for ic, n in reserved.items():
        assert abs(got[ic] - n) <= 1e-6 * max(1, n)
    # The per-level allocation covers every level's workload, one row per app.
    assert sol.allocation.shape[:2] == sol.levels.values.shape


@pytest.mark.parametrize("file,pid,cost", PHASE_II_ROWS)
def test_phase_ii_with_stwp_equal_to_ltwp_matches_readme(file, pid, cost):
    problem = read_problem(EXAMPLES / file, pid)
    sol = solve_phase_ii(problem, solve_phase_i(problem))
    assert sol.status == "optimal"
    assert close(sol.cost, cost)
    assert set(sol.slot_statuses) == {"optimal"}
    assert len(sol.slot_statuses) == problem.n_slots


def test_phase_ii_can_cost_less_than_phase_i_because_reserved_vms_are_re_split_per_slot():
    problem = read_problem(EXAMPLES / "problem_example_external_workload.yaml", "phaseI")
    first = solve_phase_i(problem)
    second = solve_phase_ii(problem, first)
    assert second.cost < first.cost
    # ... with exactly Phase I's reserved total in every slot.
    alloc = second.allocation()
    assert (alloc[:, :, 0].sum(axis=1) == first.reserved[0]).all()


def _overfull_problem():
    problem = read_problem(EXAMPLES / "problem1.yaml", "example")
    w0 = problem.workloads[0]
    stwp = problem.with_workloads((Workload(w0.id, w0.app, (30, 270, 30, 30), w0.time_unit),) + problem.workloads[1:])
    return problem, stwp


def test_overfull_row_of_the_readme():
    problem, stwp = _overfull_problem()
    sol = solve_phase_ii(stwp, solve_phase_i(problem))
    assert sol.status == "overfull"
    assert sol.slot_statuses == ["optimal", "overfull", "optimal", "optimal"]
    assert close(sol.cost, 368.0)
    served = sol.results[sol.levels.slot_level[1]].served
    assert served[0] < 1 and close(served[1], 1.0)  # app1 fully served, app0 as far as limits allow


def test_overfull_row_through_the_cli_with_a_csv_stwp(tmp_path):
    (tmp_path / "stwp.csv").write_text("app0,app1\n30,1003\n270,1200\n30,1194\n30,1003\n")
    r = CliRunner().invoke(app, ["solve", "capacity", str(EXAMPLES / "problem1.yaml"), "--problem", "example",
                                 "--phase", "ii", "--stwp", str(tmp_path / "stwp.csv"), "--json"])
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "overfull" and close(out["cost"], 368.0)
    assert out["slot_statuses"] == ["optimal", "overfull", "optimal", "optimal"]
    assert out["reserved"] == {"m3large_r": 6}


@pytest.mark.parametrize("file,pid,relaxed,status,cost,reserved", PHASE_I_ROWS)
def test_cli_phase_i_json_and_exit_codes(file, pid, relaxed, status, cost, reserved):
    args = ["solve", "capacity", str(EXAMPLES / file), "--problem", pid, "--phase", "i", "--json"]
    r = CliRunner().invoke(app, args + (["--relaxed"] if relaxed else []))
    assert r.exit_code == (0 if status == "optimal" else 3), r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == status
    if cost is not None:
        assert close(out["cost"], cost)
        assert set(out["reserved"]) == set(reserved)


@pytest.mark.parametrize("file,pid,cost", PHASE_II_ROWS)
def test_cli_phase_ii_json(file, pid, cost):
    r = CliRunner().invoke(app, ["solve", "capacity", str(EXAMPLES / file), "--problem", pid, "--phase", "ii", "--json"])
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "optimal" and close(out["cost"], cost)
    assert out["slot_statuses"] == ["optimal"] * len(out["slots"])
    assert out["phase_i"]["status"] == "optimal" and out["reserved"]


@pytest.mark.parametrize("file", ["problem_with_numbers_as_names.yaml", "solution_without_problem.yaml"])
def test_files_malloovia_rejects_are_rejected_with_a_clear_message(file):
    with pytest.raises(CapacityInputError) as info:
        read_problems(EXAMPLES / file)
    text = str(info.value)
    if file.startswith("problem_with_numbers"):
        assert "Apps[0]" in text and "must be a non-empty string, got a number" in text
        assert "required field 'time_unit' is missing" in text
    else:
        assert "undefined alias 'phaseI'" in text and "never defines" in text
    r = CliRunner().invoke(app, ["solve", "capacity", str(EXAMPLES / file), "--problem", "phaseI"])
    assert r.exit_code == 2
    assert "Traceback" not in r.stderr and file in r.stderr


def test_phase_ii_of_an_infeasible_phase_i_exits_3():
    r = CliRunner().invoke(app, ["solve", "capacity", str(EXAMPLES / "problem_example.yaml"), "--problem", "phaseI", "--phase", "ii", "--json"])
    assert r.exit_code == 3
    out = json.loads(r.stdout)
    assert out["phase"] == "ii" and out["status"] == "infeasible" and out["slots"] == []


def test_phase_ii_against_another_problem_of_the_same_file():
    # Malloovia's usage: Phase I on the LTWP problem, Phase II on the STWP problem (other classes).
    r = CliRunner().invoke(app, ["solve", "capacity", str(EXAMPLES / "problem_example_external_workload.yaml"),
                                 "--problem", "phaseI", "--phase", "ii",
                                 "--stwp", str(EXAMPLES / "problem_example.yaml"), "--stwp-problem", "phaseII", "--json"])
    assert r.exit_code in (0, 3), r.stderr
    out = json.loads(r.stdout)
    assert out["problem"] == "phaseII" and len(out["slots"]) == 8
    assert out["status"] in ("optimal", "overfull")
