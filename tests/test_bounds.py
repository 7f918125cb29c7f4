"""Lower bounds: the right value where each family binds, never above the brute-force optimum, fast."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.maintenance.bounds import (
    BIG,
    bound_details,
    bounds_breakdown,
    grouped_machines_bound,
    lower_bound,
    parallel_machines_bound,
)
from engine.model import MaintenancePlan
from engine.validate import validate_maintenance
from fleet_builder import limits, snapshot, tiny_instances
from oracle_bruteforce import brute_force, optimum

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], derandomize=True)


# ---------------------------------------------------------------- the machine bound


def test_parallel_machines_bound_by_hand():
    assert parallel_machines_bound([], 2) == 0
    assert parallel_machines_bound([(0, 10, 0)] * 3, None) == 10
    assert parallel_machines_bound([(0, 10, 0)] * 3, 1) == 30
    assert parallel_machines_bound([(0, 10, 0), (0, 10, 0), (0, 5, 0)], 2) == 15
    assert parallel_machines_bound([(0, 6, 0)] * 3, 2) == 12  # two of the 3 longest share a machine (not 18 / 2)
    assert parallel_machines_bound([(0, 4, 0)] * 4, 2) == 8
    # tails: 2 machines, tails 0 and 100 → (2 + 0 + 100) / 2 = 51 is beaten by the single job 1 + 100
    assert parallel_machines_bound([(0, 1, 0), (0, 1, 100)], 2) == 101
    # heads and tails on one machine: the short job first, then the one with head 5 and tail 5
    assert parallel_machines_bound([(5, 2, 5), (0, 2, 0)], 1) == 12


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 5), st.integers(0, 4)), max_size=12),
       st.lists(st.sampled_from([None, 1, 2, 3]), min_size=4, max_size=4))
def test_grouped_bound_equals_the_scalar_one(rows, machines):
    groups = {g: [(h, p, q) for gg, h, p, q in rows if gg == g] for g in range(4)}
    arr = np.array([(g, h, p, q) for g, h, p, q in rows], dtype=np.int64).reshape(-1, 4)
    out = grouped_machines_bound(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3],
                                 np.array([BIG if m is None else m for m in machines], dtype=np.int64))
    assert list(out) == [parallel_machines_bound(groups[g], machines[g]) for g in range(4)]


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 3), st.integers(0, 3)), min_size=1, max_size=5),
       st.integers(1, 3))
def test_machine_bound_never_exceeds_an_exact_schedule(jobs, m):
    """Exhaustive: every assignment of jobs to machines, every order on each machine."""
    best = None
    for assign in itertools.product(range(m), repeat=len(jobs)):
        worst = 0
        for machine in range(m):
            mine = [jobs[i] for i in range(len(jobs)) if assign[i] == machine]
            best_order = None
            for order in itertools.permutations(mine):
                t = end = 0
                for h, p, q in order:
                    t = max(t, h) + p
                    end = max(end, t + q)
                best_order = end if best_order is None else min(best_order, end)
            worst = max(worst, best_order or 0)
        best = worst if best is None else min(best, worst)
    assert parallel_machines_bound(jobs, m) <= best


# ---------------------------------------------------------------- each family where it binds


def reboot_host(hid, **kw):
    return {"id": hid, "state": "needs_reboot", "reboot_minutes": 5, **kw}


def binding(fleet, lim, family):
    """The family's value, checked to be the fleet's bound and the brute-force optimum's floor."""
    parts = bounds_breakdown(fleet, lim)
    opt = optimum(fleet, lim)
    assert opt is not None and parts[family] <= opt
    assert lower_bound(fleet, lim) == max(parts.values())
    return parts[family], opt


def test_source_host_binds():
    fleet = snapshot([reboot_host("h1"), {"id": "h2"}], [{"id": f"v{i}", "host": "h1", "migration_minutes": 3}
                                                          for i in range(3)])
    value, opt = binding(fleet, limits(concurrency={"per_source_host": 2}), "source_host")
    assert value == opt == 6 + 5


def test_source_bandwidth_binds():
    fleet = snapshot([reboot_host("h1", bandwidth_gbps=2), {"id": "h2"}],
                     [{"id": f"v{i}", "host": "h1", "migration_minutes": 2, "migration_gbps": 1} for i in range(3)])
    assert binding(fleet, limits(), "source_bandwidth") == (3 + 5, 9)  # 6 Gbps·minutes through 2 Gbps
    # 2 Gbps carry at most two 1-Gbps migrations at once: two rounds of 2 minutes, then the reboot
    assert binding(fleet, limits(), "source_host") == (4 + 5, 9)


def test_customer_with_tails_and_down_vms_binds():
    # customer a, limit 1: two migrations (tails 5) and one VM down for h2's 5-minute reboot, which
    # overlaps h1's reboot at best: migrate, migrate, then both hosts reboot together
    fleet = snapshot([reboot_host("h1"), reboot_host("h2"), {"id": "h3"}],
                     [{"id": "v1", "host": "h1", "customer": "a", "migration_minutes": 2},
                      {"id": "v2", "host": "h1", "customer": "a", "migration_minutes": 2},
                      {"id": "v3", "host": "h2", "customer": "a", "migratable": False}])
    value, opt = binding(fleet, limits(conflict={"per_customer": 1}), "customer")
    assert value == opt == 2 + 2 + 5
    value, opt = binding(fleet, limits(conflict={"per_customer": 1}, concurrency={"max_hosts_down_per_rack": 1}),
                         "customer")
    assert value == 9 and opt == 14  # the reboots may no longer overlap; the customer bound does not know


def test_rack_datacenter_fleet_and_targets_bind():
    hosts = [reboot_host("h1"), reboot_host("h2", rack="r2"), {"id": "h3"}, {"id": "h4", "rack": "r2"}]
    vms = [{"id": "v1", "host": "h1", "migration_minutes": 3}, {"id": "v2", "host": "h1", "migration_minutes": 3},
           {"id": "v3", "host": "h2", "migration_minutes": 3}]
    fleet = snapshot(hosts, vms)
    assert binding(fleet, limits(concurrency={"per_rack": 1}), "rack") == (6 + 5, 11)
    assert binding(fleet, limits(concurrency={"per_datacenter": 1}), "datacenter") == (9 + 5, 14)
    assert binding(fleet, limits(concurrency={"global": 1}), "fleet") == (9 + 5, 14)
    # non-rolling: 2 targets (h3, h4) × 1 slot for 3 migrations of 3 minutes → 6 + 5
    lim = limits(concurrency={"per_target_host": 1}, capacity={"rolling": False})
    assert binding(fleet, lim, "target_hosts") == (11, 11)


def test_target_bandwidth_binds():
    fleet = snapshot([reboot_host("h1"), {"id": "h2", "bandwidth_gbps": 1}],
                     [{"id": f"v{i}", "host": "h1", "migration_minutes": 2, "migration_gbps": 1} for i in range(3)])
    value, opt = binding(fleet, limits(capacity={"rolling": False}), "target_bandwidth")
    assert value == opt == 6 + 5


def test_hosts_down_binds_with_heads():
    fleet = snapshot([reboot_host("h1"), reboot_host("h2"), reboot_host("h3"), {"id": "h4"}],
                     [{"id": "v1", "host": "h1", "migration_minutes": 4}])
    value, opt = binding(fleet, limits(concurrency={"max_hosts_down_per_rack": 1}), "hosts_down_per_rack")
    assert value == opt == 15  # three 5-minute reboots one at a time; h1's can wait for its migration


def test_rack_sequence_binds():
    # one host down at a time, one migration slot in the rack; A and B each have two 3-minute VMs, A reboots
    # for 5 minutes and B for 8. Whoever reboots second waits for every evacuation of the rack (12 minutes).
    fleet = snapshot([reboot_host("A"), reboot_host("B", reboot_minutes=8), {"id": "T", "rack": "r2"}],
                     [{"id": f"{h}{i}", "host": h.upper(), "migration_minutes": 3} for h in "ab" for i in range(2)])
    lim = limits(concurrency={"per_rack": 1, "max_hosts_down_per_rack": 1})
    value, opt = binding(fleet, lim, "rack_sequence")
    assert value == opt == 19  # b0, b1 [0,6), B down [6,14), a0, a1 [6,12), A down [14,19)
    assert max(v for k, v in bounds_breakdown(fleet, lim).items() if k != "rack_sequence") < 19


@pytest.mark.parametrize("n", [2, 5, 10])
def test_rack_sequence_relaxation_never_beats_the_exact_recursion(n):
    from engine.maintenance.bounds import _sequence_exact, _sequence_relaxed

    rng = np.random.default_rng(n)
    for _ in range(15):
        heads, loads, reboots = (list(map(int, rng.integers(0, 20, n))) for _ in range(3))
        reboots = [r + 1 for r in reboots]
        for m in (None, 1, 3):
            assert _sequence_relaxed(heads, loads, reboots, m) <= _sequence_exact(heads, loads, reboots, m)


def test_rebooted_target_binds():
    # h2 is full; v1 fits nowhere until empty h3 has rebooted (5), then migrates (3), then h1 reboots (5)
    fleet = snapshot([reboot_host("h1"), {"id": "h2", "cpu": 2}, reboot_host("h3", cpu=4)],
                     [{"id": "v1", "host": "h1", "cpu": 4, "migration_minutes": 3},
                      {"id": "w", "host": "h2", "cpu": 2}])
    value, opt = binding(fleet, limits(), "rebooted_target")
    assert value == opt == 13


def test_nothing_to_do_and_explanations():
    assert lower_bound(snapshot([{"id": "h1"}], [{"id": "v1", "host": "h1"}]), limits()) == 0
    fleet = snapshot([reboot_host("h1"), {"id": "h2"}], [{"id": "v1", "host": "h1"}])
    details = bound_details(fleet, limits())
    assert details and all(d.entity and d.reason for d in details)


# ---------------------------------------------------------------- never above the optimum


@SETTINGS
@given(tiny_instances(max_migrations=5))
def test_bounds_never_exceed_the_brute_force_optimum(instance):
    fleet, lim = instance
    opt = optimum(fleet, lim)
    if opt is None:
        return
    parts = bounds_breakdown(fleet, lim)
    assert all(v <= opt for v in parts.values()), (parts, opt)


def naive_optimum(fleet, lim, horizon):
    """Every target and every start in [0, horizon] for every migration and reboot."""
    rebooting = [h for h in fleet.hosts if h.state == "needs_reboot"]
    movers = [(v, h) for h in rebooting for v in fleet.vms_by_host[h.id] if v.migratable]
    best = None
    choices = [[t.id for t in fleet.hosts if t.id != h.id] for _, h in movers]  # never its own source (rule 3)
    for targets in itertools.product(*choices):
        for starts in itertools.product(range(horizon + 1), repeat=len(movers) + len(rebooting)):
            ms = [{"vm": v.id, "source": h.id, "target": t, "start": s, "end": s + v.migration_minutes}
                  for (v, h), t, s in zip(movers, targets, starts)]
            rs = [{"host": h.id, "start": s, "end": s + h.reboot_minutes}
                  for h, s in zip(rebooting, starts[len(movers):])]
            end = max([m["end"] for m in ms] + [r["end"] for r in rs])
            if best is not None and end >= best:
                continue
            plan = MaintenancePlan.model_validate({"status": "feasible", "makespan": end, "migrations": ms,
                                                   "reboots": rs, "solver": {"name": "naive"}})
            if not validate_maintenance(fleet, lim, plan):
                best = end
    return best


@pytest.mark.parametrize("lim", [
    limits(conflict={"per_customer": 1}),
    limits(conflict={"per_customer": 1}, concurrency={"max_hosts_down_per_rack": 1}),
    limits(concurrency={"per_target_host": 1, "per_source_host": 1}),
])
def test_the_oracle_agrees_with_naive_enumeration(lim):
    # h3 holds one VM: the other waits for h2's reboot, during which customer c1's VM s is down
    fleet = snapshot([{"id": "h1", "state": "needs_reboot", "reboot_minutes": 2},
                      {"id": "h2", "state": "needs_reboot", "reboot_minutes": 1, "cpu": 3},
                      {"id": "h3", "cpu": 1}],
                     [{"id": "v1", "host": "h1", "cpu": 1, "migration_minutes": 2},
                      {"id": "v2", "host": "h1", "cpu": 1, "migration_minutes": 1, "customer": "c2"},
                      {"id": "s", "host": "h2", "cpu": 1, "migratable": False}])
    expected = naive_optimum(fleet, lim, horizon=5)
    assert expected is not None
    assert optimum(fleet, lim) == expected
    assert lower_bound(fleet, lim) <= expected


# ---------------------------------------------------------------- speed


def test_bounds_are_fast_on_a_large_fleet():
    n_hosts, per_host = 2000, 10
    hosts = [{"id": f"h{i}", "rack": f"r{i // 20}", "state": "needs_reboot" if i % 2 == 0 else "active",
              "cpu": 64, "memory_gb": 512, "disk_gb": 4000} for i in range(n_hosts)]
    vms = [{"id": f"v{i}", "host": f"h{(i // per_host) * 2}", "customer": f"c{i % 50}", "cpu": 2, "memory_gb": 8,
            "disk_gb": 50, "migration_minutes": 5} for i in range(n_hosts // 2 * per_host)]
    fleet = snapshot(hosts, vms)
    lim = limits(concurrency={"per_source_host": 2, "per_rack": 8, "per_datacenter": 100,
                              "max_hosts_down_per_rack": 2}, conflict={"per_customer": 5})
    t = time.process_time()  # CPU time: ~8 helpers share 2 cores
    value = lower_bound(fleet, lim)
    elapsed = time.process_time() - t
    assert value >= 10_000 * 5 // 100
    assert elapsed < 1.0, f"{elapsed:.2f}s for 10,000 VMs"


def test_the_oracle_can_fix_targets():
    # per_target_host = 1: two targets let both VMs move at once; both fixed onto h2 they move one after the other
    fleet = snapshot([reboot_host("h1"), {"id": "h2", "cpu": 2}, {"id": "h3", "cpu": 2}],
                     [{"id": "a", "host": "h1", "migration_minutes": 3}, {"id": "b", "host": "h1", "migration_minutes": 3}])
    lim = limits(concurrency={"per_target_host": 1})
    assert optimum(fleet, lim) == 3 + 5  # one VM to each target, in parallel
    fixed = brute_force(fleet, lim, targets={"a": "h2", "b": "h2"})
    assert fixed.makespan == 6 + 5 and {m.target for m in fixed.migrations} == {"h2"}


# ---------------------------------------------------------------- rack drain (one host down at a time)


def test_rack_drain_binds():
    # one slot per source, two per rack, one host down at a time: h1 (3 + 6 minutes) drains alone at
    # one migration at a time while the others' reboots go first; the sequence bound misses that
    fleet = snapshot([reboot_host("h0", reboot_minutes=2), reboot_host("h1", reboot_minutes=1),
                      reboot_host("h2", reboot_minutes=3), {"id": "T", "rack": "r2", "cpu": 64}],
                     [{"id": "v0", "host": "h1", "migration_minutes": 3, "customer": "c0"},
                      {"id": "v1", "host": "h1", "migration_minutes": 6, "customer": "c1"},
                      {"id": "v2", "host": "h2", "migration_minutes": 4, "customer": "c2"},
                      {"id": "v3", "host": "h0", "migration_minutes": 5, "customer": "c3"}])
    lim = limits(concurrency={"per_source_host": 1, "per_rack": 2, "max_hosts_down_per_rack": 1})
    value, opt = binding(fleet, lim, "rack_drain")
    assert value == opt == 11
    assert max(v for k, v in bounds_breakdown(fleet, lim).items() if k != "rack_drain") == 10


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 6)), min_size=2, max_size=5),
       st.lists(st.integers(0, 3), min_size=3, max_size=3), st.sampled_from([1, 2]), st.sampled_from([2, 3, None]))
def test_rack_drain_never_exceeds_the_optimum(movers, reboots, per_source, per_rack):
    """Three hosts of one rack reboot one at a time; the drain bound stays at or below the brute-force optimum."""
    hosts = [reboot_host(f"h{i}", reboot_minutes=r) for i, r in enumerate(reboots)]
    hosts.append({"id": "T", "rack": "r2", "cpu": 64})
    vms = [{"id": f"v{i}", "host": f"h{h}", "migration_minutes": p, "customer": f"c{i}"}
           for i, (h, p) in enumerate(movers)]
    lim = limits(concurrency={"per_source_host": per_source, "per_rack": per_rack, "max_hosts_down_per_rack": 1})
    fleet = snapshot(hosts, vms)
    opt = optimum(fleet, lim)
    assert opt is not None
    assert bounds_breakdown(fleet, lim).get("rack_drain", 0) <= opt


def test_rack_drain_needs_a_rate_limit_and_never_overflows():
    hosts = [reboot_host(f"h{i}") for i in range(6)] + [{"id": "T", "rack": "r2", "cpu": 64}]
    vms = [{"id": f"v{i}", "host": f"h{i % 6}", "migration_minutes": 3} for i in range(12)]
    fleet = snapshot(hosts, vms)
    assert "rack_drain" not in bounds_breakdown(fleet, limits(concurrency={"max_hosts_down_per_rack": 1}))
    # per_rack 2 and no per-source limit: every host may use both slots, so draining overlaps the reboots
    # completely and the six 5-minute reboots alone give 30 (huge per-host slots summed without overflow)
    parts = bounds_breakdown(fleet, limits(concurrency={"max_hosts_down_per_rack": 1, "per_rack": 2}))
    assert parts["rack_drain"] == 30
