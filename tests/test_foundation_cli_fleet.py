"""fleetctl load / export / fleet / generate / limits, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli.main import app
from engine.documents import load_snapshot, parse_snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_toy_fixture_is_the_seed_example():
    toy = load_snapshot(FIXTURES / "toy.json")
    rebooting = [h for h in toy.hosts if h.state == "needs_reboot"]
    assert len(rebooting) == 1 and rebooting[0].bandwidth_gbps == 5 and rebooting[0].reboot_minutes == 0
    vms = toy.vms_by_host[rebooting[0].id]
    assert sorted(v.migration_gbps for v in vms) == [2, 3, 5]
    assert {v.migration_minutes for v in vms} == {10}
    spare = [h for h in toy.hosts if h.state == "active"]
    assert len(spare) == 1 and all(sum(v.demand(r) for v in vms) <= spare[0].capacity(r)
                                   for r in ("cpu", "memory_gb", "disk_gb"))


def test_demo_fixture_matches_the_brief():
    demo = load_snapshot(FIXTURES / "demo.json")
    assert len(demo.datacenters) == 1 and 35 <= len(demo.hosts) <= 45
    assert 350 <= len(demo.vms) <= 450 and 40 <= len(demo.customers) <= 60
    assert sum(h.state == "needs_reboot" for h in demo.hosts) == len(demo.hosts) // 4


@pytest.mark.parametrize("fixture", ["toy.json", "demo.json"])
def test_load_then_export_gives_the_same_document(tmp_path, fixture):
    db = tmp_path / "fleet.db"
    assert run("load", FIXTURES / fixture, "--db", db).exit_code == 0
    out = tmp_path / "out.json"
    result = run("export", "--db", db, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text()) == json.loads((FIXTURES / fixture).read_text())


def test_generated_fleet_round_trip_through_cli(tmp_path):
    src, out, db = tmp_path / "gen.json", tmp_path / "out.json", tmp_path / "fleet.db"
    gen = run("generate", "--seed", 4, "--datacenters", 2, "--vms", 700, "--pending-fraction", 0.05,
              "--disabled-fraction", 0.1, "--out", src)
    assert gen.exit_code == 0, gen.stderr
    assert run("load", src, "--db", db).exit_code == 0
    assert run("export", "--db", db, "--out", out).exit_code == 0
    assert out.read_text() == src.read_text()  # byte for byte: same writer, same order
    before, after = load_snapshot(src), load_snapshot(out)
    assert after == before and any(v.host is None for v in after.vms)


def test_export_to_stdout_parses(tmp_path):
    db = tmp_path / "fleet.db"
    run("load", FIXTURES / "toy.json", "--db", db)
    result = run("export", "--db", db)
    assert parse_snapshot(json.loads(result.stdout)) == load_snapshot(FIXTURES / "toy.json")


def test_loading_over_a_fleet_needs_replace(tmp_path):
    db = tmp_path / "fleet.db"
    assert run("load", FIXTURES / "toy.json", "--db", db).exit_code == 0
    before = db.read_bytes()
    refused = run("load", FIXTURES / "demo.json", "--db", db)
    assert refused.exit_code == 2 and "--replace" in refused.stderr and "'toy'" in refused.stderr
    assert db.read_bytes() == before
    replaced = run("load", FIXTURES / "demo.json", "--db", db, "--replace")
    assert replaced.exit_code == 0 and "snapshot #2" in replaced.stdout
    summary = json.loads(run("fleet", "--db", db, "--json").stdout)
    assert summary["snapshot"]["name"] == "demo" and summary["snapshot"]["id"] == 2


def test_fleet_summary_table_and_json(tmp_path):
    db = tmp_path / "fleet.db"
    run("load", FIXTURES / "demo.json", "--db", db)
    demo = load_snapshot(FIXTURES / "demo.json")
    table = run("fleet", "--db", db)
    assert table.exit_code == 0
    for text in ("Fleet 'demo'", "Hosts by state", "needs_reboot", "memory_gb", "Per datacenter", "dc1"):
        assert text in table.stdout
    data = json.loads(run("fleet", "--db", db, "--json").stdout)
    assert data["vms"] == len(demo.vms) and data["hosts"] == len(demo.hosts)
    assert data["hosts_by_state"]["needs_reboot"] == sum(h.state == "needs_reboot" for h in demo.hosts)
    used = sum(v.memory_gb for v in demo.vms if v.host)
    assert data["resources"]["memory_gb"]["used"] == pytest.approx(used)
    assert data["resources"]["memory_gb"]["utilisation"] == pytest.approx(used / sum(h.memory_gb for h in demo.hosts), abs=1e-5)


def test_commands_on_a_missing_database_fail_cleanly_and_create_nothing(tmp_path):
    db = tmp_path / "none.db"
    for args in (("fleet",), ("export",), ("limits", "show", "x")):
        result = run(*args, "--db", db)
        assert result.exit_code == 2 and "no database" in result.stderr
    assert not db.exists()


def test_generate_is_deterministic_and_validates_options(tmp_path):
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert run("generate", "--seed", 7, "--vms", 200, "--out", a).exit_code == 0
    assert run("generate", "--seed", 7, "--vms", 200, "--out", b).exit_code == 0
    assert run("generate", "--seed", 8, "--vms", 200, "--out", c).exit_code == 0
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    bad = run("generate", "--reboot-fraction", 1.5, "--out", tmp_path / "x.json")
    assert bad.exit_code == 2 and "--reboot-fraction" in bad.stderr and not (tmp_path / "x.json").exists()
    dense = run("generate", "--racks", 1, "--hosts-per-rack", 2, "--vms", 500)
    assert dense.exit_code == 2 and "does not fit" in dense.stderr


def test_limit_sets_through_the_cli(tmp_path):
    db = tmp_path / "fleet.db"
    assert run("limits", "list", "--db", db, "--json").stdout.strip() == "[]"
    assert run("limits", "save", "demo", FIXTURES / "demo-limits.json", "--db", db).exit_code == 0
    shown = json.loads(run("limits", "show", "demo", "--db", db).stdout)
    assert shown == json.loads(json.dumps(json.loads((FIXTURES / "demo-limits.json").read_text())))
    assert [s["name"] for s in json.loads(run("limits", "list", "--db", db, "--json").stdout)] == ["demo"]
    assert "demo" in run("limits", "list", "--db", db).stdout
    bad = tmp_path / "bad-limits.json"
    bad.write_text(json.dumps({"concurrency": {"per_rack": -1}, "capacity": {"headroom": {"gpu": 0.1}}}))
    refused = run("limits", "save", "bad", bad, "--db", db)
    assert refused.exit_code == 2
    assert "concurrency field per_rack" in refused.stderr and "headroom field gpu" in refused.stderr
    assert run("limits", "delete", "demo", "--db", db).exit_code == 0
    missing = run("limits", "delete", "demo", "--db", db)
    assert missing.exit_code == 2 and "no limit set named 'demo'" in missing.stderr


def test_a_file_that_is_not_a_database_is_a_clean_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all, just text that is long enough to have a header")
    before = junk.read_bytes()
    for args in (("load", FIXTURES / "toy.json"), ("fleet",), ("limits", "save", "x", FIXTURES / "toy-limits.json")):
        result = run(*args, "--db", junk)
        assert result.exit_code == 1 and "not a fleetctl database" in result.stderr, result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert junk.read_bytes() == before
