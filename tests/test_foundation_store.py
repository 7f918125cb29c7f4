"""The store: tables, WAL, one-transaction replace, exact read-back, SQL summaries, limit sets."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from console.store.db import TABLE_MODULES, close_engine, open_engine, session_scope
from console.store.fleet_store import (
    current_snapshot,
    current_snapshot_id,
    current_snapshot_info,
    list_hosts,
    save_snapshot,
    snapshot_history,
    snapshot_summary,
    vms_on_host,
)
from console.store.limits_store import (
    LimitSetNotFound,
    delete_limit_set,
    list_limit_sets,
    load_limits,
    save_limits,
)
from console.store.tables import HostRow
from engine.documents import DocumentError, load_snapshot
from engine.generate import FleetSpec, generate_snapshot
from engine.model import RESOURCES, Limits, Snapshot
from tests.pg_support import store_url  # noqa: F401  (fixture)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FLEET_TABLES = {"datacenters", "racks", "hosts", "customers", "vms", "limit_sets", "snapshots"}


@pytest.fixture
def engine(store_url):  # noqa: F811  (SQLite, then a throwaway PostgreSQL database)
    e = open_engine(store_url)
    yield e
    close_engine(e)


@pytest.fixture(scope="module")
def mixed_fleet() -> Snapshot:
    """Two datacenters with disabled hosts, pending and pinned VMs."""
    return generate_snapshot(FleetSpec(seed=11, datacenters=2, racks_per_datacenter=2, hosts_per_rack=6, vms=200,
                                       disabled_fraction=0.2, pending_fraction=0.05, reboot_fraction=0.3))


def test_open_engine_creates_every_table_with_wal_and_busy_timeout(tmp_path):
    e = open_engine(tmp_path / "a" / "fleet.db")
    try:
        assert FLEET_TABLES <= set(inspect(e).get_table_names())
        with e.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        close_engine(e)
    assert "console.store.tables" in TABLE_MODULES and "console.store.run_tables" in TABLE_MODULES


def test_empty_store_has_no_fleet(engine):
    assert current_snapshot(engine) is None
    assert current_snapshot_info(engine) is None
    assert snapshot_summary(engine) is None
    assert list_hosts(engine) == [] and snapshot_history(engine) == []


def test_save_and_read_back_exactly(engine, mixed_fleet):
    sid = save_snapshot(engine, mixed_fleet, source="gen")
    back = current_snapshot(engine)
    assert back.model_dump() == mixed_fleet.model_dump()
    assert current_snapshot_id(engine) == sid
    info = current_snapshot_info(engine)
    assert (info.name, info.source, info.hosts, info.vms) == (mixed_fleet.name, "gen", 24, 200)
    assert info.loaded_at.tzinfo is not None


def test_toy_round_trip_keeps_optional_fields_absent(engine):
    toy = load_snapshot(FIXTURES / "toy.json")
    save_snapshot(engine, toy)
    back = current_snapshot(engine)
    assert back == toy
    assert back.host_by_id["h2"].bandwidth_gbps is None
    assert [v.migration_gbps for v in back.vms] == [5, 3, 2]


def test_new_snapshot_replaces_the_fleet_and_keeps_history(engine, mixed_fleet):
    first = save_snapshot(engine, mixed_fleet)
    toy = load_snapshot(FIXTURES / "toy.json")
    second = save_snapshot(engine, toy)
    assert second > first
    assert current_snapshot(engine) == toy
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM vms")).scalar() == 3
    assert [h.id for h in snapshot_history(engine)] == [second, first]


def test_bad_snapshot_is_refused_and_the_store_unchanged(engine):
    toy = load_snapshot(FIXTURES / "toy.json")
    save_snapshot(engine, toy)
    bad = toy.model_copy(update={"vms": [*toy.vms, toy.vms[0].model_copy(update={"host": "nowhere"})]})
    with pytest.raises(DocumentError) as info:
        save_snapshot(engine, bad)
    assert any("unknown host 'nowhere'" in p for p in info.value.problems)
    assert current_snapshot(engine) == toy and len(snapshot_history(engine)) == 1


def test_save_is_one_transaction(engine, mixed_fleet):
    """A failure half-way (a duplicate id the checks were told to skip) leaves the old fleet whole."""
    save_snapshot(engine, mixed_fleet)
    toy = load_snapshot(FIXTURES / "toy.json")
    dup = toy.model_copy(update={"vms": [*toy.vms, toy.vms[0]]})
    with pytest.raises(IntegrityError):
        save_snapshot(engine, dup, check=False)
    assert current_snapshot(engine).model_dump() == mixed_fleet.model_dump()
    assert len(snapshot_history(engine)) == 1


def test_summary_matches_a_python_recount(engine, mixed_fleet):
    save_snapshot(engine, mixed_fleet)
    s = snapshot_summary(engine)
    hosts = mixed_fleet.host_by_id
    assert (s.datacenters, s.racks, s.hosts, s.customers, s.vms) == (2, 4, 24, len(mixed_fleet.customers), 200)
    assert s.pending_vms == sum(v.host is None for v in mixed_fleet.vms) > 0
    assert s.non_migratable_vms == sum(not v.migratable for v in mixed_fleet.vms)
    assert s.hosts_by_state == {st: n for st, n in Counter(h.state for h in mixed_fleet.hosts).items()} | {
        st: 0 for st in ("active", "needs_reboot", "disabled") if st not in {h.state for h in mixed_fleet.hosts}}
    assert s.hosts_by_state["disabled"] > 0
    placed = [v for v in mixed_fleet.vms if v.host is not None]
    assert s.vms_by_host_state == {st: sum(hosts[v.host].state == st for v in placed)
                                   for st in ("active", "needs_reboot", "disabled")}
    for r in RESOURCES:
        assert s.resources[r].capacity == pytest.approx(sum(h.capacity(r) for h in mixed_fleet.hosts))
        assert s.resources[r].used == pytest.approx(sum(v.demand(r) for v in placed))
        active_cap = sum(h.capacity(r) for h in mixed_fleet.hosts if h.state == "active")
        assert s.resources_by_state["active"][r].capacity == pytest.approx(active_cap)
    assert [d.id for d in s.per_datacenter] == ["dc1", "dc2"]
    assert sum(d.vms for d in s.per_datacenter) == len(placed)
    as_dict = s.to_dict()
    assert as_dict["resources"]["memory_gb"]["utilisation"] == pytest.approx(s.resources["memory_gb"].utilisation, abs=1e-6)


def test_list_hosts_and_vms_on_host(engine, mixed_fleet):
    save_snapshot(engine, mixed_fleet)
    infos = list_hosts(engine)
    assert [h.id for h in infos] == [h.id for h in mixed_fleet.hosts]
    for info in infos:
        on = mixed_fleet.vms_by_host.get(info.id, [])
        assert info.vms == len(on)
        assert info.datacenter == mixed_fleet.datacenter_of(info.id)
        for r in RESOURCES:
            assert info.used[r] == pytest.approx(sum(v.demand(r) for v in on))
    busiest = max(infos, key=lambda h: h.vms)
    assert vms_on_host(engine, busiest.id) == mixed_fleet.vms_by_host[busiest.id]
    assert vms_on_host(engine, "no-such-host") == []


def test_limit_sets_save_load_replace_list_delete(engine):
    strict = Limits.model_validate({"concurrency": {"per_source_host": 1, "global": 5},
                                    "conflict": {"overrides": {"acme": 3}}})
    save_limits(engine, "strict", strict)
    save_limits(engine, "default", Limits())
    assert load_limits(engine, "strict") == strict
    assert load_limits(engine, "strict").concurrency.global_ == 5
    assert [s.name for s in list_limit_sets(engine)] == ["default", "strict"]
    looser = strict.model_copy(update={"solve": strict.solve.model_copy(update={"time_limit_s": 5})})
    save_limits(engine, "strict", looser)
    assert load_limits(engine, "strict").solve.time_limit_s == 5
    assert delete_limit_set(engine, "strict") is True
    assert delete_limit_set(engine, "strict") is False
    with pytest.raises(LimitSetNotFound):
        load_limits(engine, "strict")
    with pytest.raises(ValueError):
        save_limits(engine, "  ", Limits())


def test_in_memory_store_is_shared_across_threads(engine):
    toy = load_snapshot(FIXTURES / "toy.json")
    worker = threading.Thread(target=save_snapshot, args=(engine, toy))
    worker.start()
    worker.join()
    assert current_snapshot(engine) == toy


def test_session_scope_commits_and_rolls_back(engine):
    toy = load_snapshot(FIXTURES / "toy.json")
    save_snapshot(engine, toy)
    with session_scope(engine) as session:
        session.get(HostRow, "h2").state = "disabled"
    assert current_snapshot(engine).host_by_id["h2"].state == "disabled"
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            session.get(HostRow, "h2").state = "active"
            raise RuntimeError("boom")
    assert current_snapshot(engine).host_by_id["h2"].state == "disabled"


def test_two_engines_on_one_file_see_each_other(tmp_path):
    path = tmp_path / "shared.db"
    writer, reader = open_engine(path), open_engine(path)
    try:
        save_snapshot(writer, load_snapshot(FIXTURES / "toy.json"))
        assert current_snapshot_info(reader).name == "toy"
    finally:
        close_engine(writer)
        close_engine(reader)
    assert not (tmp_path / "shared.db-wal").exists()
