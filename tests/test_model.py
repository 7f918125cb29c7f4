"""The pydantic models match FORMATS.md: examples parse, unknown keys fail, defaults hold."""

import pytest
from pydantic import ValidationError

from engine.derived import customer_limit, migration_minutes, usable_capacity
from engine.model import Limits, MaintenancePlan, Snapshot, parse_plan, schema_of

SNAPSHOT = {
    "version": 1,
    "name": "dc-small",
    "datacenters": [{"id": "dc1"}],
    "racks": [{"id": "dc1-r01", "datacenter": "dc1"}],
    "hosts": [{"id": "dc1-r01-h01", "rack": "dc1-r01", "cpu": 64, "memory_gb": 512, "disk_gb": 4000,
               "state": "needs_reboot", "reboot_minutes": 15, "bandwidth_gbps": 10}],
    "customers": [{"id": "acme", "max_concurrent_migrations": 2}],
    "vms": [{"id": "vm-0001", "host": "dc1-r01-h01", "customer": "acme", "cpu": 4, "memory_gb": 16,
             "disk_gb": 100, "migration_minutes": 10, "migration_gbps": 1, "migratable": True}],
}

LIMITS = {
    "capacity": {"headroom": {"cpu": 0.0, "memory_gb": 0.1, "disk_gb": 0.0}, "rolling": True},
    "concurrency": {"per_source_host": 2, "per_target_host": 2, "per_rack": 6,
                    "per_datacenter": 40, "global": None, "max_hosts_down_per_rack": 1},
    "conflict": {"per_customer": 1, "per_customer_fraction": None, "overrides": {"acme": 3}},
    "migration": {"gb_per_minute": 2.0, "default_gbps": 1.0},
    "placement": {"objective": "min_hosts", "max_vms_per_customer_per_host": None},
    "solve": {"time_limit_s": 30, "workers": 2, "seed": 0},
}


def test_formats_examples_parse():
    s = Snapshot.model_validate(SNAPSHOT)
    lim = Limits.model_validate(LIMITS)
    assert s.hosts[0].bandwidth_gbps == 10
    assert lim.concurrency.global_ is None
    assert lim.to_json_dict()["concurrency"]["global"] is None


def test_unknown_keys_are_errors():
    bad = {**SNAPSHOT, "hosts": [{**SNAPSHOT["hosts"][0], "colour": "red"}]}
    with pytest.raises(ValidationError):
        Snapshot.model_validate(bad)
    with pytest.raises(ValidationError):
        Limits.model_validate({"capacity": {"headroom": {"gpu": 0.1}}})


def test_defaults():
    s = Snapshot.model_validate({"datacenters": [], "racks": [], "hosts": [], "customers": [], "vms": []})
    assert s.version == 1
    lim = Limits()
    assert lim.capacity.rolling is True
    assert lim.migration.gb_per_minute == 2.0
    assert lim.solve.time_limit_s == 30
    h = Snapshot.model_validate({**SNAPSHOT, "hosts": [{"id": "h", "rack": "dc1-r01", "cpu": 1, "memory_gb": 1, "disk_gb": 1}]}).hosts[0]
    assert h.reboot_minutes == 10 and h.state == "active" and h.bandwidth_gbps is None


def test_migration_minutes_default_from_memory():
    s = Snapshot.model_validate(SNAPSHOT)
    vm = s.vms[0].model_copy(update={"migration_minutes": None, "memory_gb": 15})
    assert migration_minutes(vm, Limits()) == 8  # ceil(15 / 2)
    vm0 = vm.model_copy(update={"memory_gb": 0})
    assert migration_minutes(vm0, Limits()) == 1


def test_customer_limit_precedence():
    s = Snapshot.model_validate(SNAPSHOT)
    lim = Limits.model_validate(LIMITS)
    assert customer_limit("acme", s, lim) == 3  # override first
    lim2 = Limits.model_validate({**LIMITS, "conflict": {"per_customer": 1}})
    assert customer_limit("acme", s, lim2) == 2  # then the snapshot's own
    assert customer_limit("other", s, lim2) == 1  # then the default
    lim3 = Limits.model_validate({"conflict": {"per_customer": 1, "per_customer_fraction": 0.5}})
    assert customer_limit("other", s, lim3) == 1  # fraction of 0 VMs -> max(1, 0)
    assert customer_limit("other", s, Limits()) is None


def test_usable_capacity():
    s = Snapshot.model_validate(SNAPSHOT)
    lim = Limits.model_validate(LIMITS)
    assert usable_capacity(s.hosts[0], "memory_gb", lim) == pytest.approx(512 * 0.9)


def test_plan_parses_by_kind():
    plan = parse_plan({"version": 1, "kind": "maintenance", "status": "optimal", "makespan": 95, "lower_bound": 90,
                       "migrations": [{"vm": "v", "source": "a", "target": "b", "start": 0, "end": 10}],
                       "reboots": [{"host": "a", "start": 10, "end": 25}], "solver": {"name": "cp-sat", "wall_s": 3.2}})
    assert isinstance(plan, MaintenancePlan)
    placement = parse_plan({"kind": "placement", "status": "feasible", "assignments": [{"vm": "v", "host": "h"}],
                            "solver": {"name": "ffd"}})
    assert placement.kind == "placement"


@pytest.mark.parametrize("kind", ["snapshot", "limits", "plan"])
def test_schemas_forbid_unknown_keys(kind):
    schema = schema_of(kind)
    text = str(schema)
    assert "additionalProperties" in text


@pytest.mark.parametrize("collection", ["datacenters", "racks", "hosts", "customers", "vms"])
def test_every_snapshot_collection_is_required(collection):
    data = {k: v for k, v in SNAPSHOT.items() if k != collection}
    with pytest.raises(ValidationError) as exc:
        Snapshot.model_validate(data)
    assert any(e["loc"] == (collection,) and e["type"] == "missing" for e in exc.value.errors())


@pytest.mark.parametrize("value", [True, False, "4"])
def test_numbers_must_be_json_numbers(value):
    host = {**SNAPSHOT["hosts"][0], "cpu": value}
    with pytest.raises(ValidationError):
        Snapshot.model_validate({**SNAPSHOT, "hosts": [host]})
    with pytest.raises(ValidationError):
        Limits.model_validate({"concurrency": {"per_rack": value}})


def test_whole_floats_still_read_as_integers():
    host = {**SNAPSHOT["hosts"][0], "reboot_minutes": 15.0}
    assert Snapshot.model_validate({**SNAPSHOT, "hosts": [host]}).hosts[0].reboot_minutes == 15
