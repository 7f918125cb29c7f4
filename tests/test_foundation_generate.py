"""The fleet generator: deterministic, valid, and shaped like a real fleet."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.checks import check_snapshot
from engine.export import dumps_snapshot
from engine.generate import FILL_LIMIT, FleetSpec, FleetTooDense, generate_snapshot
from engine.model import RESOURCES


@pytest.fixture(scope="module")
def big():
    """3 datacenters, 6,000 VMs: enough to see the distributions."""
    return generate_snapshot(FleetSpec(seed=3, datacenters=3, racks_per_datacenter=4, vms=6000, customers=300))


def test_same_seed_same_document_different_seed_different():
    spec = FleetSpec(seed=42, datacenters=2, racks_per_datacenter=2, vms=500)
    assert dumps_snapshot(generate_snapshot(spec)) == dumps_snapshot(generate_snapshot(spec))
    other = FleetSpec(seed=43, datacenters=2, racks_per_datacenter=2, vms=500)
    assert dumps_snapshot(generate_snapshot(spec)) != dumps_snapshot(generate_snapshot(other))


@pytest.mark.parametrize("spec", [
    FleetSpec(seed=1, racks_per_datacenter=1, hosts_per_rack=3, vms=10, customers=3),  # one rack
    FleetSpec(seed=2, datacenters=2, vms=800, reboot_fraction=1.0, empty_hosts_per_rack=2),
    FleetSpec(seed=5, vms=300, disabled_fraction=0.3, pending_fraction=0.1, bandwidth_fraction=1.0),
    FleetSpec(seed=6, vms=0),
], ids=["one-rack", "all-reboot", "disabled-pending", "no-vms"])
def test_generated_fleets_pass_every_check(spec):
    s = generate_snapshot(spec)
    assert check_snapshot(s) == []
    assert len(s.vms) == spec.vms
    assert len(s.datacenters) == spec.datacenters
    assert len(s.racks) == spec.datacenters * spec.racks_per_datacenter


def test_reboot_fraction_and_empty_hosts_per_rack():
    s = generate_snapshot(FleetSpec(seed=9, racks_per_datacenter=4, hosts_per_rack=10, vms=300, reboot_fraction=0.25,
                                    empty_hosts_per_rack=2))
    assert Counter(h.state for h in s.hosts)["needs_reboot"] == 10
    for rack in s.racks:
        empty = [h for h in s.hosts if h.rack == rack.id and not s.vms_by_host[h.id]]
        assert len(empty) >= 2
    every = generate_snapshot(FleetSpec(seed=9, vms=300, reboot_fraction=1.0))
    assert {h.state for h in every.hosts} == {"needs_reboot"}


def test_realistic_shape(big):
    s = big
    per_customer = sorted(Counter(v.customer for v in s.vms).values(), reverse=True)
    assert len(per_customer) == 300  # every customer owns at least one VM
    assert per_customer[0] > 20 * statistics.median(per_customer)  # skewed, Zipf-like
    pinned = sum(not v.migratable for v in s.vms) / len(s.vms)
    assert 0.01 <= pinned <= 0.03
    assert 0.15 <= sum(h.bandwidth_gbps is not None for h in s.hosts) / len(s.hosts) <= 0.45
    shapes = Counter((v.cpu, v.memory_gb) for v in s.vms)
    assert len(shapes) >= 6 and (4, 64) in shapes  # memory-heavy VMs among the mix
    for h in s.hosts:
        on = s.vms_by_host[h.id]
        for r in RESOURCES:
            assert sum(v.demand(r) for v in on) <= FILL_LIMIT * h.capacity(r) + 1e-9
    loaded = [h for h in s.hosts if s.vms_by_host[h.id]]
    memory = sum(v.memory_gb for v in s.vms) / sum(h.memory_gb for h in loaded)
    assert 0.6 <= memory <= 0.8  # free room left, as in a real fleet


def test_impossible_specs_are_refused():
    with pytest.raises(FleetTooDense):
        generate_snapshot(FleetSpec(racks_per_datacenter=1, hosts_per_rack=2, vms=500))
    with pytest.raises(ValueError, match="reboot_fraction"):
        generate_snapshot(FleetSpec(reboot_fraction=1.5))
    with pytest.raises(ValueError, match="empty_hosts_per_rack"):
        generate_snapshot(FleetSpec(hosts_per_rack=2, empty_hosts_per_rack=2, vms=10))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    datacenters=st.integers(1, 2),
    racks=st.integers(1, 3),
    vms=st.integers(0, 150),
    reboot=st.floats(0, 1),
    empty=st.integers(0, 2),
    disabled=st.floats(0, 0.5),
    pending=st.floats(0, 0.3),
)
def test_any_generated_fleet_is_valid_and_survives_store_and_export(seed, datacenters, racks, vms, reboot, empty,
                                                                     disabled, pending):
    import json

    from console.store.db import close_engine, open_engine
    from console.store.fleet_store import current_snapshot, save_snapshot
    from engine.documents import parse_snapshot

    s = generate_snapshot(FleetSpec(seed=seed, datacenters=datacenters, racks_per_datacenter=racks, vms=vms,
                                    reboot_fraction=reboot, empty_hosts_per_rack=empty, disabled_fraction=disabled,
                                    pending_fraction=pending))
    assert check_snapshot(s) == []
    assert parse_snapshot(json.loads(dumps_snapshot(s))) == s
    engine = open_engine(":memory:")
    try:
        save_snapshot(engine, s)
        assert current_snapshot(engine) == s
    finally:
        close_engine(engine)
