"""Bounded input (issue 11 item 6): every document fleetctl reads has a size limit checked before
parsing, only regular files are read (a device or FIFO is refused at once, never waited on),
nesting is bounded, numbers that overflow are clear errors, and a repeated mistake is printed at
most 50 times. Each refusal: exit 2, a message, no traceback, the database unchanged."""

from __future__ import annotations

import json
import os
import time

import pytest

from engine.documents import PROBLEMS_PER_KIND, shown_problems
from tests.input_support import (TOY, TOY_LIMITS, VBP, assert_refused, capacity_file, digest, run, run_process, toy_db,
                                 toy_doc, write_json)

NOT_REGULAR = "is not a regular file"


def test_load_dev_zero_exits_2_at_once(tmp_path):
    db = toy_db(tmp_path)
    before = digest(db)
    started = time.monotonic()
    r = run_process("load", "/dev/zero", "--db", db, "--replace", timeout=30)
    assert time.monotonic() - started < 30
    assert_refused(r, "/dev/zero", NOT_REGULAR)
    assert digest(db) == before


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


def _commands_reading(path, tmp_path, db):
    """Every command that reads a document, reading `path` in that document's place."""
    problem = capacity_file(tmp_path / "cap")
    return {
        "snapshot": ("load", path, "--db", db, "--replace"),
        "limits": ("limits", "save", "x", path, "--db", db),
        "plan": ("check", TOY, TOY_LIMITS, path),
        "check-snapshot": ("check", path, TOY_LIMITS, path),
        "capacity yaml": ("solve", "capacity", path),
        "capacity submit": ("runs", "submit", "capacity", "--problem-file", path, "--problem", "p", "--db", db),
        "stwp csv": ("solve", "capacity", problem, "--phase", "ii", "--stwp", path),
        "vbp": ("import-vbp", path),
        "solve snapshot": ("solve", "maintenance", "--snapshot", path),
    }


@pytest.mark.parametrize("what", ["snapshot", "limits", "plan", "capacity yaml", "capacity submit", "stwp csv", "vbp",
                                  "solve snapshot"])
def test_a_fifo_is_refused_never_waited_on(tmp_path, fifo, what):
    db = toy_db(tmp_path)
    before = digest(db)
    args = _commands_reading(fifo, tmp_path, db)[what]
    r = run_process(*args, timeout=60)  # without the fix: blocks forever opening the FIFO
    assert_refused(r, NOT_REGULAR)
    assert digest(db) == before


@pytest.mark.parametrize("what", ["snapshot", "limits", "plan", "capacity yaml", "capacity submit", "stwp csv", "vbp"])
def test_size_limit_is_checked_before_parsing_for_every_document(tmp_path, what):
    db = toy_db(tmp_path)
    before = digest(db)
    big = tmp_path / ("big.vbp" if what == "vbp" else "big.csv" if what == "stwp csv" else "big.yaml"
                      if "capacity" in what else "big.json")
    big.write_bytes(b" " * 5000)  # blank: only the size can be wrong with it
    args = _commands_reading(big, tmp_path, db)[what]
    r = run(*args, env={"FLEETCTL_MAX_INPUT_BYTES": "4096"})
    assert_refused(r, "5,000 bytes, over the input limit of 4,096 bytes", "FLEETCTL_MAX_INPUT_BYTES")
    assert digest(db) == before
    r = run("--max-input-bytes", "4096", *args)  # the option says the same
    assert_refused(r, "over the input limit of 4,096 bytes")


def test_workload_csv_named_by_a_problem_file_has_the_size_limit_too(tmp_path):
    problem = capacity_file(tmp_path, "filename: load.csv")
    (tmp_path / "load.csv").write_text("1\n" * 3000)
    r = run("--max-input-bytes", "5000", "solve", "capacity", problem)
    assert_refused(r, "'load.csv'", "over the input limit of 5,000 bytes")


def test_the_limit_can_be_raised_and_a_bad_limit_is_refused(tmp_path):
    db = tmp_path / "f.db"
    r = run("--max-input-bytes", str(TOY.stat().st_size), "load", TOY, "--db", db)
    assert r.exit_code == 0, r.output
    r = run("load", TOY, "--db", db, "--replace", env={"FLEETCTL_MAX_INPUT_BYTES": "lots"})
    assert r.exit_code == 2 and "FLEETCTL_MAX_INPUT_BYTES" in r.output


def test_a_directory_is_refused(tmp_path):
    assert_refused(run("load", tmp_path, "--db", tmp_path / "f.db"), "is a directory")
    assert not (tmp_path / "f.db").exists()


@pytest.mark.parametrize("depth", [100, 5000])
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_deep_nesting_is_a_clear_error(tmp_path, depth, suffix):
    db = toy_db(tmp_path)
    before = digest(db)
    path = tmp_path / f"deep{suffix}"
    path.write_text("{\"name\": " + "[" * depth + "1" + "]" * depth + "}")  # json.dumps itself recurses
    r = run("load", path, "--db", db, "--replace")
    assert_refused(r, "nested deeper than 64 levels")
    assert digest(db) == before
    r = run("limits", "save", "deep", path, "--db", db)
    assert_refused(r, "nested deeper than 64 levels")
    assert digest(db) == before


def test_deep_nesting_in_a_capacity_file(tmp_path):
    problem = capacity_file(tmp_path, "values: [10, 20, 30], description: " + "[" * 900 + "]" * 900)
    assert_refused(run("solve", "capacity", problem), "nested")
    problem = capacity_file(tmp_path, "values: [10, 20, 30], description: " + "[" * 80 + "]" * 80)
    assert_refused(run("solve", "capacity", problem), "nested deeper than 64 levels")


def test_yaml_aliases_are_measured_once_and_cycles_refused(tmp_path):
    laughs = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))
    path = tmp_path / "laughs.yaml"
    path.write_text(laughs + "name: x\n")
    started = time.monotonic()
    r = run("load", path, "--db", tmp_path / "f.db")
    assert time.monotonic() - started < 20  # 9**10 leaves, never walked one by one
    assert_refused(r, "unknown key")
    path.write_text("&a [*a]\n")
    assert_refused(run("load", path, "--db", tmp_path / "f.db"), "alias that contains itself")
    assert not (tmp_path / "f.db").exists()


def _plan(tmp_path, end: str):
    r = run("solve", "maintenance", "--snapshot", TOY, "--limits", TOY_LIMITS, "--solver", "heuristic", "--json")
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout)
    plan["migrations"][0]["end"] = "END"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan).replace('"END"', end))
    return path


@pytest.mark.parametrize("end, message", [("1" + "0" * 30, "is too large (at most 1e+12 minutes)"),
                                          ("1e30", "field end: Input is too large"),
                                          ("9" * 5000, "number is too long")])
def test_check_with_a_huge_end_exits_2(tmp_path, end, message):
    assert_refused(run("check", TOY, TOY_LIMITS, _plan(tmp_path, end)), message)


@pytest.mark.parametrize("field, value, message", [
    ("cpu", "1e308", "is too large (at most 1e+09)"),
    ("cpu", "1e999", "finite"),
    ("cpu", "-1e999", "finite"),
    ("migration_minutes", "9" * 40, "is too large (at most 10000000 minutes)"),
    ("cpu", "9" * 400, "Input is too large (400 digits)"),
    ("cpu", "9" * 5000, "number is too long"),
])
def test_numeric_overflows_in_a_snapshot_are_clear_errors(tmp_path, field, value, message):
    db = toy_db(tmp_path)
    before = digest(db)
    doc = toy_doc()
    doc["vms"][0][field] = "VALUE"
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc).replace('"VALUE"', value))
    assert_refused(run("load", path, "--db", db, "--replace"), message)
    assert digest(db) == before


def test_minus_zero_is_zero_refused_for_a_host_and_allowed_for_a_vm(tmp_path):
    db = toy_db(tmp_path)
    before = digest(db)
    doc = toy_doc()
    doc["hosts"][0]["cpu"] = "VALUE"
    path = tmp_path / "host.json"
    path.write_text(json.dumps(doc).replace('"VALUE"', "-0"))
    assert_refused(run("load", path, "--db", db, "--replace"), "capacity must be positive, got 0")
    assert digest(db) == before
    doc = toy_doc()
    doc["vms"][0]["cpu"] = "VALUE"  # a VM may need none of a resource (FORMATS.md)
    path.write_text(json.dumps(doc).replace('"VALUE"', "-0"))
    done = run("load", path, "--db", db, "--replace")
    assert getattr(done, "exit_code", getattr(done, "returncode", None)) == 0


def test_limits_with_infinite_and_huge_values_list_every_problem(tmp_path):
    path = tmp_path / "limits.json"
    path.write_text('{"capacity": {"headroom": {"cpu": Infinity}}, "migration": {"gb_per_minute": -Infinity},'
                    ' "concurrency": {"global": 1e400}, "solve": {"seed": 99999999999}}')
    out = assert_refused(run("limits", "save", "x", path, "--db", tmp_path / "f.db"))
    assert "capacity.headroom field cpu: Input should be a finite number, got Infinity" in out
    assert "migration field gb_per_minute: Input should be a finite number, got -Infinity" in out
    assert not (tmp_path / "f.db").exists()


def test_a_repeated_mistake_prints_50_lines_and_a_count(tmp_path):
    db = toy_db(tmp_path)
    before = digest(db)
    doc = toy_doc()
    vm = doc["vms"][0]
    doc["vms"] = [{**vm, "id": f"v{i}", "cpu": -1} for i in range(20_000)]
    doc["vms"].append({**vm, "id": "odd", "migratable": "no"})
    r = run("load", write_json(tmp_path / "many.json", doc), "--db", db, "--replace")
    out = assert_refused(r, "20001 problem(s)", "… and 19950 more of this kind",
                         "vms[20000] 'odd' field migratable: Input should be true or false, got 'no'")
    assert out.count("greater than or equal to 0") == PROBLEMS_PER_KIND
    assert len(out.splitlines()) < 60
    assert digest(db) == before


def test_problem_cap_keeps_order_and_every_kind():
    problems = [f"vm 'v{i}' field cpu: bad {i}" for i in range(120)] + ["limits: other"] + ["host 'h' field x: y"]
    shown = shown_problems(problems)
    assert shown[:50] == problems[:50]
    assert shown[50] == "… and 70 more of this kind"
    assert shown[51:] == ["limits: other", "host 'h' field x: y"]
    assert shown_problems(problems[:50]) == problems[:50]


def test_vbp_with_a_binary_file_is_exit_2(tmp_path):
    path = tmp_path / "bin.vbp"
    path.write_bytes(VBP.read_bytes()[:10] + b"\xff\xfe\x00")
    assert_refused(run("import-vbp", path), "not UTF-8")


def test_control_characters_in_yaml_are_one_line_without_the_text(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_bytes(b"name: SECRET=1\x00PATH=/bin\n")
    out = assert_refused(run("load", path, "--db", tmp_path / "f.db"), "invalid YAML: character #x0000 at position 14")
    assert "SECRET" not in out and "<unicode string>" not in out
