"""`fleetctl check SNAPSHOT LIMITS PLAN`: exit 0 valid, 1 violations, 2 bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from console.cli.main import app
from fleet_builder import plan, snapshot

FLEET = snapshot([{"id": "h1", "state": "needs_reboot"}, {"id": "h2"}],
                 [{"id": "v1", "host": "h1"}, {"id": "v2", "host": "h1"}])
TOGETHER = plan([("v1", "h1", "h2", 0, 10), ("v2", "h1", "h2", 0, 10)], [("h1", 10, 20)])


@pytest.fixture
def files(tmp_path):
    def write(name, obj):
        path = tmp_path / name
        path.write_text(json.dumps(obj))
        return str(path)

    return {
        "snapshot": write("s.json", FLEET.model_dump(mode="json", exclude_none=True)),
        "loose": write("loose.json", {}),
        "tight": write("tight.json", {"concurrency": {"per_source_host": 1}}),
        "plan": write("p.json", TOGETHER.model_dump(mode="json", exclude_none=True)),
        "bad_limits": write("bad.json", {"concurrency": {"per_rack": -1, "bogus": 1}}),
    }


def run(*args):
    return CliRunner().invoke(app, ["check", *args])


def test_valid_plan_exits_0(files):
    r = run(files["snapshot"], files["loose"], files["plan"])
    assert r.exit_code == 0, r.output
    assert "valid" in r.stdout and "2 migration(s)" in r.stdout


def test_violations_exit_1_and_are_listed(files):
    r = run(files["snapshot"], files["tight"], files["plan"])
    assert r.exit_code == 1
    assert "5-concurrency" in r.stdout and "h1" in r.stdout


def test_json_output_is_a_list_of_violations(files):
    r = run(files["snapshot"], files["tight"], files["plan"], "--json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert [v["rule"] for v in data] == ["5-concurrency"] and data[0]["entities"] == ["h1", "v1", "v2"]
    r = run(files["snapshot"], files["loose"], files["plan"], "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []


def test_bad_input_exits_2_naming_every_problem(files, tmp_path):
    r = run(files["snapshot"], files["bad_limits"], files["plan"])
    assert r.exit_code == 2
    assert "per_rack" in r.stderr and "bogus" in r.stderr and "Traceback" not in r.output
    r = run(str(tmp_path / "missing.json"), files["loose"], files["plan"])
    assert r.exit_code == 2 and "file not found" in r.stderr
