"""Solutions in Malloovia's format, checked against the published JSON Schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

import console.cli.solve_capacity_cmd  # noqa: F401
from console.cli.apps import app
from engine.capacity import writer
from engine.capacity.phase_i import solve_phase_i
from engine.capacity.phase_ii import solve_phase_ii
from engine.capacity.reader import read_problem, read_problems
from engine.capacity.writer import SCHEMA_PATH, dump_yaml, solution_document, write_problems

EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "malloovia-examples"


@pytest.fixture(scope="module")
def solved():
    problem = read_problem(EXAMPLES / "problems_plus_solutions_with_allocation.yaml", "example1")
    first = solve_phase_i(problem)
    return problem, first, solve_phase_ii(problem, first)


def test_published_schema_is_a_valid_json_schema():
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft7Validator.check_schema(schema)


def test_solution_document_round_trips_through_yaml_with_anchors(solved, tmp_path):
    problem, first, second = solved
    text = dump_yaml(solution_document(first, second))
    assert "&m3large_z1" in text and "*m3large_z1" in text  # references, not copies
    data = yaml.safe_load(text)
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    sol_i, sol_ii = data["Solutions"]
    assert sol_i["solving_stats"]["optimal_cost"] == pytest.approx(1450.0)
    assert sol_i["solving_stats"]["algorithm"]["malloovia"]["status"] == "optimal"
    assert sol_i["reserved_allocation"]["vms_number"] == [17]
    assert sol_ii["previous_phase"] is sol_i and sol_ii["problem"] is sol_i["problem"]
    assert sol_ii["global_solving_stats"]["optimal_cost"] == pytest.approx(1430.0)
    assert len(sol_ii["solving_stats"]) == len(sol_ii["allocation"]["vms_number"]) == problem.n_slots
    # Phase II slot allocations: apps × classes, and each reserved total is the Phase I count.
    for slot in sol_ii["allocation"]["vms_number"]:
        assert len(slot) == 2 and all(len(row) == 2 for row in slot)
        assert slot[0][0] + slot[1][0] == 17
    # The written file is itself a readable problem file.
    path = tmp_path / "solution.yaml"
    path.write_text(text)
    again = read_problems(path)["example1"]
    assert again.workload_matrix().tolist() == problem.workload_matrix().tolist()
    assert again.data.perf.tolist() == problem.data.perf.tolist()


def test_schema_rejects_a_tampered_solution(solved):
    _, first, second = solved
    doc = copy.deepcopy(yaml.safe_load(dump_yaml(solution_document(first, second))))
    doc["Solutions"][0]["solving_stats"]["algorithm"]["malloovia"]["status"] = "great"
    with pytest.raises(writer.SolutionSchemaError):
        writer.validate_document(doc)
    doc = yaml.safe_load(dump_yaml(solution_document(first)))
    del doc["Solutions"][0]["reserved_allocation"]
    with pytest.raises(writer.SolutionSchemaError):
        writer.validate_document(doc)


def test_large_documents_use_the_c_emitter_and_stay_valid(solved, monkeypatch):
    _, first, second = solved
    monkeypatch.setattr(writer, "BIG_DOCUMENT", 0)
    data = yaml.safe_load(dump_yaml(solution_document(first, second)))
    writer.validate_document(data)
    assert data["Solutions"][1]["previous_phase"] is data["Solutions"][0]


def test_problems_written_read_back_identically(tmp_path):
    problems = read_problems(EXAMPLES / "problem_example.yaml")
    path = tmp_path / "p.yaml"
    write_problems(path, problems.values())
    again = read_problems(path)
    assert set(again) == set(problems)
    for pid, p in problems.items():
        q = again[pid]
        assert [ic.id for ic in q.ordered_classes] == [ic.id for ic in p.ordered_classes]
        assert q.workload_matrix().tolist() == p.workload_matrix().tolist()
        assert q.data.price.tolist() == p.data.price.tolist()


def test_cli_out_writes_a_valid_solution_file(tmp_path):
    out = tmp_path / "sol.yaml"
    r = CliRunner().invoke(app, ["solve", "capacity", str(EXAMPLES / "problem3.yaml"), "--phase", "ii", "--out", str(out)])
    assert r.exit_code == 0, r.stderr
    data = yaml.safe_load(out.read_text())
    writer.validate_document(data)
    assert data["Solutions"][1]["global_solving_stats"]["optimal_cost"] == pytest.approx(226.0)
    assert "phase ii" in r.stdout and "226" in r.stdout


def test_cli_rejects_bad_options_with_exit_2():
    base = ["solve", "capacity", str(EXAMPLES / "problem1.yaml")]
    for extra in (["--phase", "iii"], ["--phase", "ii", "--relaxed"], ["--stwp", "x.csv"], ["--problem", "nope"]):
        r = CliRunner().invoke(app, base + extra)
        assert r.exit_code == 2, (extra, r.stderr)
        assert "Traceback" not in r.stderr
    r = CliRunner().invoke(app, ["solve", "capacity", str(EXAMPLES / "problem_example.yaml")])
    assert r.exit_code == 2 and "--problem" in r.stderr  # two problems in the file: which one?
