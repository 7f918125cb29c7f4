"""The solve commands and the console agree on inputs, outputs, option bounds and messages.

Found by an operator-QA pass: outputs that overwrote inputs or failed only after the solve,
NaN time limits, absurd worker counts, a paragraph-long infeasibility explanation, different
"missing database" messages, a silent Ctrl-C, no --limit-set on the solve commands, and a
console that created an empty database for a typo'd --db.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "fixtures" / "toy.json"
TOY_LIMITS = ROOT / "fixtures" / "toy-limits.json"
VBP = ROOT / "fixtures" / "placement" / "pairs.vbp"


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def no_solve(monkeypatch):
    """Fail loudly if a solver is reached: the checks under test must come first."""
    import engine.maintenance.solve as maintenance
    import engine.placement.solve as placement

    def reached(*args, **kwargs):
        raise AssertionError("the solver ran before the output was checked")

    monkeypatch.setattr(maintenance, "solve_maintenance", reached)
    monkeypatch.setattr(placement, "solve_placement", reached)


@pytest.fixture
def toy_db(tmp_path) -> Path:
    db = tmp_path / "fleet.db"
    assert run("load", TOY, "--db", db).exit_code == 0
    return db


@pytest.fixture
def placement_snapshot(tmp_path) -> Path:
    from engine.placement.generate import exact_fit

    path = tmp_path / "small.json"
    path.write_text(json.dumps(exact_fit(6, 3, seed=1)))
    return path


# --------------------------------------------------------------------------- outputs over inputs


@pytest.mark.parametrize("option", ["--out", "--csv"])
def test_maintenance_output_onto_its_snapshot_is_refused(tmp_path, no_solve, option):
    snapshot = tmp_path / "toy.json"
    snapshot.write_bytes(TOY.read_bytes())
    r = run("solve", "maintenance", "--snapshot", snapshot, option, snapshot)
    assert r.exit_code == 2, r.output
    assert f"{option} {snapshot}: is also an input" in r.output
    assert snapshot.read_bytes() == TOY.read_bytes()


def test_maintenance_out_onto_its_limits_or_database_is_refused(tmp_path, toy_db, no_solve):
    limits = tmp_path / "limits.json"
    limits.write_bytes(TOY_LIMITS.read_bytes())
    r = run("solve", "maintenance", "--snapshot", TOY, "--limits", limits, "--out", limits)
    assert r.exit_code == 2 and "is also an input" in r.output
    assert limits.read_bytes() == TOY_LIMITS.read_bytes()
    before = toy_db.read_bytes()
    r = run("solve", "maintenance", "--db", toy_db, "--csv", toy_db)
    assert r.exit_code == 2 and "is also an input" in r.output
    assert toy_db.read_bytes() == before


@pytest.mark.parametrize("option", ["--out", "--csv"])
def test_maintenance_output_into_a_missing_directory_fails_before_solving(tmp_path, no_solve, option):
    target = tmp_path / "nope" / "plan.out"
    r = run("solve", "maintenance", "--snapshot", TOY, option, target)
    assert r.exit_code == 2, r.output
    assert f"directory {target.parent} does not exist" in r.output


def test_maintenance_out_and_csv_must_differ(tmp_path, no_solve):
    same = tmp_path / "plan.json"
    r = run("solve", "maintenance", "--snapshot", TOY, "--out", same, "--csv", same)
    assert r.exit_code == 2 and "--out and --csv name the same file" in r.output
    assert not same.exists()


def test_placement_out_is_checked_before_solving(tmp_path, placement_snapshot, no_solve):
    before = placement_snapshot.read_bytes()
    onto = run("solve", "placement", "--snapshot", placement_snapshot, "--out", placement_snapshot)
    assert onto.exit_code == 2 and "is also an input" in onto.output
    assert placement_snapshot.read_bytes() == before
    missing = run("solve", "placement", "--snapshot", placement_snapshot, "--out", tmp_path / "nope" / "p.json")
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_import_vbp_out_is_checked_first(tmp_path):
    vbp = tmp_path / "pairs.vbp"
    vbp.write_bytes(VBP.read_bytes())
    onto = run("import-vbp", vbp, "--out", vbp)
    assert onto.exit_code == 2 and "is also an input" in onto.output
    assert vbp.read_bytes() == VBP.read_bytes()
    missing = run("import-vbp", vbp, "--out", tmp_path / "nope" / "s.json")
    assert missing.exit_code == 2 and "does not exist" in missing.output
    ok = run("import-vbp", vbp, "--out", tmp_path / "s.json")
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / "s.json").read_text())["vms"]


# --------------------------------------------------------------------------- option bounds


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "1e9"])
@pytest.mark.parametrize("command", ["maintenance", "placement"])
def test_time_limit_must_be_finite_positive_and_sensible(command, value, no_solve, placement_snapshot):
    snapshot = TOY if command == "maintenance" else placement_snapshot
    r = run("solve", command, "--snapshot", snapshot, "--time-limit", value)
    assert r.exit_code == 2, r.output
    assert "--time-limit" in r.output


@pytest.mark.parametrize("value", ["nan", "inf", "0", "1e9"])
def test_capacity_time_limit_uses_the_same_check(value):
    problem = next(iter(sorted((ROOT / "tests" / "malloovia_oracle").glob("*.yaml"))), None)
    problem = problem or Path("/work/shared/malloovia-examples/problem1.yaml")
    r = run("solve", "capacity", problem, "--time-limit", value)
    assert r.exit_code == 2, r.output
    assert "--time-limit must be a positive, finite number" in r.output or "is too long" in r.output


def test_the_same_time_limit_message_everywhere(placement_snapshot, no_solve):
    a = run("solve", "maintenance", "--snapshot", TOY, "--time-limit", "nan")
    b = run("solve", "placement", "--snapshot", placement_snapshot, "--time-limit", "nan")
    assert a.output == b.output == "error: --time-limit must be a positive, finite number of seconds, got nan\n"


@pytest.mark.parametrize("value", ["0", "100000"])
@pytest.mark.parametrize("command", ["maintenance", "placement"])
def test_workers_out_of_range_is_bad_input(command, value, no_solve, placement_snapshot):
    from engine.checks import MAX_WORKERS

    snapshot = TOY if command == "maintenance" else placement_snapshot
    r = run("solve", command, "--snapshot", snapshot, "--workers", value)
    assert r.exit_code == 2, r.output
    assert f"--workers must be between 1 and {MAX_WORKERS}, got {value}" in r.output


def test_a_small_time_limit_still_solves():
    r = run("solve", "maintenance", "--snapshot", TOY, "--limits", TOY_LIMITS, "--solver", "heuristic",
            "--time-limit", "0.05", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] in ("optimal", "feasible")


# --------------------------------------------------------------------------- infeasible explanations


def test_infeasible_reasons_are_one_line_each(tmp_path):
    data = json.loads(TOY.read_text())
    data["hosts"][1]["memory_gb"] = 20  # no room for the three VMs
    snapshot = tmp_path / "tight.json"
    snapshot.write_text(json.dumps(data))
    limits = tmp_path / "zero.json"
    limits.write_text('{"conflict": {"per_customer": 0}, "capacity": {"rolling": false}}')
    r = run("solve", "maintenance", "--snapshot", snapshot, "--limits", limits, "--solver", "heuristic")
    assert r.exit_code == 3, r.output
    lines = r.stdout.splitlines()
    reasons = [line for line in lines if line.startswith("  - ")]
    for customer, vm in (("c1", "vm1"), ("c2", "vm2"), ("c3", "vm3")):
        assert any(line.startswith(f"  - customer {customer}: its conflict limit is 0") and line.endswith(vm + " must migrate from h1")
                   for line in reasons), r.stdout
    room = [line for line in reasons if line.startswith("  - datacenter dc1:")]
    assert len(room) == 1 and room[0].endswith("(memory_gb 48 > 20; capacity.headroom applies)")
    assert f"explanation ({len(reasons)} reasons):" in lines
    js = run("solve", "maintenance", "--snapshot", snapshot, "--limits", limits, "--solver", "heuristic", "--json")
    assert js.exit_code == 3
    assert json.loads(js.stdout)["explanation"].count("; customer ") == 2  # the plan document is unchanged


def test_explanation_lines_keep_bracketed_semicolons():
    from console.cli.solve_common import explanation_lines

    text = "a: first; b: room (x 1 > 0; y 2 > 1); c [p; q] last"
    assert explanation_lines(text) == ["a: first", "b: room (x 1 > 0; y 2 > 1)", "c [p; q] last"]
    assert explanation_lines(None) == [] and explanation_lines("one") == ["one"]


# --------------------------------------------------------------------------- missing databases


@pytest.mark.parametrize("command", [["solve", "maintenance"], ["solve", "placement"], ["console"], ["fleet"],
                                     ["runs", "list"]])
def test_a_missing_database_is_the_same_message_everywhere_and_is_not_created(tmp_path, command):
    db = tmp_path / "typo.db"
    r = run(*command, "--db", db)
    assert r.exit_code == 2, r.output
    assert r.output == f"error: no database at {db}: load a snapshot first (fleetctl load FILE --db {db})\n"
    assert list(tmp_path.iterdir()) == []  # no database, -wal or -shm file


def test_console_limits_option_is_now_limit_set(tmp_path):
    r = run("console", "--db", tmp_path / "f.db", "--limits", "demo")
    assert r.exit_code == 2 and "No such option" in r.output
    help_text = run("console", "--help").output
    assert "--limit-set" in help_text
    assert "--limit-set demo" in (ROOT / "Makefile").read_text()


# --------------------------------------------------------------------------- Ctrl-C before the solve


def test_ctrl_c_while_reading_inputs_says_nothing_was_written(tmp_path, monkeypatch):
    import engine.documents as documents

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(documents, "load_snapshot", interrupted)
    out = tmp_path / "plan.json"
    for command in ("maintenance", "placement"):
        r = run("solve", command, "--snapshot", TOY, "--out", out)
        assert r.exit_code == 130, r.output
        assert "interrupted before the solve started; nothing written" in r.output
    assert not out.exists()


# --------------------------------------------------------------------------- --limit-set


@pytest.fixture
def zero_set(tmp_path, toy_db) -> Path:
    zero = tmp_path / "zero.json"
    zero.write_text('{"conflict": {"per_customer": 0}}')
    assert run("limits", "save", "zero", zero, "--db", toy_db).exit_code == 0
    assert run("limits", "save", "toy", TOY_LIMITS, "--db", toy_db).exit_code == 0
    return toy_db


def test_maintenance_reads_a_saved_limit_set(zero_set):
    ok = run("solve", "maintenance", "--db", zero_set, "--limit-set", "toy", "--solver", "heuristic", "--json")
    assert ok.exit_code == 0, ok.output
    starved = run("solve", "maintenance", "--db", zero_set, "--limit-set", "zero", "--solver", "heuristic", "--json")
    assert starved.exit_code == 3, starved.output
    assert "conflict.per_customer" in json.loads(starved.stdout)["explanation"]


def test_a_limit_set_with_a_snapshot_file_reads_the_set_from_db(zero_set):
    r = run("solve", "maintenance", "--snapshot", TOY, "--db", zero_set, "--limit-set", "zero", "--solver", "heuristic")
    assert r.exit_code == 3, r.output
    both = run("solve", "maintenance", "--snapshot", TOY, "--db", zero_set)
    assert both.exit_code == 2 and "give either --db or --snapshot" in both.output


def test_limit_set_errors(zero_set, no_solve):
    both = run("solve", "maintenance", "--db", zero_set, "--limit-set", "zero", "--limits", TOY_LIMITS)
    assert both.exit_code == 2 and "give either --limits FILE or --limit-set NAME" in both.output
    unknown = run("solve", "placement", "--db", zero_set, "--limit-set", "nope")
    assert unknown.exit_code == 2 and "no limit set named 'nope'" in unknown.output


def test_placement_reads_a_saved_limit_set(tmp_path, placement_snapshot):
    db = tmp_path / "sets.db"
    balance = tmp_path / "balance.json"
    balance.write_text('{"placement": {"objective": "balance"}}')
    assert run("limits", "save", "bal", balance, "--db", db).exit_code == 0
    r = run("solve", "placement", "--snapshot", placement_snapshot, "--db", db, "--limit-set", "bal",
            "--solver", "ffd", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["objective"] == "balance"


def test_background_keeps_the_limit_set_name(zero_set, monkeypatch):
    import console.cli.solve_common as solve_common

    queued = {}
    monkeypatch.setattr(solve_common, "submit_background", lambda db, kind, **kw: queued.update(kw, kind=kind, db=db))
    r = run("solve", "maintenance", "--db", zero_set, "--limit-set", "zero", "--background")
    assert r.exit_code == 0, r.output
    assert queued["kind"] == "maintenance" and queued["limits_name"] == "zero" and queued["db"].path == zero_set
    assert queued["limits"].conflict.per_customer == 0
    refused = run("solve", "placement", "--db", zero_set, "--background", "--out", zero_set.parent / "p.json")
    assert refused.exit_code == 2 and "--out cannot be used with --background" in refused.output
