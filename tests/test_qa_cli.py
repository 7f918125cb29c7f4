"""Operator QA regressions: user mistakes found by driving the CLI end to end.

Each test is one mistake an operator made that once ended in a traceback, a
misleading message or a wrong exit code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
MALLOOVIA = Path("/work/shared/malloovia-examples/problem1.yaml")
LOCAL_PROBLEM = ROOT / "tests" / "malloovia_oracle"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def _problem_file() -> Path:
    if MALLOOVIA.exists():
        return MALLOOVIA
    found = sorted(LOCAL_PROBLEM.glob("*.yaml"))
    if not found:
        pytest.fail("no Malloovia problem file to test with")
    return found[0]


# --------------------------------------------------------------------------- unwritable outputs


@pytest.mark.parametrize("target", ["missing-dir/out.json", "."])
def test_generate_out_unwritable_is_a_clear_error(tmp_path, target):
    out = tmp_path / target
    r = run("generate", "--vms", "5", "--out", str(out))
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "--out" in r.output and str(out) in r.output


def test_export_out_into_missing_directory(tmp_path):
    db = tmp_path / "f.db"
    snap = tmp_path / "s.json"
    assert run("generate", "--vms", "5", "--out", str(snap)).exit_code == 0
    assert run("load", str(snap), "--db", str(db)).exit_code == 0
    r = run("export", "--db", str(db), "--out", str(tmp_path / "nope" / "back.json"))
    assert r.exit_code == 2, r.output
    assert "does not exist" in r.output


def test_capacity_out_checked_before_solving(tmp_path):
    r = run("solve", "capacity", str(_problem_file()), "--out", str(tmp_path / "nope" / "s.yaml"))
    assert r.exit_code == 2, r.output
    assert "does not exist" in r.output
    assert "status" not in r.output  # failed before any solve


def test_entry_point_turns_a_file_error_into_one_line(tmp_path):
    """The console script's safety net: an OSError naming a file never prints a traceback."""
    code = ("import sys\n"
            "from console.cli import main as m\n"
            "def boom():\n"
            "    open(sys.argv[1] + '/x/y.json', 'w')\n"
            "m.app = boom\n"
            "m.main()\n")
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert "y.json" in p.stderr and "No such file" in p.stderr


# --------------------------------------------------------------------------- snapshot messages


def _small_snapshot(tmp_path) -> dict:
    out = tmp_path / "s.json"
    assert run("generate", "--vms", "6", "--out", str(out)).exit_code == 0
    return json.loads(out.read_text())


def test_duplicate_ids_name_their_document_positions_when_another_record_is_invalid(tmp_path):
    """An invalid record before the duplicates used to shift the positions reported (vms[0], vms[1])."""
    doc = _small_snapshot(tmp_path)
    doc["vms"][0]["id"] = ""                       # invalid on its own
    doc["vms"][1]["id"] = doc["vms"][2]["id"]      # duplicates at positions 1 and 2
    doc["vms"][3]["cpu"] = "four"                  # invalid, and a duplicate of position 4
    doc["vms"][3]["id"] = doc["vms"][4]["id"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    r = run("load", str(path), "--db", str(tmp_path / "f.db"))
    assert r.exit_code == 2
    dup = doc["vms"][2]["id"]
    assert f"vm {dup!r} field id: duplicate id, appears 2 times (vms[1], vms[2])" in r.output
    dup2 = doc["vms"][4]["id"]
    assert f"vm {dup2!r} field id: duplicate id, appears 2 times (vms[3], vms[4])" in r.output
    assert not (tmp_path / "f.db").exists()


def test_yaml_syntax_error_names_line_and_column_not_a_unicode_string(tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text("version: 1\n  name: [\n")
    r = run("load", str(path), "--db", str(tmp_path / "f.db"))
    assert r.exit_code == 2
    assert "invalid YAML at line 2, column 7: mapping values are not allowed here" in r.output
    assert "<unicode string>" not in r.output


# --------------------------------------------------------------------------- plan messages


@pytest.fixture
def toy(tmp_path):
    fixtures = ROOT / "fixtures"
    plan = {"version": 1, "kind": "maintenance", "status": "optimal", "makespan": 20, "lower_bound": 20,
            "migrations": [{"vm": "vm1", "source": "h1", "target": "h2", "start": "x", "end": 10}],
            "reboots": [], "solver": {"name": "hand"}, "extra": 1}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return str(fixtures / "toy.json"), str(fixtures / "toy-limits.json"), path, plan


def test_plan_schema_errors_name_the_field_as_written(toy):
    snapshot, limits, path, _ = toy
    r = run("check", snapshot, limits, str(path))
    assert r.exit_code == 2
    assert "extra: unknown key" in r.output
    assert "migrations[0] field start: Input should be a valid integer" in r.output
    assert "plan.maintenance" not in r.output


@pytest.mark.parametrize("kind, expected", [("nope", "kind: must be one of 'maintenance', 'placement', got 'nope'"),
                                            (None, "kind: required field is missing")])
def test_plan_kind_errors_are_plain(toy, kind, expected):
    snapshot, limits, path, plan = toy
    plan = {k: v for k, v in plan.items() if k != "kind"} | ({"kind": kind} if kind else {})
    path.write_text(json.dumps(plan))
    r = run("check", snapshot, limits, str(path))
    assert r.exit_code == 2
    assert expected in r.output


# --------------------------------------------------------------------------- infeasible explanations


def test_zero_customer_limit_explanation_stays_short_and_names_the_setting(tmp_path):
    """per_customer 0 on the demo fleet once produced one sentence per customer (25 of them)."""
    from engine.documents import load_snapshot
    from engine.maintenance.explain import DETAILED, explanation
    from engine.derived import customer_limit
    from engine.model import Limits

    snapshot = load_snapshot(ROOT / "fixtures" / "demo.json")
    limits = Limits.model_validate({"conflict": {"per_customer": 0}})
    text = explanation(snapshot, limits)
    assert text is not None
    assert text.count("its conflict limit is 0 (conflict.per_customer)") == DETAILED
    rebooting = {h.id for h in snapshot.hosts if h.state == "needs_reboot"}
    starved = {v.customer for v in snapshot.vms
               if v.host in rebooting and customer_limit(v.customer, snapshot, limits) == 0}
    assert len(starved) > DETAILED + 10
    assert f"{len(starved) - DETAILED} more customer(s)" in text
    assert len(text) < 1000


# --------------------------------------------------------------------------- limit sets


def test_limits_save_says_when_it_replaces_a_set(tmp_path):
    db = str(tmp_path / "f.db")
    limits = str(ROOT / "fixtures" / "demo-limits.json")
    first = run("limits", "save", "demo", limits, "--db", db)
    assert first.exit_code == 0 and "saved limit set 'demo'" in first.output
    second = run("limits", "save", "demo", limits, "--db", db)
    assert second.exit_code == 0 and "replaced limit set 'demo'" in second.output


# --------------------------------------------------------------------------- absurd magnitudes


def test_huge_numbers_in_a_snapshot_are_bad_input_not_an_overflow(tmp_path):
    """migration_minutes 1e20 once raised OverflowError in SQLite (traceback, a new empty db file)."""
    doc = json.loads((ROOT / "fixtures" / "toy.json").read_text())
    doc["vms"][0]["migration_minutes"] = 10**20
    doc["hosts"][1]["cpu"] = 1e300
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(doc))
    db = tmp_path / "f.db"
    r = run("load", str(path), "--db", str(db))
    assert r.exit_code == 2, r.output
    assert "vm 'vm1' field migration_minutes: 100000000000000000000 is too large" in r.output
    assert "host 'h2' field cpu: 1e+300 is too large" in r.output
    assert not db.exists()
    s = run("solve", "maintenance", "--snapshot", str(path), "--solver", "heuristic")
    assert s.exit_code == 2, s.output


def test_huge_numbers_in_limits_are_bad_input(tmp_path):
    """global 1e22 overflowed CP-SAT (exit 1), a seed above 2**31 and workers 100000 crashed it."""
    path = tmp_path / "limits.json"
    path.write_text('{"concurrency": {"global": 10000000000000000000000},'
                    ' "solve": {"seed": 3000000000, "workers": 100000, "time_limit_s": Infinity}}')
    r = run("limits", "save", "x", str(path), "--db", str(tmp_path / "f.db"))
    assert r.exit_code == 2, r.output
    for field in ("concurrency field global", "solve field seed", "solve field workers", "solve field time_limit_s"):
        assert field in r.output
    s = run("solve", "maintenance", "--snapshot", str(ROOT / "fixtures" / "toy.json"), "--limits", str(path))
    assert s.exit_code == 2, s.output


# --------------------------------------------------------------------------- --db that is not a database


@pytest.mark.parametrize("command", [["runs", "list"], ["solve", "maintenance"], ["schedule", "list"],
                                     ["plan", "latest"], ["fleet"], ["load", str(ROOT / "fixtures" / "toy.json")]])
def test_db_that_is_not_a_database_is_one_line_not_a_traceback(tmp_path, command):
    """`--db fleet.json` (an easy slip) gave 200-line SQLAlchemy tracebacks in runs, worker and solve."""
    not_db = tmp_path / "fleet.json"
    not_db.write_text('{"version": 1}')
    code = "import sys; from console.cli.main import main; sys.argv = ['fleetctl'] + sys.argv[1:]; main()"
    p = subprocess.run([sys.executable, "-c", code, *command, "--db", str(not_db)],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert "not a fleetctl database" in p.stderr and str(not_db) in p.stderr
    assert not_db.read_text() == '{"version": 1}'


# --------------------------------------------------------------------------- check of an infeasible plan


def test_check_says_whether_an_infeasible_claim_is_backed_by_a_proof(tmp_path):
    """`check` called an infeasible plan "valid" even against limits under which a plan exists."""
    fixtures = ROOT / "fixtures"
    plan = {"version": 1, "kind": "maintenance", "status": "infeasible", "migrations": [], "reboots": [],
            "solver": {"name": "cp-sat"}, "explanation": "customer limit 0"}
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan))
    zero = tmp_path / "zero.json"
    zero.write_text('{"conflict": {"per_customer": 0}}')
    confirmed = run("check", str(fixtures / "toy.json"), str(zero), str(plan_path))
    assert confirmed.exit_code == 0 and "(confirmed:" in confirmed.output
    doubtful = run("check", str(fixtures / "toy.json"), str(fixtures / "toy-limits.json"), str(plan_path))
    assert doubtful.exit_code == 0 and "(not confirmed:" in doubtful.output


def test_generate_errors_name_the_options_typed():
    r = run("generate", "--racks", "0", "--reboot-fraction", "2")
    assert r.exit_code == 2
    assert "--racks must be at least 1" in r.output
    assert "--reboot-fraction must be between 0 and 1" in r.output
    assert "racks_per_datacenter" not in r.output


# --------------------------------------------------------------------------- capacity in the background


def test_capacity_background_refuses_a_bad_file_before_queuing(tmp_path):
    """A bad problem file was queued (exit 0) and only failed later in the worker."""
    bad = tmp_path / "empty.yaml"
    bad.write_text("")
    db = tmp_path / "runs.db"
    r = run("solve", "capacity", str(bad), "--problem", "x", "--background", "--db", str(db))
    assert r.exit_code == 2, r.output
    assert "Problems section" in r.output
    wrong_id = run("solve", "capacity", str(_problem_file()), "--problem", "nope", "--background", "--db", str(db))
    assert wrong_id.exit_code == 2 and "no problem with id 'nope'" in wrong_id.output
    assert not db.exists()


@pytest.mark.parametrize("args, expected", [
    (["runs", "submit", "maintenance", "--solver", "bogus"], "unknown maintenance solver 'bogus'"),
    (["runs", "submit", "placement", "--objective", "x"], "unknown placement objective 'x'"),
    (["schedule", "add", "maintenance", "--every", "1h", "--solver", "bogus", "--no-worker"],
     "unknown maintenance solver 'bogus'"),
])
def test_background_runs_refuse_unknown_solvers_before_queuing(tmp_path, args, expected):
    """`runs submit --solver bogus` was queued (exit 0) and failed later in the worker."""
    db = tmp_path / "f.db"
    assert run("load", str(ROOT / "fixtures" / "toy.json"), "--db", str(db)).exit_code == 0
    r = run(*args, "--db", str(db))
    assert r.exit_code == 2, r.output
    assert expected in r.output
    listed = run("runs", "list", "--db", str(db), "--json")
    assert json.loads(listed.stdout) == []


def test_a_byte_order_mark_is_not_invalid_json(tmp_path):
    """Files saved by Windows editors start with a UTF-8 BOM: 'Unexpected UTF-8 BOM' rejected them."""
    path = tmp_path / "toy.json"
    path.write_bytes(b"\xef\xbb\xbf" + (ROOT / "fixtures" / "toy.json").read_bytes())
    r = run("load", str(path), "--db", str(tmp_path / "f.db"))
    assert r.exit_code == 0, r.output


def test_a_byte_order_mark_in_an_stwp_csv_is_not_an_unknown_app(tmp_path):
    """Excel's "CSV UTF-8" starts with a BOM: the first app id became '\\ufeffapp0', an unknown app."""
    from engine.capacity.reader import read_problems

    problem_file = _problem_file()
    apps = sorted({a.id for p in read_problems(problem_file).values() for a in p.apps})
    csv_path = tmp_path / "stwp.csv"
    csv_path.write_bytes(b"\xef\xbb\xbf" + (",".join(apps) + "\r\n" + ",".join("1" for _ in apps) + "\r\n").encode())
    r = run("solve", "capacity", str(problem_file), "--phase", "ii", "--stwp", str(csv_path), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] in ("optimal", "overfull")


# --------------------------------------------------------------------------- Ctrl-C during load


def test_ctrl_c_during_load_says_which_fleet_is_current(tmp_path, monkeypatch):
    """An interrupted load exited 130 without a word: was the new fleet loaded or not?"""
    import console.store.fleet_store as fleet_store

    db = str(tmp_path / "f.db")
    toy = str(ROOT / "fixtures" / "toy.json")
    assert run("load", toy, "--db", db).exit_code == 0

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fleet_store, "save_snapshot", interrupted)
    r = run("load", str(ROOT / "fixtures" / "demo.json"), "--db", db, "--replace")
    assert r.exit_code == 130
    assert "interrupted: nothing changed, the database still holds 'toy' (snapshot #1)" in r.output
    monkeypatch.undo()
    shown = run("fleet", "--db", db, "--json")
    assert json.loads(shown.stdout)["snapshot"]["name"] == "toy"


# --------------------------------------------------------------------------- outputs over inputs


def test_export_out_onto_its_own_database_is_refused(tmp_path):
    """`export --db f.db --out f.db` replaced the database with JSON."""
    db = tmp_path / "f.db"
    assert run("load", str(ROOT / "fixtures" / "toy.json"), "--db", str(db)).exit_code == 0
    before = db.read_bytes()
    r = run("export", "--db", str(db), "--out", str(db))
    assert r.exit_code == 2 and "is also an input" in r.output
    assert db.read_bytes() == before
    assert run("fleet", "--db", str(db), "--json").exit_code == 0


def test_capacity_out_onto_its_problem_file_is_refused(tmp_path):
    problem = tmp_path / "problem.yaml"
    problem.write_bytes(_problem_file().read_bytes())
    before = problem.read_bytes()
    r = run("solve", "capacity", str(problem), "--out", str(problem))
    assert r.exit_code == 2 and "is also an input" in r.output
    assert problem.read_bytes() == before
