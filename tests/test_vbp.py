"""VPSolver .vbp import: parsing, zero sizes kept, clear errors, solving the result."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from console.cli.main import app
from engine.documents import parse_snapshot
from engine.model import Limits
from engine.placement.solve import solve_placement
from engine.placement.vbp import VbpError, build_snapshot, parse_vbp

# 2-D, bins 10 × 10; 3 + 3 items that pair up exactly into 3 bins: (6,4)+(4,6)
PAIRS = """2
10 10
2
6 4 3
4 6 3
"""


def test_parse_reads_dims_capacity_and_multiplicities():
    capacity, types = parse_vbp(PAIRS)
    assert capacity == [10, 10]
    assert types == [([6, 4], 3), ([4, 6], 3)]


def test_snapshot_has_pending_vms_and_identical_active_hosts():
    doc = build_snapshot(*parse_vbp(PAIRS))
    snap = parse_snapshot(doc)
    assert len(snap.vms) == 6 and all(v.host is None for v in snap.vms)
    assert {(h.cpu, h.memory_gb, h.state) for h in snap.hosts} == {(10, 10, "active")}
    assert len(snap.hosts) >= 3
    # the missing third dimension never binds: demand 0, capacity 1
    assert {h.disk_gb for h in snap.hosts} == {1} and {v.disk_gb for v in snap.vms} == {0}


def test_the_imported_instance_solves_to_its_optimum():
    snap = parse_snapshot(build_snapshot(*parse_vbp(PAIRS)))
    plan = solve_placement(snap, Limits(), solver="auto", time_limit_s=5)
    assert plan.value == 3 and plan.status == "optimal"


def test_zero_sizes_are_kept():
    # (5,0) twice and (0,10) once fit one bin of 10×10 exactly.
    text = "2\n10 10\n2\n5 0 2\n0 10 1\n"
    doc = build_snapshot(*parse_vbp(text))
    snap = parse_snapshot(doc)
    assert sorted((v.cpu, v.memory_gb, v.disk_gb) for v in snap.vms) == [(0, 10, 0), (5, 0, 0), (5, 0, 0)]
    plan = solve_placement(snap, Limits(), solver="cp-sat", time_limit_s=5)
    assert plan.value == 1
    # …and what did not fit still does not: (6,0) twice overflow the first dimension.
    snap = parse_snapshot(build_snapshot(*parse_vbp("2\n10 10\n2\n6 0 2\n0 10 1\n")))
    assert solve_placement(snap, Limits(), solver="cp-sat", time_limit_s=5).value == 2


def test_line_breaks_do_not_matter():
    assert parse_vbp("2 10 10 2 6 4 3 4 6 3") == parse_vbp(PAIRS)


@pytest.mark.parametrize("text,fragment", [
    ("", "empty"),
    ("2\n10 ten\n", "not an integer"),
    ("4\n1 1 1 1\n1\n1 1 1 1 1\n", "at most 3"),
    ("2\n10 10\n2\n6 4 3\n", "need 6 integers"),
    ("2\n10 0\n1\n1 1 1\n", "must be positive"),
    ("2\n10 10\n1\n11 1 1\n", "exceeds the bin capacity"),
    ("2\n10 10\n1\n1 1 0\n", "no items"),
    ("0\n", "at least 1"),
])
def test_bad_files_are_explained(text, fragment):
    with pytest.raises(VbpError) as info:
        parse_vbp(text, "bad.vbp")
    assert any(fragment in p for p in info.value.problems), info.value.problems


def test_cli_writes_a_valid_snapshot(tmp_path):
    src = tmp_path / "pairs.vbp"
    src.write_text(PAIRS)
    out = tmp_path / "snap.json"
    r = CliRunner().invoke(app, ["import-vbp", str(src), "--out", str(out)])
    assert r.exit_code == 0, r.output
    snap = parse_snapshot(json.loads(out.read_text()))
    assert len(snap.vms) == 6
    r = CliRunner().invoke(app, ["solve", "placement", "--snapshot", str(out), "--json", "--time-limit", "5"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["value"] == 3


def test_cli_rejects_a_bad_file_with_exit_2(tmp_path):
    src = tmp_path / "bad.vbp"
    src.write_text("2\n10 10\n3\n1 1 1\n")
    r = CliRunner().invoke(app, ["import-vbp", str(src)])
    assert r.exit_code == 2
    assert "need 9 integers" in r.output
    r = CliRunner().invoke(app, ["import-vbp", str(tmp_path / "missing.vbp")])
    assert r.exit_code == 2 and "not found" in r.output


def test_a_bad_token_is_quoted_short_and_escaped(tmp_path):
    """A megabyte of garbage in one token is quoted as a short excerpt with its length, and control
    characters (an ANSI escape, a bell, a bidi override) are escaped, not sent to the terminal."""
    garbage = "\x1b[31mRED\x07\u202e" + "x" * 1_000_000
    with pytest.raises(VbpError) as info:
        parse_vbp(f"2\n10 {garbage}\n", "bad.vbp")
    [problem] = info.value.problems
    assert len(problem) < 120 and f"{len(garbage):,} characters" in problem and "token 3" in problem
    assert "\\x1b[31mRED\\x07\\u202e" in problem
    assert not any(ord(ch) < 32 or ord(ch) == 0x7F or ch == "\u202e" for ch in problem)
    src = tmp_path / "garbage.vbp"
    src.write_text(f"2\n10 {garbage}\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["import-vbp", str(src)])
    assert r.exit_code == 2 and "not an integer" in r.output and len(r.output) < 1000
    assert "\x1b" not in r.output and "\x07" not in r.output and "\u202e" not in r.output


def test_a_short_bad_token_is_quoted_whole():
    with pytest.raises(VbpError) as info:
        parse_vbp("2\n10 ten\n", "bad.vbp")
    assert info.value.problems == ["token 3 'ten' is not an integer"]
