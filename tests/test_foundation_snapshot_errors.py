"""A bad snapshot is rejected whole: every problem named (record and field), exit 2, database untouched."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli.main import app
from engine.documents import DocumentError, parse_snapshot

BASE = {
    "version": 1,
    "name": "base",
    "datacenters": [{"id": "dc1"}],
    "racks": [{"id": "r1", "datacenter": "dc1"}],
    "hosts": [
        {"id": "h1", "rack": "r1", "cpu": 32, "memory_gb": 256, "disk_gb": 2000, "state": "needs_reboot",
         "bandwidth_gbps": 10},
        {"id": "h2", "rack": "r1", "cpu": 32, "memory_gb": 256, "disk_gb": 2000},
    ],
    "customers": [{"id": "c1"}, {"id": "c2", "max_concurrent_migrations": 1}],
    "vms": [
        {"id": "v1", "host": "h1", "customer": "c1", "cpu": 4, "memory_gb": 16, "disk_gb": 100, "migration_gbps": 2},
        {"id": "v2", "host": "h1", "customer": "c2", "cpu": 4, "memory_gb": 16, "disk_gb": 100},
        {"id": "v3", "host": "h2", "customer": "c1", "cpu": 4, "memory_gb": 16, "disk_gb": 100},
    ],
}


def _set(path: str, value):
    """Mutation setting e.g. 'hosts.0.cpu' (value DELETE removes the key)."""

    def mutate(doc):
        *parents, last = path.split(".")
        node = doc
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        key = int(last) if last.isdigit() else last
        if value is DELETE:
            del node[key]
        else:
            node[key] = value

    return mutate


def _append(collection: str, record: dict):
    return lambda doc: doc[collection].append(record)


def _both(*mutations):
    def mutate(doc):
        for m in mutations:
            m(doc)

    return mutate


DELETE = object()
HOST = {"rack": "r1", "cpu": 8, "memory_gb": 64, "disk_gb": 100}
VM = {"customer": "c1", "cpu": 1, "memory_gb": 1, "disk_gb": 1}

# id, mutation, substrings the message must contain (record and field), expected number of problems
CASES = [
    # ---- schema (pydantic), located by collection index and record id
    ("vm-missing-cpu", _set("vms.0.cpu", DELETE), ["vms[0] 'v1' field cpu", "required field is missing"], 1),
    ("host-unknown-key", _set("hosts.1.colour", "red"), ["hosts[1] 'h2' field colour", "unknown key"], 1),
    ("host-negative-cpu", _set("hosts.0.cpu", -1), ["hosts[0] 'h1' field cpu", "greater than or equal to 0"], 1),
    ("vm-negative-memory", _set("vms.1.memory_gb", -16), ["vms[1] 'v2' field memory_gb"], 1),
    ("host-bad-state", _set("hosts.0.state", "rebooting"), ["hosts[0] 'h1' field state", "needs_reboot"], 1),
    ("vm-zero-migration-minutes", _set("vms.0.migration_minutes", 0), ["vms[0] 'v1' field migration_minutes"], 1),
    ("host-negative-reboot", _set("hosts.1.reboot_minutes", -5), ["hosts[1] 'h2' field reboot_minutes"], 1),
    ("host-fractional-reboot", _set("hosts.1.reboot_minutes", 2.5), ["hosts[1] 'h2' field reboot_minutes"], 1),
    ("host-negative-bandwidth", _set("hosts.0.bandwidth_gbps", -1), ["hosts[0] 'h1' field bandwidth_gbps"], 1),
    ("customer-negative-limit", _set("customers.0.max_concurrent_migrations", -1),
     ["customers[0] 'c1' field max_concurrent_migrations"], 1),
    ("vm-cpu-not-a-number", _set("vms.2.cpu", "four"), ["vms[2] 'v3' field cpu", "valid number"], 1),
    ("vm-empty-id", _set("vms.2.id", ""), ["vms[2] field id"], 1),
    ("vm-migratable-not-bool", _set("vms.0.migratable", "maybe"), ["vms[0] 'v1' field migratable"], 1),
    ("rack-missing-datacenter", _set("racks.0.datacenter", DELETE), ["racks[0] 'r1' field datacenter", "missing"], 1),
    ("vm-customer-not-a-string", _set("vms.0.customer", 7), ["vms[0] 'v1' field customer"], 1),
    ("wrong-version", _set("version", 2), ["version"], 1),
    # ---- cross-record (engine.checks)
    ("duplicate-datacenter", _append("datacenters", {"id": "dc1"}),
     ["datacenter 'dc1' field id", "duplicate", "datacenters[0], datacenters[1]"], 1),
    ("duplicate-rack", _append("racks", {"id": "r1", "datacenter": "dc1"}), ["rack 'r1' field id", "duplicate"], 1),
    ("duplicate-host", _append("hosts", {"id": "h2", **HOST}), ["host 'h2' field id", "duplicate"], 1),
    ("duplicate-customer", _append("customers", {"id": "c2"}), ["customer 'c2' field id", "duplicate"], 1),
    ("duplicate-vm", _append("vms", {"id": "v3", "host": "h2", **VM}), ["vm 'v3' field id", "duplicate", "vms[2], vms[3]"], 1),
    ("rack-unknown-datacenter", _append("racks", {"id": "r2", "datacenter": "dcX"}),
     ["rack 'r2' field datacenter", "unknown datacenter 'dcX'"], 1),
    ("host-unknown-rack", _append("hosts", {"id": "h3", **HOST, "rack": "rX"}), ["host 'h3' field rack", "unknown rack 'rX'"], 1),
    ("vm-unknown-host", _set("vms.2.host", "hX"), ["vm 'v3' field host", "unknown host 'hX'"], 1),
    ("vm-unknown-customer", _set("vms.2.customer", "cX"), ["vm 'v3' field customer", "unknown customer 'cX'"], 1),
    ("host-over-cpu", _set("hosts.1.cpu", 3), ["host 'h2' field cpu", "over capacity", "need 4 but it has 3"], 1),
    ("host-over-memory", _set("hosts.0.memory_gb", 20), ["host 'h1' field memory_gb", "over capacity", "need 32"], 1),
    ("host-over-disk", _set("hosts.0.disk_gb", 150), ["host 'h1' field disk_gb", "over capacity"], 1),
    ("disabled-host-over-capacity", _both(_set("hosts.1.state", "disabled"), _set("hosts.1.memory_gb", 8)),
     ["host 'h2' field memory_gb", "over capacity"], 1),
    ("host-zero-memory", _append("hosts", {"id": "h3", **HOST, "memory_gb": 0}), ["host 'h3' field memory_gb", "positive"], 1),
    ("host-zero-cpu", _append("hosts", {"id": "h3", **HOST, "cpu": 0}), ["host 'h3' field cpu", "positive"], 1),
    ("host-infinite-memory", _set("hosts.1.memory_gb", float("inf")), ["'h2' field memory_gb", "finite"], 1),
    ("id-with-whitespace", _append("customers", {"id": "c3 "}), ["customer 'c3 ' field id", "whitespace"], 1),
    ("host-zero-bandwidth", _set("hosts.0.bandwidth_gbps", 0), ["host 'h1' field bandwidth_gbps", "omit it for no limit"], 1),
    ("vm-faster-than-its-host", _set("vms.0.migration_gbps", 25),
     ["vm 'v1' field migration_gbps", "exceeds the bandwidth_gbps 10 of its host 'h1'"], 1),
    # ---- schema and cross-record problems are reported together
    ("schema-and-reference-together", _both(_set("hosts.0.cpu", -1), _set("vms.2.host", "hX")),
     ["hosts[0] 'h1' field cpu", "vm 'v3' field host: unknown host 'hX'"], 2),
]


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    """A database already holding a good fleet: a failed load must leave it byte for byte."""
    path = tmp_path_factory.mktemp("tpl") / "fleet.db"
    src = path.parent / "base.json"
    src.write_text(json.dumps(BASE))
    result = CliRunner().invoke(app, ["load", str(src), "--db", str(path)])
    assert result.exit_code == 0, result.stderr
    return path


def _bad_doc(mutate) -> dict:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    return doc


@pytest.mark.parametrize(("mutate", "expected", "count"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_snapshot_is_rejected_with_every_problem_named(tmp_path, template_db, mutate, expected, count):
    doc = _bad_doc(mutate)
    with pytest.raises(DocumentError) as info:
        parse_snapshot(doc, "bad.json")
    problems = info.value.problems
    assert len(problems) == count, problems
    for text in expected:
        assert any(text in p for p in problems), (text, problems)

    db = tmp_path / "fleet.db"
    shutil.copy(template_db, db)
    before = db.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))  # allow_nan: Infinity is written as JSON's non-standard literal
    result = CliRunner().invoke(app, ["load", str(bad), "--db", str(db), "--replace"])
    assert result.exit_code == 2
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert db.read_bytes() == before
    assert not (tmp_path / "fleet.db-wal").exists()


def test_failed_load_into_a_new_database_creates_nothing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_bad_doc(_set("vms.0.host", "nope"))))
    db = tmp_path / "sub" / "new.db"
    result = CliRunner().invoke(app, ["load", str(bad), "--db", str(db)])
    assert result.exit_code == 2
    assert not db.exists() and not db.with_name("new.db-wal").exists()


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("broken.json", '{"version": 1, "hosts": [', "invalid JSON at line 1"),
        ("list.json", "[1, 2]", "expected a mapping"),
        ("broken.yaml", "hosts: [unclosed", "invalid YAML"),
        ("missing.json", None, "file not found"),
    ],
)
def test_unreadable_documents_exit_2_without_traceback(tmp_path, template_db, name, text, expected):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    db = tmp_path / "fleet.db"
    shutil.copy(template_db, db)
    before = db.read_bytes()
    result = CliRunner().invoke(app, ["load", str(path), "--db", str(db), "--replace"])
    assert result.exit_code == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert db.read_bytes() == before


def test_yaml_snapshot_errors_are_named_too(tmp_path):
    import yaml

    doc = _bad_doc(_both(_set("vms.1.customer", "ghost"), _set("hosts.1.cpu", -2)))
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(app, ["load", str(path), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert "vm 'v2' field customer: unknown customer 'ghost'" in result.stderr
    assert "hosts[1] 'h2' field cpu" in result.stderr
    assert "2 problem(s)" in result.stderr


def test_many_problems_are_all_listed(tmp_path):
    doc = copy.deepcopy(BASE)
    for i in range(30):
        doc["vms"].append({"id": f"bad-{i}", "host": f"nowhere-{i}", **VM})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result = CliRunner().invoke(app, ["load", str(path), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert "30 problem(s)" in result.stderr
    assert all(f"vm 'bad-{i}' field host: unknown host 'nowhere-{i}'" in result.stderr for i in range(30))
