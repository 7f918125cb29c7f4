"""Provable lower bounds on the makespan of a maintenance plan.

Every bound here is a relaxation of FORMATS.md's rules: it keeps a subset of
the constraints, so no valid plan can finish earlier. A bound above the true
optimum would make the product lie about its gap, so each one states its
argument and the tests check them against a brute-force optimum on tiny fleets.

The workhorse is the parallel-machines bound. A limit of m simultaneous unit
"slots" (a source host's per_source_host, a customer's conflict limit, a
rack's per_rack …) is a cumulative of capacity m with unit demands; interval
graphs are perfect, so every such schedule is a schedule on m parallel
machines. A job j has a head h_j (it cannot start earlier), a length p_j and a
tail q_j (the plan cannot end sooner than q_j after the job ends: a migration's
tail is its source host's reboot). On a machine whose first job is f and last
job is l, T ≥ h_f + (load of the machine) + q_l. Summing over the k ≤ min(m, n)
machines in use: k·T ≥ Σp + (k smallest heads) + (k smallest tails). We do not
know k, so the bound is the minimum over k. Also T ≥ h_j + p_j + q_j for every
job, and when n > m two of the m+1 longest jobs share a machine:
T ≥ p_(m) + p_(m+1) + min h + min q.

Everything is computed on numpy arrays grouped by entity, so 100,000 VMs take
a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Optional, Sequence

import numpy as np

from engine.maintenance.problem import SCALE, Problem, build_problem
from engine.model import RESOURCES, Limits, Snapshot

EPS = 1e-9
BIG = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class Bound:
    """One family's strongest bound and the entity that gives it."""

    family: str
    value: int
    entity: str
    reason: str


def lower_bound(snapshot: Snapshot, limits: Limits) -> int:
    """The makespan no valid plan can beat (0 when nothing needs a reboot)."""
    return max((b.value for b in bound_details(snapshot, limits)), default=0)


def bounds_breakdown(snapshot: Snapshot, limits: Limits) -> dict[str, int]:
    """Family name → its strongest bound, so a UI can show which bound binds."""
    return {b.family: b.value for b in bound_details(snapshot, limits)}


def bound_details(snapshot: Snapshot, limits: Limits) -> list[Bound]:
    """The strongest bound of every family that applies, with its binding entity and a sentence why."""
    return problem_bound_details(build_problem(snapshot, limits))


def problem_bound_details(problem: Problem) -> list[Bound]:
    """`bound_details` of a problem already built (the whole fleet's, or an unrestricted component's:
    a component that shares no limit with the rest of the fleet bounds the fleet too)."""
    f = _Facts(problem)
    if not f.n_rebooting:
        return []
    out: list[Bound] = []
    for family in FAMILIES:
        found = family(f)
        if found:
            out.append(max(found, key=lambda b: b.value))
    return out


# --------------------------------------------------------------------------- the machine bound


def parallel_machines_bound(jobs: Sequence[tuple[int, int, int]], machines: Optional[int]) -> int:
    """Lower bound on T for (head, length, tail) jobs on `machines` parallel machines (None: unlimited).

    The scalar reference of `grouped_machines_bound` (see the module doc for the argument).
    Requires machines ≥ 1 when there are jobs (0 machines means infeasible; callers skip it).
    """
    if not jobs:
        return 0
    n = len(jobs)
    best = max(h + p + q for h, p, q in jobs)
    kmax = n if machines is None else min(machines, n)
    heads = sorted(h for h, _, _ in jobs)
    tails = sorted(q for _, _, q in jobs)
    total = sum(p for _, p, _ in jobs)
    spread = min(-(-(total + sum(heads[:k]) + sum(tails[:k])) // k) for k in range(1, kmax + 1))
    best = max(best, spread)
    if machines is not None and n > machines:
        longest = sorted((p for _, p, _ in jobs), reverse=True)
        best = max(best, longest[machines - 1] + longest[machines] + heads[0] + tails[0])
    return best


def _rank_in_group(group: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order sorting by (group, key) and each element's 0-based rank inside its group in that order."""
    order = np.lexsort((key, group))
    g = group[order]
    n = len(g)
    first = np.r_[True, g[1:] != g[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    return order, np.arange(n) - start


def _group_cumsum(group_sorted: np.ndarray, values_sorted: np.ndarray) -> np.ndarray:
    run = np.cumsum(values_sorted)
    n = len(run)
    first = np.r_[True, group_sorted[1:] != group_sorted[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    return run - (run - values_sorted)[start]


def grouped_machines_bound(group: np.ndarray, head: np.ndarray, length: np.ndarray, tail: np.ndarray,
                           machines: np.ndarray) -> np.ndarray:
    """`parallel_machines_bound` for many groups at once.

    group[j] ∈ [0, G) names job j's group, machines[g] its slots (≥ 1; BIG for unlimited).
    Returns the bound of every group (0 for a group without jobs).
    """
    n_groups = len(machines)
    out = np.zeros(n_groups, dtype=np.int64)
    if len(group) == 0:
        return out
    group = group.astype(np.int64)
    count = np.bincount(group, minlength=n_groups)
    total = np.bincount(group, weights=length, minlength=n_groups).astype(np.int64)
    np.maximum.at(out, group, head + length + tail)
    kmax = np.minimum(machines, count)
    # spread over k machines, k = 1 .. kmax: heads and tails sorted ascending within each group
    oh, rank = _rank_in_group(group, head)
    g_sorted = group[oh]
    hcum = _group_cumsum(g_sorted, head[oh])
    ot, _ = _rank_in_group(group, tail)
    qcum = _group_cumsum(group[ot], tail[ot])
    # both orders list each group's jobs in the same slots (group-major), so position i is rank i in both
    k = rank + 1
    value = -(-(total[g_sorted] + hcum + qcum) // k)
    value = np.where(k <= kmax[g_sorted], value, BIG)
    spread = np.full(n_groups, BIG, dtype=np.int64)
    np.minimum.at(spread, g_sorted, value)
    has = count > 0
    out[has] = np.maximum(out[has], spread[has])
    # two of the m+1 longest jobs share a machine
    ol, rank_l = _rank_in_group(group, -length)
    gl = group[ol]
    m = machines[gl]
    crowded = count[gl] > m
    pair = np.zeros(n_groups, dtype=np.int64)
    sel = crowded & ((rank_l == m - 1) | (rank_l == m))
    np.add.at(pair, gl[sel], length[ol][sel])
    min_h = np.full(n_groups, BIG, dtype=np.int64)
    np.minimum.at(min_h, group, head)
    min_q = np.full(n_groups, BIG, dtype=np.int64)
    np.minimum.at(min_q, group, tail)
    two = count > machines
    out[two] = np.maximum(out[two], pair[two] + min_h[two] + min_q[two])
    return out


# --------------------------------------------------------------------------- facts shared by the families


class _Facts:
    """What every family reads, as arrays over the shared `Problem` (problem.py: one view of the fleet, so
    migration minutes, limits and the room a host offers are derived once): hosts, the migrations the
    rebooting hosts force (movers), the non-migratable VMs that go down with their host (stuck), and each
    host's earliest reboot start (head). Demands, room and bandwidths are the problem's scaled integers
    (exact for inputs with up to three decimals, as in the models)."""

    def __init__(self, problem: Problem):
        self.p = problem
        hosts, tasks = problem.hosts, problem.tasks
        self.host_ids = [h.id for h in hosts]
        self.rack_ids = list(problem.racks)
        self.dc_ids = list(problem.datacenters)
        self.host_rack = np.array([h.rack for h in hosts], dtype=np.int64)
        self.host_dc = np.array([h.datacenter for h in hosts], dtype=np.int64)
        self.state = np.array([h.state for h in hosts], dtype=object)
        self.rebooting = self.state == "needs_reboot"
        self.n_rebooting = int(self.rebooting.sum())
        self.active = self.state == "active"
        self.reboot = np.array([h.reboot_minutes for h in hosts], dtype=np.int64)
        self.has_bw = np.array([h.bandwidth is not None for h in hosts], dtype=bool)
        self.bw = np.array([np.inf if h.bandwidth is None else h.bandwidth / SCALE for h in hosts], dtype=np.float64)
        # what may ever arrive on a host: an active host's spare room, a rebooted host's room once only its
        # non-migratable VMs stay (negative: over-full)
        self.room = np.array([h.room for h in hosts], dtype=np.int64).reshape(-1, len(RESOURCES))

        self.cust_ids = list(problem.customers)
        self.mv_id = [t.vm for t in tasks]
        self.mv_src = np.array([t.source for t in tasks], dtype=np.int64)
        self.mv_cust = np.array([t.customer for t in tasks], dtype=np.int64)
        self.mv_demand = np.array([t.demand for t in tasks], dtype=np.int64).reshape(-1, len(RESOURCES))
        self.mv_minutes = np.array([t.duration for t in tasks], dtype=np.int64)
        self.mv_gbps = np.array([t.gbps / SCALE for t in tasks], dtype=np.float64)
        self.mv_tail = self.reboot[self.mv_src]
        self.n_movers = len(tasks)
        stuck = [(h.index, c) for h in hosts if h.reboots for c, n in h.down_customers for _ in range(n)]
        self.st_host = np.array([h for h, _ in stuck], dtype=np.int64)
        self.st_cust = np.array([c for _, c in stuck], dtype=np.int64)
        self.head = self._evacuation()

    def _evacuation(self) -> np.ndarray:
        """Earliest end of each host's evacuation: per_source_host slots, and its bandwidth. With bandwidth B
        and migrations of at least g Gbps, at most floor(B / g) run at once: fewer slots still."""
        n = len(self.host_ids)
        per_source = self.p.per_source_host
        machines = np.full(n, per_source if per_source else BIG, dtype=np.int64)
        min_gbps = np.full(n, np.inf)
        np.minimum.at(min_gbps, self.mv_src, self.mv_gbps)
        by_bw = self.has_bw & (min_gbps > 0) & np.isfinite(min_gbps) & (self.bw >= min_gbps)
        slots = np.floor(self.bw[by_bw] / min_gbps[by_bw] + EPS)
        machines[by_bw] = np.minimum(machines[by_bw], np.minimum(slots, BIG).astype(np.int64))
        zeros = np.zeros(self.n_movers, dtype=np.int64)
        self.slots = machines  # migrations a host can have leaving it at once
        head = grouped_machines_bound(self.mv_src, zeros, self.mv_minutes, zeros, machines)
        energy = np.bincount(self.mv_src, weights=self.mv_gbps * self.mv_minutes, minlength=n)
        ok = self.has_bw & (self.bw > 0) & (energy > 0)
        head[ok] = np.maximum(head[ok], np.ceil(energy[ok] / self.bw[ok] - EPS).astype(np.int64))
        return head

    def movers_bound(self, group: np.ndarray, n_groups: int, machines: int) -> np.ndarray:
        """Movers as (head 0, minutes, tail = source reboot) jobs grouped by `group`."""
        zeros = np.zeros(self.n_movers, dtype=np.int64)
        return grouped_machines_bound(group, zeros, self.mv_minutes, self.mv_tail,
                                      np.full(n_groups, machines, dtype=np.int64))


def _best(family: str, values: np.ndarray, names: Sequence[str], why) -> list[Bound]:
    if len(values) == 0:
        return []
    i = int(np.argmax(values))
    return [Bound(family, int(values[i]), names[i], why(i))]


# --------------------------------------------------------------------------- the families


def source_host_bound(f: _Facts) -> list[Bound]:
    """Evacuate on per_source_host slots (and within its bandwidth), then reboot."""
    values = np.where(f.rebooting, f.head + f.reboot, 0)
    return _best("source_host", values, f.host_ids,
                 lambda i: f"host {f.host_ids[i]} must evacuate (earliest by minute {f.head[i]}) and then "
                           f"reboot for {f.reboot[i]} minutes")


def source_bandwidth_bound(f: _Facts) -> list[Bound]:
    """A source's outgoing Gbps×minutes within its bandwidth, then its reboot (apart, for the breakdown)."""
    n = len(f.host_ids)
    energy = np.bincount(f.mv_src, weights=f.mv_gbps * f.mv_minutes, minlength=n)
    ok = f.has_bw & (f.bw > 0) & (energy > 0)
    if not ok.any():
        return []
    values = np.where(ok, np.ceil(np.where(ok, energy / np.where(ok, f.bw, 1.0), 0) - EPS), 0).astype(np.int64)
    values = np.where(ok, values + f.reboot, 0)
    return _best("source_bandwidth", values, f.host_ids,
                 lambda i: f"host {f.host_ids[i]}: {energy[i]:g} Gbps·minutes through {f.bw[i]:g} Gbps, "
                           f"then its reboot")


def customer_bound(f: _Facts) -> list[Bound]:
    """A customer's migrations (tail: source reboot) and its VMs down with their host (head: the host's
    evacuation; length: its reboot) share its conflict limit."""
    limits = list(f.p.customer_limits)
    machines = np.array([BIG if x is None else x for x in limits], dtype=np.int64)
    group = np.r_[f.mv_cust, f.st_cust]
    head = np.r_[np.zeros(f.n_movers, dtype=np.int64), f.head[f.st_host]]
    length = np.r_[f.mv_minutes, f.reboot[f.st_host]]
    tail = np.r_[f.mv_tail, np.zeros(len(f.st_host), dtype=np.int64)]
    limited = machines < BIG
    keep = limited[group] & (machines[group] >= 1)  # a limit of 0 is infeasible: the precheck says so
    values = grouped_machines_bound(group[keep], head[keep], length[keep], tail[keep], np.maximum(machines, 1))
    values = np.where(limited & (machines >= 1), values, 0)
    if not (limited & (machines >= 1)).any():
        return []
    count = np.bincount(group, minlength=len(f.cust_ids))
    return _best("customer", values, f.cust_ids,
                 lambda i: f"customer {f.cust_ids[i]} has {count[i]} migration(s) or VM(s) down, "
                           f"at most {limits[i]} at once")


def rack_bound(f: _Facts) -> list[Bound]:
    """Migrations leaving a rack touch it: per_rack slots, tails = source reboots."""
    lim = f.p.per_rack
    if not lim or not f.n_movers:
        return []
    group = f.host_rack[f.mv_src]
    values = f.movers_bound(group, len(f.rack_ids), lim)
    count = np.bincount(group, minlength=len(f.rack_ids))
    return _best("rack", values, f.rack_ids,
                 lambda i: f"rack {f.rack_ids[i]} has {count[i]} migration(s) leaving it, per_rack={lim}")


def datacenter_bound(f: _Facts) -> list[Bound]:
    """All migrations of a datacenter on per_datacenter slots."""
    lim = f.p.per_datacenter
    if not lim or not f.n_movers:
        return []
    group = f.host_dc[f.mv_src]
    values = f.movers_bound(group, len(f.dc_ids), lim)
    count = np.bincount(group, minlength=len(f.dc_ids))
    return _best("datacenter", values, f.dc_ids,
                 lambda i: f"datacenter {f.dc_ids[i]} has {count[i]} migration(s), per_datacenter={lim}")


def fleet_bound(f: _Facts) -> list[Bound]:
    """All migrations on the global slots."""
    lim = f.p.global_limit
    if not lim or not f.n_movers:
        return []
    values = f.movers_bound(np.zeros(f.n_movers, dtype=np.int64), 1, lim)
    return _best("fleet", values, ["fleet"], lambda i: f"{f.n_movers} migration(s) in all, global={lim}")


def _eligible(f: _Facts) -> np.ndarray:
    """Hosts that may ever receive a VM."""
    return f.active | (f.rebooting if f.p.rolling else False)


def target_hosts_bound(f: _Facts) -> list[Bound]:
    """Each migration arrives at one of its datacenter's possible targets, per_target_host slots each."""
    lim = f.p.per_target_host
    if not lim or not f.n_movers:
        return []
    n_targets = np.bincount(f.host_dc[_eligible(f)], minlength=len(f.dc_ids))
    group = f.host_dc[f.mv_src]
    zeros = np.zeros(f.n_movers, dtype=np.int64)
    keep = n_targets[group] > 0  # no target at all: infeasible, the precheck says so
    values = grouped_machines_bound(group[keep], zeros[keep], f.mv_minutes[keep], f.mv_tail[keep],
                                    np.maximum(n_targets * lim, 1))
    return _best("target_hosts", values, f.dc_ids,
                 lambda i: f"datacenter {f.dc_ids[i]}: its arrivals share {n_targets[i]} possible target(s) "
                           f"× per_target_host={lim}")


def target_bandwidth_bound(f: _Facts) -> list[Bound]:
    """When every possible target of a datacenter has a bandwidth, the arrivals' Gbps×minutes fit in their
    sum before the last migration ends: T ≥ Σ g·p / Σ B + the smallest tail."""
    if not f.n_movers:
        return []
    eligible = _eligible(f)
    nd = len(f.dc_ids)
    unlimited = np.bincount(f.host_dc[eligible & ~f.has_bw], minlength=nd)
    total_bw = np.bincount(f.host_dc[eligible & f.has_bw], weights=f.bw[eligible & f.has_bw], minlength=nd)
    group = f.host_dc[f.mv_src]
    energy = np.bincount(group, weights=f.mv_gbps * f.mv_minutes, minlength=nd)
    min_tail = np.full(nd, BIG, dtype=np.int64)
    np.minimum.at(min_tail, group, f.mv_tail)
    ok = (unlimited == 0) & (total_bw > 0) & (energy > 0)
    if not ok.any():
        return []
    values = np.zeros(nd, dtype=np.int64)
    values[ok] = np.ceil(energy[ok] / total_bw[ok] - EPS).astype(np.int64) + min_tail[ok]
    return _best("target_bandwidth", values, f.dc_ids,
                 lambda i: f"datacenter {f.dc_ids[i]}: {energy[i]:g} Gbps·minutes into {total_bw[i]:g} Gbps "
                           f"of targets")


def hosts_down_bound(f: _Facts) -> list[Bound]:
    """A rack's reboots on max_hosts_down_per_rack slots, each no earlier than its host's evacuation (head)."""
    lim = f.p.max_hosts_down_per_rack
    if not lim:
        return []
    hosts = np.nonzero(f.rebooting)[0]
    group = f.host_rack[hosts]
    values = grouped_machines_bound(group, f.head[hosts], f.reboot[hosts], np.zeros(len(hosts), dtype=np.int64),
                                    np.full(len(f.rack_ids), lim, dtype=np.int64))
    count = np.bincount(group, minlength=len(f.rack_ids))
    return _best("hosts_down_per_rack", values, f.rack_ids,
                 lambda i: f"rack {f.rack_ids[i]} has {count[i]} host(s) to reboot, "
                           f"max_hosts_down_per_rack={lim}")


RACK_SEQUENCE_EXACT = 12  # racks with at most this many hosts to reboot get the exact subset recursion …
RACK_SEQUENCE_BUDGET = 8_000  # … while the subsets of all racks so treated stay within this (time)


def rack_sequence_bound(f: _Facts) -> list[Bound]:
    """max_hosts_down_per_rack = 1: a rack's reboots (of positive length) run one after another, and the
    k-th to start waits for the evacuation of all k hosts rebooted so far (each host's movers are done
    before its own reboot, and the earlier hosts' before theirs). Evacuating a set S of hosts takes at
    least E(S) = max(max head in S, ceil(Σ minutes of S's movers / m)), m = the migration slots every such
    migration shares (per_rack, per_datacenter, global). So with F(∅) = 0 and
    F(S) = min over h ∈ S of max(F(S − h), E(S)) + reboot_h, T ≥ F(all). Racks with many hosts use the
    order-free relaxation max_k max(k-th smallest head, ceil(k smallest loads / m)) + the n − k + 1
    smallest reboots."""
    p = f.p
    if p.max_hosts_down_per_rack != 1:
        return []
    slots = [x for x in (p.per_rack, p.per_datacenter, p.global_limit) if x]
    m = min(slots) if slots else None
    load = np.bincount(f.mv_src, weights=f.mv_minutes, minlength=len(f.host_ids)).astype(np.int64)
    hosts = np.nonzero(f.rebooting & (f.reboot > 0))[0]
    by_rack: dict[int, list[int]] = {}
    for h in hosts:
        by_rack.setdefault(int(f.host_rack[h]), []).append(int(h))
    out = []
    budget = RACK_SEQUENCE_BUDGET
    for rack, hs in sorted(by_rack.items(), key=lambda kv: len(kv[1])):
        if len(hs) < 2:
            continue
        heads = [int(f.head[h]) for h in hs]
        loads = [int(load[h]) for h in hs]
        reboots = [int(f.reboot[h]) for h in hs]
        if len(hs) <= RACK_SEQUENCE_EXACT and (1 << len(hs)) <= budget:
            budget -= 1 << len(hs)
            value = _sequence_exact(heads, loads, reboots, m)
        else:
            value = _sequence_relaxed(heads, loads, reboots, m)
        out.append(Bound("rack_sequence", value, f.rack_ids[rack],
                         f"rack {f.rack_ids[rack]}: {len(hs)} reboots one at a time, each after the "
                         f"evacuation of every host rebooted before it"))
    return out


def rack_drain_bound(f: _Facts) -> list[Bound]:
    """max_hosts_down_per_rack = 1, seen as a flow. Host h's migrations run before its reboot starts (d_h),
    at most c_h at once (per_source_host, bandwidth slots), and the rack's at most m at once (per_rack,
    per_datacenter, global). For any set Y of the rack's hosts, Σ_Y minutes ≤ ∫ min(m, Σ c_h over h ∈ Y with
    d_h > t) dt. The reboots of positive length run one after another, so the later hosts drain alone:
    with Y's reboots ρ_1 ≤ … ≤ ρ_k, the deadlines are at most T − ρ_1, T − ρ_1 − ρ_2, … (the smallest
    reboots last is the order that leaves the most room, by rearrangement), and R_j = min(m, the j largest
    c_h) bounds the rate while j of Y's hosts still drain:
        Σ_Y minutes ≤ R_k (T − Σρ) + Σ_{j<k} R_j ρ_{j+1}.
    Y ranges over the k hosts with the most migration minutes, k = 1 .. n."""
    p = f.p
    if p.max_hosts_down_per_rack != 1 or not f.n_movers:
        return []
    slots = [x for x in (p.per_rack, p.per_datacenter, p.global_limit) if x]
    m = min(slots) if slots else BIG
    load = np.bincount(f.mv_src, weights=f.mv_minutes, minlength=len(f.host_ids)).astype(np.int64)
    hosts = np.nonzero(f.rebooting & (load > 0))[0]
    by_rack: dict[int, list[int]] = {}
    for h in hosts:
        by_rack.setdefault(int(f.host_rack[h]), []).append(int(h))
    out = []
    for rack, hs in by_rack.items():
        hs.sort(key=lambda h: (-int(load[h]), int(f.reboot[h])))
        best, best_k = 0, 0
        for k in range(1, len(hs) + 1):
            ys = hs[:k]
            rate = [0] + [min(m, x) for x in accumulate(sorted((int(f.slots[h]) for h in ys), reverse=True))]
            if rate[k] >= BIG:
                break  # nothing limits the rate: no bound from here on
            rho = sorted(int(f.reboot[h]) for h in ys)
            work = int(load[ys].sum())
            early = sum(rate[j] * rho[j] for j in range(1, k))  # rho[j] is ρ_{j+1} (0-based)
            value = sum(rho) + max(0, -(-(work - early) // rate[k]))
            if value > best:
                best, best_k = value, k
        if best:
            out.append(Bound("rack_drain", best, f.rack_ids[rack],
                             f"rack {f.rack_ids[rack]}: {best_k} host(s) drain {int(load[hs[:best_k]].sum())} "
                             f"migration minutes while their reboots go one at a time, so the last ones drain "
                             f"alone at their per-source rate"))
    return out


def _evacuated(head: int, load: int, m: Optional[int]) -> int:
    return head if m is None else max(head, -(-load // m))


def _sequence_exact(heads: list[int], loads: list[int], reboots: list[int], m: Optional[int]) -> int:
    n = len(heads)
    full = (1 << n) - 1
    max_head = [0] * (full + 1)
    total = [0] * (full + 1)
    best = [0] * (full + 1)
    for mask in range(1, full + 1):
        low = (mask & -mask).bit_length() - 1
        rest = mask & (mask - 1)
        max_head[mask] = max(max_head[rest], heads[low])
        total[mask] = total[rest] + loads[low]
        ready = _evacuated(max_head[mask], total[mask], m)
        value = None
        bits = mask
        while bits:
            b = (bits & -bits).bit_length() - 1
            bits &= bits - 1
            v = max(best[mask ^ (1 << b)], ready) + reboots[b]
            if value is None or v < value:
                value = v
        best[mask] = value
    return best[full]


def _sequence_relaxed(heads: list[int], loads: list[int], reboots: list[int], m: Optional[int]) -> int:
    n = len(heads)
    heads, loads, reboots = sorted(heads), sorted(loads), sorted(reboots)
    value, prefix = 0, 0
    for k in range(1, n + 1):
        prefix += loads[k - 1]
        value = max(value, _evacuated(heads[k - 1], prefix, m) + sum(reboots[: n - k + 1]))
    return value


def rebooted_target_bound(f: _Facts) -> list[Bound]:
    """Capacity. Active hosts never lose VMs, so their spare room only shrinks. A VM that fits in no active
    host's spare must wait for a rebooted host h (rolling): T ≥ head_h + reboot_h + its migration + its own
    source's reboot. When a datacenter's movers exceed the active spare room in some resource, at least
    one of them goes that way: T ≥ the soonest ready host + the shortest migration + the shortest tail."""
    if not f.p.rolling or not f.n_movers:
        return []
    spare = np.maximum(0, f.room)  # the room of an active host: its VMs never leave
    room_after = f.room  # the room of a rebooted host: only its non-migratable VMs stay
    ready_at = f.head + f.reboot
    out: list[Bound] = []
    mv_dc = f.host_dc[f.mv_src]
    for d, dc in enumerate(f.dc_ids):
        movers = np.nonzero(mv_dc == d)[0]
        if not len(movers):
            continue
        active = np.nonzero(f.active & (f.host_dc == d))[0]
        ready = np.nonzero(f.rebooting & (f.host_dc == d))[0]
        ready = ready[np.argsort(ready_at[ready], kind="stable")]
        sizes, size_of = np.unique(f.mv_demand[movers], axis=0, return_inverse=True)
        size_of = size_of.reshape(-1)
        best: Optional[Bound] = None
        for s_i, size in enumerate(sizes):
            if len(active) and (size <= spare[active]).all(axis=1).any():
                continue
            can_hold = ready[(size <= room_after[ready]).all(axis=1)][:2]
            if not len(can_hold):
                continue  # no target at all: infeasible, and the precheck says so
            js = movers[size_of == s_i]
            src = f.mv_src[js]
            # its target is not its source: the soonest ready host, or the next one when that is the source
            first_ok = src != can_hold[0]
            when = np.where(first_ok, ready_at[can_hold[0]], ready_at[can_hold[-1]])
            valid = first_ok | (len(can_hold) > 1)
            if not valid.any():
                continue
            value = np.where(valid, when + f.mv_minutes[js] + f.mv_tail[js], -1)
            k = int(np.argmax(value))
            j = js[k]
            if best is None or value[k] > best.value:
                best = Bound("rebooted_target", int(value[k]), f.mv_id[j],
                             f"vm {f.mv_id[j]} fits on no active host of {dc}: it waits for a rebooted "
                             f"host (minute {when[k]}), migrates for {f.mv_minutes[j]} minutes, then its "
                             f"source {f.host_ids[src[k]]} reboots")
        if best is not None:
            out.append(best)
        total = f.mv_demand[movers].sum(axis=0)
        room = spare[active].sum(axis=0)
        if len(ready) and (total > room).any():
            soonest = int(ready_at[ready[0]])
            out.append(Bound("rebooted_target",
                             soonest + int(f.mv_minutes[movers].min()) + int(f.mv_tail[movers].min()), dc,
                             f"datacenter {dc}: its movers exceed the spare room of its active hosts, so one "
                             f"waits for a rebooted host (minute {soonest} at the earliest)"))
    return out


FAMILIES = (
    source_host_bound,
    source_bandwidth_bound,
    customer_bound,
    rack_bound,
    datacenter_bound,
    fleet_bound,
    target_hosts_bound,
    target_bandwidth_bound,
    hosts_down_bound,
    rack_sequence_bound,
    rack_drain_bound,
    rebooted_target_bound,
)
