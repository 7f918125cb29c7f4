"""Strict values (issue 11 item 6): a boolean is JSON true/false (pydantic's lax mode read
"migratable": "no" as false and 1 as true), NaN is "not a number" (not "should be ≥ 0"), and
Infinity is "not finite" — in snapshots, limits, plans and capacity files alike."""

from __future__ import annotations

import json

import pytest

from tests.input_support import TOY, TOY_LIMITS, assert_refused, capacity_file, digest, run, toy_db, toy_doc


@pytest.mark.parametrize("value, shown", [('"no"', "'no'"), ("1", "1"), ('"true"', "'true'"), ("0", "0"),
                                          ("null", "None")])
def test_migratable_must_be_true_or_false(tmp_path, value, shown):
    db = toy_db(tmp_path)
    before = digest(db)
    doc = toy_doc()
    doc["vms"][1]["migratable"] = "VALUE"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc).replace('"VALUE"', value))
    assert_refused(run("load", path, "--db", db, "--replace"),
                   f"vms[1] 'vm2' field migratable: Input should be true or false, got {shown}")
    assert digest(db) == before


@pytest.mark.parametrize("value", ['"yes"', "1", '"off"'])
def test_rolling_must_be_true_or_false(tmp_path, value):
    path = tmp_path / "l.json"
    path.write_text('{"capacity": {"rolling": VALUE}}'.replace("VALUE", value))
    db = toy_db(tmp_path)
    before = digest(db)
    assert_refused(run("limits", "save", "x", path, "--db", db), "capacity field rolling: Input should be true or false")
    assert digest(db) == before


def test_yaml_booleans_are_still_booleans(tmp_path):
    doc = toy_doc()
    doc["vms"][1]["migratable"] = False
    text = json.dumps(doc).replace("false", "no")  # YAML 1.1 reads a bare no as false: the document says false
    path = tmp_path / "s.yaml"
    path.write_text(text)
    assert run("load", path, "--db", tmp_path / "f.db").exit_code == 0


@pytest.mark.parametrize("field", ["cpu", "memory_gb", "migration_gbps"])
def test_nan_is_not_a_number(tmp_path, field):
    db = toy_db(tmp_path)
    before = digest(db)
    doc = toy_doc()
    doc["vms"][0][field] = float("nan")
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    out = assert_refused(run("load", path, "--db", db, "--replace"), f"'vm1' field {field}: Input is not a number (NaN)")
    assert "greater than" not in out
    assert digest(db) == before


@pytest.mark.parametrize("text, expected", [
    ('{"migration": {"gb_per_minute": NaN}}', "migration field gb_per_minute: Input is not a number (NaN)"),
    ('{"capacity": {"headroom": {"cpu": NaN}}}', "capacity.headroom field cpu: Input is not a number (NaN)"),
    ('{"capacity": {"headroom": {"cpu": Infinity}}}', "capacity.headroom field cpu: Input should be a finite number"),
    ('{"migration": {"default_gbps": -Infinity}}', "migration field default_gbps: Input should be a finite number, got -Infinity"),
    ('{"migration": {"gb_per_minute": Infinity}}', "migration field gb_per_minute: inf must be between"),
])
def test_nan_and_infinity_in_limits(tmp_path, text, expected):
    path = tmp_path / "l.json"
    path.write_text(text)
    assert_refused(run("limits", "save", "x", path, "--db", tmp_path / "f.db"), expected)
    assert not (tmp_path / "f.db").exists()


def test_infinity_in_a_snapshot(tmp_path):
    doc = toy_doc()
    doc["hosts"][0]["cpu"] = float("inf")
    doc["vms"][0]["cpu"] = float("-inf")
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    assert_refused(run("load", path, "--db", tmp_path / "f.db"), "host 'h1' field cpu: must be a finite number",
                   "'vm1' field cpu: Input should be a finite number, got -Infinity")


def test_nan_in_a_placement_plan(tmp_path):
    doc = toy_doc()
    doc["vms"][0]["host"] = None
    snap = tmp_path / "s.json"
    snap.write_text(json.dumps(doc))
    plan = {"kind": "placement", "status": "feasible", "value": float("nan"), "solver": {"name": "x"},
            "assignments": [{"vm": "vm1", "host": "h2"}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(plan))
    assert_refused(run("check", snap, TOY_LIMITS, path), "value: Input is not a number (NaN)")
    plan["value"] = float("inf")
    path.write_text(json.dumps(plan))
    assert_refused(run("check", snap, TOY_LIMITS, path), "field value: must be a finite number")


@pytest.mark.parametrize("old, new, expected", [
    ("is_reserved: true", "is_reserved: 1", "field 'is_reserved' must be true or false, got 1"),
    ("is_reserved: true", "is_reserved: 'no'", "field 'is_reserved' must be true or false, got 'no'"),
    ("price: 876", "price: .nan", "field 'price' is not a number (NaN)"),
    ("price: 876", "price: .inf", "field 'price' must be a number ≥ 0, got Infinity"),
    ("price: 876", "price: " + "9" * 30, "too large, at most 1e+15"),
    ("values: [10, 20, 30]", "values: [10, .nan, 30]", "bad: [1]=NaN (not a number)"),
    ("max_vms: 10", "max_vms: " + "9" * 5000, "number is too long"),
])
def test_capacity_values_are_strict(tmp_path, old, new, expected):
    problem = capacity_file(tmp_path)
    text = problem.read_text()
    assert old in text
    problem.write_text(text.replace(old, new, 1))
    assert_refused(run("solve", "capacity", problem), expected)


def test_check_still_accepts_a_good_plan(tmp_path):
    r = run("solve", "maintenance", "--snapshot", TOY, "--limits", TOY_LIMITS, "--solver", "heuristic", "--out",
            tmp_path / "plan.json")
    assert r.exit_code == 0, r.output
    r = run("check", TOY, TOY_LIMITS, tmp_path / "plan.json")
    assert r.exit_code == 0 and r.output.startswith("valid"), r.output
