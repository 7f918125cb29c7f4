"""Constructive heuristic: host-by-host evacuation with list scheduling over time.

How it works (one pass):

* Rebooting hosts are *opened* for evacuation one at a time, in an order
  (emptiest first: an empty host reboots at once and, when rolling, becomes
  free room for the next ones). Opening a host packs all its VMs at once into
  the room available now (best fit, spreading over targets in waves of
  `per_target_host` so target concurrency does not serialise them). A host
  whose VMs do not fit is skipped until a reboot adds room. This is what keeps
  rolling fleets with few empty hosts from dead-ending: room is only ever
  reserved for hosts that can be fully evacuated.
* Time advances from event to event (migration and reboot ends). At each
  minute: finished hosts reboot (before migrations take customer slots), more
  hosts are opened while their datacenter has free migration slots, then
  ready migrations start in priority order whenever every concurrency,
  bandwidth and conflict limit allows.

Several passes with different priority rules run and the shortest plan wins.
Capacity is static (see problem.py), so every plan it returns respects rule 4
by construction (the packing); rules 5-8 are checked at each start by
`_Running`, one method per rule, and a migration or reboot that cannot start
gets a `Blocked` (the limit, its FORMATS rule, and what to wait for).
Rules 1-3 and 9 hold by construction: each VM of a host is packed once onto
an eligible target of its datacenter, a host reboots when its last migration
ends, a rebooting target receives only once its reboot has freed it, and the
makespan is read off the schedule.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from typing import Callable, NamedTuple, Optional

import numpy as np

from engine.maintenance.problem import RESOURCES, Problem
from engine.maintenance.schedule import Schedule

INF = 1 << 60
STALE_PASSES = 60  # randomised passes without improvement before giving up the budget
LAXITY_MAX_TASKS = 4000  # the "laxity" priority sorts the ready hosts at every scan: smaller fleets only
LAXITY_NOISE = 10.0  # minutes of random shift of a host's deadline in randomised laxity passes
SHORTLIST_MIN, SHORTLIST_PER_VM = 32, 4  # packing scores this many targets first (see pack)
EXTRA_PASSES_S = 1.0  # without a budget, the other deterministic passes run while the total stays below this
WAKE_PER_SLOT = 4  # parked tasks put back per free slot of the limit they wait for
LOOKAHEAD = 4  # hosts that do not fit tried per opening, beyond which we wait for more room


def _cap(x: Optional[int]) -> int:
    return INF if x is None else x


RULE_OF_LIMIT = {"per_source_host": 5, "per_target_host": 5, "per_rack": 5, "per_datacenter": 5, "global": 5,
                 "bandwidth": 6, "conflict": 7, "max_hosts_down_per_rack": 8}


class Blocked(NamedTuple):
    """Why a migration or reboot cannot start now: the limit that is full (a FORMATS.md limit name) and
    the entity index it is full on. `entity` None: the source host, its datacenter or the fleet is full,
    nothing specific to wait on (the host's list is rescanned); else the task is parked on this very
    value (a dict key) until that customer, target, rack or host's bandwidth frees a slot."""

    limit: str
    entity: Optional[int]

    @property
    def rule(self) -> int:
        return RULE_OF_LIMIT[self.limit]


FLEET_FULL = Blocked("global", None)
SOURCE_FULL = Blocked("per_source_host", None)
DATACENTER_FULL = Blocked("per_datacenter", None)


class _Running:
    """What runs at the current minute, counted against every limit it uses: one check per FORMATS rule.

    The Blocked values a check returns are built once per entity, so a pass allocates none while it scans.
    """

    __slots__ = ("per_src", "per_tgt", "per_rack", "per_dc", "glob", "down_lim", "cust_lim", "bw_cap", "rack_of",
                 "dc_of", "src", "tgt", "rack", "dc", "fleet", "bw", "cust", "down", "blocked_customers",
                 "target_block", "rack_block", "bandwidth_block", "conflict_block")

    def __init__(self, pass_: "_Pass"):
        P = pass_.p
        nh, nr = len(P.hosts), len(P.racks)
        self.per_src, self.per_tgt, self.per_rack = pass_.per_src, pass_.per_tgt, pass_.per_rack
        self.per_dc, self.glob, self.down_lim = pass_.per_dc, pass_.glob, pass_.down_lim
        self.cust_lim, self.bw_cap = pass_.cust_lim, pass_.bw
        self.rack_of, self.dc_of = pass_.rack_of, pass_.dc_of
        self.src = [0] * nh        # migrations leaving each host
        self.tgt = [0] * nh        # migrations arriving at each host
        self.rack = [0] * nr       # migrations touching each rack (counted once)
        self.dc = [0] * len(P.datacenters)
        self.fleet = 0
        self.bw = [0] * nh         # scaled Gbps of migrations touching each host
        self.cust = [0] * len(P.customers)  # a customer's VMs migrating or down
        self.down = [0] * nr       # hosts rebooting in each rack
        self.blocked_customers: set[int] = set()  # a waiting reboot needs their slots: no new migration of theirs
        self.target_block = [Blocked("per_target_host", h) for h in range(nh)]
        self.rack_block = [Blocked("per_rack", r) for r in range(nr)]
        self.bandwidth_block = [Blocked("bandwidth", h) for h in range(nh)]
        self.conflict_block = [Blocked("conflict", c) for c in range(len(P.customers))]

    # rule 5: concurrency (the scans' quick "nothing more can start here" tests)
    def fleet_full(self) -> bool:
        return self.fleet >= self.glob

    def source_full(self, h: int) -> bool:
        return self.src[h] >= self.per_src

    def datacenter_full(self, d: int) -> bool:
        return self.dc[d] >= self.per_dc

    def every_datacenter_full(self) -> bool:
        return all(c >= self.per_dc for c in self.dc)

    def start_migration(self, t, g: int) -> Optional[Blocked]:
        """Start task t to target g now if rules 5-7 allow it (counted, None), else what blocks it. The
        order of the checks decides what a blocked task waits for. Inline on purpose (no call per limit,
        check and count in one call): this runs for every start attempt of a pass."""
        s, c = t.source, t.customer
        if self.fleet >= self.glob:                                   # rule 5, global
            return FLEET_FULL
        if self.src[s] >= self.per_src:                               # rule 5, per_source_host
            return SOURCE_FULL
        if self.tgt[g] >= self.per_tgt:                               # rule 5, per_target_host
            return self.target_block[g]
        if c in self.blocked_customers or self.cust[c] >= self.cust_lim[c]:  # rule 7
            return self.conflict_block[c]
        d = self.dc_of[s]
        if self.dc[d] >= self.per_dc:                                 # rule 5, per_datacenter
            return DATACENTER_FULL
        rs, rg = self.rack_of[s], self.rack_of[g]
        if self.rack[rs] >= self.per_rack:                            # rule 5, per_rack (source's)
            return self.rack_block[rs]
        if rg != rs and self.rack[rg] >= self.per_rack:               # rule 5, per_rack (target's)
            return self.rack_block[rg]
        bw = self.bw
        if bw[s] + t.gbps > self.bw_cap[s]:                           # rule 6, source
            return self.bandwidth_block[s]
        if bw[g] + t.gbps > self.bw_cap[g]:                           # rule 6, target
            return self.bandwidth_block[g]
        self.fleet += 1
        self.src[s] += 1
        self.tgt[g] += 1
        self.cust[c] += 1
        self.dc[d] += 1
        self.rack[rs] += 1
        if rg != rs:
            self.rack[rg] += 1
        bw[s] += t.gbps
        bw[g] += t.gbps
        return None

    def end_migration(self, t, g: int) -> None:
        s = t.source
        self.fleet -= 1
        self.src[s] -= 1
        self.tgt[g] -= 1
        self.cust[t.customer] -= 1
        self.dc[self.dc_of[s]] -= 1
        rs, rg = self.rack_of[s], self.rack_of[g]
        self.rack[rs] -= 1
        if rg != rs:
            self.rack[rg] -= 1
        self.bw[s] -= t.gbps
        self.bw[g] -= t.gbps

    def freed_by_migration(self, t, g: int) -> tuple[Blocked, ...]:
        """The limits an ended migration frees a slot of (what parked tasks may wait on)."""
        s = t.source
        return (self.conflict_block[t.customer], self.target_block[g], self.rack_block[self.rack_of[s]],
                self.rack_block[self.rack_of[g]], self.bandwidth_block[s], self.bandwidth_block[g])

    def free_slots(self, b: Blocked) -> int:
        """Slots left on the limit a parked task waits on (bandwidth: sizes differ, wake them all)."""
        if b.limit == "conflict":
            return self.cust_lim[b.entity] - self.cust[b.entity]
        if b.limit == "per_target_host":
            return self.per_tgt - self.tgt[b.entity]
        if b.limit == "per_rack":
            return self.per_rack - self.rack[b.entity]
        return INF

    def reboot_blocked(self, hd) -> Optional[Blocked]:
        """Rules 8 and 7 for rebooting host hd now (None: it may start)."""
        if self.down[hd.rack] >= self.down_lim:                      # rule 8
            return Blocked("max_hosts_down_per_rack", hd.rack)
        if any(self.cust[c] + n > self.cust_lim[c] for c, n in hd.down_customers):  # rule 7: its VMs go down
            return Blocked("conflict", None)
        return None

    def start_reboot(self, hd) -> None:
        self.down[hd.rack] += 1
        for c, n in hd.down_customers:
            self.cust[c] += n

    def end_reboot(self, hd) -> None:
        self.down[hd.rack] -= 1
        for c, n in hd.down_customers:
            self.cust[c] -= n


def evacuation_order(problem: Problem) -> list[int]:
    """Rebooting hosts, emptiest first; racks interleaved among hosts of similar load."""
    hosts = problem.hosts
    rank_in_rack: dict[int, int] = {}
    seen: dict[int, int] = {}
    for h in sorted(problem.reboot_hosts, key=lambda i: (hosts[i].load_fraction, hosts[i].id)):
        rack = hosts[h].rack
        rank_in_rack[h] = seen.get(rack, 0)
        seen[rack] = rank_in_rack[h] + 1
    return sorted(
        problem.reboot_hosts,
        key=lambda i: (len(hosts[i].tasks) > 0, round(hosts[i].load_fraction, 1), rank_in_rack[i], hosts[i].rack, hosts[i].id),
    )


def _laxity_terms(problem: Problem, per_src: int) -> tuple[list[float], list[float]]:
    """For the "laxity" priority: a host is urgent when its remaining minutes / its per-source rate are
    large against how early it must finish. With one host down per rack, a rack's hosts reboot one after
    another, lightest first, so a host must be evacuated by (makespan − the reboots from its own onward):
    `urgency` is minus that sum (the makespan is common to all, so it drops out of the comparison)."""
    hosts, tasks = problem.hosts, problem.tasks
    work = [sum(tasks[j].duration for j in h.tasks) for h in hosts]
    urgency = [-float(h.reboot_minutes) for h in hosts]
    if problem.max_hosts_down_per_rack == 1:
        by_rack: dict[int, list[int]] = {}
        for h in problem.reboot_hosts:
            by_rack.setdefault(hosts[h].rack, []).append(h)
        for hs in by_rack.values():
            after = 0
            for h in sorted(hs, key=lambda i: (-work[i], hosts[i].id)):  # heaviest reboots last
                after += hosts[h].reboot_minutes
                urgency[h] = -float(after)
    rate = [float(min(per_src, max(1, len(h.tasks)))) for h in hosts]
    return urgency, rate


class _Pass:
    """One list-scheduling pass with a given host order and task priority."""

    def __init__(self, problem: Problem, order: list[int], priority: str):
        self.p = problem
        self.order = order
        self.priority = priority
        P = problem
        nh = len(P.hosts)
        self.per_src = _cap(P.per_source_host)
        self.per_tgt = _cap(P.per_target_host)
        self.per_rack = _cap(P.per_rack)
        self.per_dc = _cap(P.per_datacenter)
        self.glob = _cap(P.global_limit)
        self.down_lim = _cap(P.max_hosts_down_per_rack)
        self.cust_lim = [_cap(c) for c in P.customer_limits]
        self.rack_of = [h.rack for h in P.hosts]
        self.dc_of = [h.datacenter for h in P.hosts]
        self.bw = [INF if h.bandwidth is None else h.bandwidth for h in P.hosts]
        # numpy views for packing
        self.room = np.array([h.room for h in P.hosts], dtype=np.int64).reshape(nh, len(RESOURCES))
        self.available = np.array([h.state == "active" for h in P.hosts], dtype=bool)
        self.pending = np.zeros(nh, dtype=np.int64)
        self.bw_np = np.array(self.bw, dtype=np.int64)
        self.rack_np = np.array(self.rack_of, dtype=np.int64)
        norm = np.maximum(self.room.max(axis=0), 1) if nh else np.ones(1)
        self.norm = norm.astype(float)
        self.dc_targets = [np.array(t, dtype=np.int64) for t in P.targets_by_datacenter]
        self._demands: dict[int, tuple[list[int], np.ndarray]] = {}
        # customer criticality: remaining work per unit of limit
        work = [0] * len(P.customers)
        for t in P.tasks:
            work[t.customer] += t.duration
        self.cust_crit = [w / max(1, l) if l < INF else 0.0 for w, l in zip(work, self.cust_lim)]
        self.by_host = priority != "customer"  # tasks wait per source host (else: one list by customer urgency)
        self.by_laxity = priority == "laxity"
        if priority == "laxity":
            self.urgency, self.src_rate = _laxity_terms(P, self.per_src)


    # ------------------------------------------------------------------ packing

    def _host_demands(self, h: int) -> tuple[list[int], np.ndarray]:
        """The VMs of host h, largest first, with their demand rows (cached)."""
        cached = self._demands.get(h)
        if cached is None:
            P = self.p
            tasks = sorted(P.hosts[h].tasks, key=lambda j: -sum(d / n for d, n in zip(P.tasks[j].demand, self.norm)))
            arr = np.array([P.tasks[j].demand for j in tasks], dtype=np.int64).reshape(len(tasks), len(RESOURCES))
            cached = self._demands[h] = (tasks, arr)
        return cached

    def pack(self, h: int) -> Optional[list[tuple[int, int]]]:
        """Reserve a target for every VM of host h; None (nothing reserved) if they do not fit."""
        P = self.p
        tasks, demands = self._host_demands(h)
        cands = self.dc_targets[self.dc_of[h]]
        cands = cands[(cands != h) & self.available[cands]]
        if len(cands) == 0:
            return None
        # cheap necessary conditions first: total and largest demand against the room there is
        free = np.maximum(self.room[cands], 0)
        if (demands.sum(axis=0) > free.sum(axis=0)).any() or (demands.max(axis=0) > free.max(axis=0)).any():
            return None
        wave = self.per_tgt if self.per_tgt < INF else 4
        # work on copies of the candidates' rows; written back only when every VM found a target
        room = self.room[cands]
        pending = self.pending[cands].copy()
        bw = self.bw_np[cands]
        inv_norm = 1.0 / self.norm
        # spread arrivals in waves of per_target_host, then stay in the source's rack (a migration
        # inside one rack counts once against per_rack), then fit best: a VM's score on a target is
        # key - its own normalised size, with key = wave × 1e6 + foreign-rack penalty + normalised room
        foreign = (self.rack_np[cands] != self.rack_of[h]) * 1e3 if self.per_rack < INF else np.zeros(len(cands))
        # Many targets: score only a shortlist of the smallest keys. Targets outside it keep their key, so
        # a shortlisted best at or below the smallest outside key is the best of all (else: score all).
        short = None
        outside = np.inf
        if len(cands) > SHORTLIST_MIN + SHORTLIST_PER_VM * len(tasks):
            key = (pending // wave) * 1e6 + foreign + (room * inv_norm).sum(axis=1)
            size = SHORTLIST_MIN + SHORTLIST_PER_VM * len(tasks)
            part = np.argpartition(key, size)
            short, outside = part[:size], float(key[part[size:]].min())
        done: list[tuple[int, int]] = []
        for j, d in zip(tasks, demands):
            gbps = P.tasks[j].gbps
            k = -1
            if short is not None:
                r = room[short]
                ok = (r >= d).all(axis=1) & (bw[short] >= gbps)
                score = (pending[short] // wave) * 1e6 + ((r - d) * inv_norm).sum(axis=1) + foreign[short]
                score[~ok] = np.inf
                best = int(np.argmin(score))
                if score[best] <= outside - float((d * inv_norm).sum()):
                    k = int(short[best])
            if k < 0:
                ok = (room >= d).all(axis=1) & (bw >= gbps)
                if not ok.any():
                    return None
                score = (pending // wave) * 1e6 + ((room - d) * inv_norm).sum(axis=1) + foreign
                score[~ok] = np.inf
                k = int(np.argmin(score))
            room[k] -= d
            pending[k] += 1
            done.append((j, int(cands[k])))
        self.room[cands] = room
        self.pending[cands] = pending
        return done

    # ------------------------------------------------------------------ the pass

    def run(self, deadline: Optional[float]) -> Optional[Schedule]:
        """One pass; None when it dead-ends (nothing runs and nothing can start) or passes `deadline`."""
        self._begin()
        for h in self.order:
            if not self.p.hosts[h].tasks:  # nothing to evacuate: reboot at once
                self.open_seq[h] = len(self.open_seq)
                self.waiting_reboot.append(h)
        n_reboots = len(self.p.reboot_hosts)
        guard = 0
        while True:
            guard += 1
            if deadline is not None and guard % 64 == 0 and time.monotonic() > deadline:
                return None
            self._finish_due()
            # reboots first (they unlock room and must not starve), then waiting migrations,
            # then open more hosts while slots are free
            self._start_reboots()
            self._scan_ready()
            self._open_and_reboot(LOOKAHEAD)
            if not self.events:  # nothing runs: look past the lookahead before declaring a dead end
                self._open_and_reboot(None)
            if self.rebooted == n_reboots and not self.events:
                break
            if not self.events:
                return None  # stuck: nothing runs and nothing can start
            self.t_now = self.events[0][0]
        return Schedule(starts=self.starts, targets=self.targets, reboot_starts=self.reboot_starts)

    def _begin(self) -> None:
        P = self.p
        self.running = _Running(self)
        self.left_work = [sum(P.tasks[j].duration for j in h.tasks) for h in P.hosts]  # minutes not yet started
        self.remaining = [len(h.tasks) for h in P.hosts]   # migrations not yet ended, per source
        self.starts = [-1] * len(P.tasks)
        self.targets = [-1] * len(P.tasks)
        self.reboot_starts: dict[int, int] = {}
        self.open_seq: dict[int, int] = {}
        self.prio: dict[int, tuple] = {}                   # task -> priority key, fixed when its host opens
        self.unopened = [h for h in self.order if P.hosts[h].tasks]
        self.failed_at: dict[int, int] = {}                # host -> room version when its packing last failed
        self.room_version = 0
        self.waiting_reboot: list[int] = []
        self.ready: list[int] = []                         # "customer" priority: one list in priority order
        self.ready_by_dc: list[dict[int, list[int]]] = [{} for _ in P.datacenters]  # else: per source, open order
        self.parked: dict[Blocked, list[tuple]] = {}      # "host" priorities: tasks waiting on a full limit
        self.events: list[tuple[int, int, int]] = []       # (time, kind 0 migration end / 1 reboot end, id)
        self.rebooted = 0
        self.t_now = 0

    def _key(self, j: int) -> tuple:
        t = self.p.tasks[j]
        if self.by_host:
            return (-t.duration, j)
        return (-self.cust_crit[t.customer], self.open_seq[t.source], -t.duration, j)

    # ------------------------------------------------------------------ events

    def _finish_due(self) -> None:
        """End every migration and reboot due now; wake what waited on the limits they free."""
        events, run, P = self.events, self.running, self.p
        while events and events[0][0] == self.t_now:
            _, kind, i = heapq.heappop(events)
            if kind == 0:
                t = P.tasks[i]
                s, g = t.source, self.targets[i]
                run.end_migration(t, g)
                self.pending[g] -= 1
                self.remaining[s] -= 1
                if self.remaining[s] == 0:
                    self.waiting_reboot.append(s)
                if self.by_host:
                    parked = self.parked
                    for b in run.freed_by_migration(t, g):
                        if parked.get(b):  # (the common case, nothing waits on it, costs no call)
                            self._wake(b)
            else:
                hd = P.hosts[i]
                run.end_reboot(hd)
                if self.by_host:
                    for c, _ in hd.down_customers:
                        self._wake(run.conflict_block[c])
                self.rebooted += 1
                if P.rolling:
                    self.available[i] = True
                    self.room_version += 1

    def _try_start(self, j: int) -> Optional[Blocked]:
        """Start migration j now if every limit allows (None), else what blocks it."""
        t = self.p.tasks[j]
        blocked = self.running.start_migration(t, self.targets[j])
        if blocked is None:
            self._started(j, t)
        return blocked

    def _started(self, j: int, t) -> None:
        self.left_work[t.source] -= t.duration
        self.starts[j] = self.t_now
        heapq.heappush(self.events, (self.t_now + t.duration, 0, j))

    def _start_reboots(self) -> bool:
        """Reboot every evacuated host that rules 7 and 8 allow now; True when a reboot freed room at once."""
        P, run = self.p, self.running
        changed = False
        was_blocked = set(run.blocked_customers)
        run.blocked_customers.clear()
        still: list[int] = []
        for h in self.waiting_reboot:
            hd = P.hosts[h]
            if hd.reboot_minutes > 0:
                blocked = run.reboot_blocked(hd)
                if blocked is not None:
                    if blocked.limit == "conflict":  # keep its customers' slots for it (rule 7)
                        run.blocked_customers.update(c for c, _ in hd.down_customers)
                    still.append(h)
                    continue
                run.start_reboot(hd)
                heapq.heappush(self.events, (self.t_now + hd.reboot_minutes, 1, h))
            else:
                self.rebooted += 1
                if P.rolling:
                    self.available[h] = True
                    self.room_version += 1
                    changed = True
            self.reboot_starts[h] = self.t_now
        self.waiting_reboot[:] = still
        if self.by_host:
            for c in was_blocked - run.blocked_customers:
                self._wake(run.conflict_block[c])
        return changed

    # ------------------------------------------------------------------ opening hosts

    def _open_and_reboot(self, lookahead: Optional[int]) -> None:
        """Open hosts and start reboots until neither makes progress."""
        while True:
            progressed = False
            while self.unopened and self._open_one(lookahead):
                progressed = True
            if self.waiting_reboot and self._start_reboots():
                progressed = True
            if not progressed:
                return

    def _open_one(self, lookahead: Optional[int]) -> bool:
        """Open the first host in order that fits (and whose datacenter has free slots)."""
        run = self.running
        if run.fleet_full() or run.every_datacenter_full():
            return False
        failures = 0
        for pos, h in enumerate(self.unopened):
            if lookahead is not None and failures >= lookahead:
                return False
            if self.failed_at.get(h) == self.room_version:
                failures += 1  # it still does not fit: it counts against the lookahead
                continue
            if run.datacenter_full(self.dc_of[h]):
                continue
            packed = self.pack(h)
            if packed is None:
                self.failed_at[h] = self.room_version
                failures += 1
                continue
            self.unopened.pop(pos)
            self.open_seq[h] = len(self.open_seq)
            for j, g in packed:
                self.targets[j] = g
            for j, _ in packed:
                self.prio[j] = self._key(j)
            new = sorted((j for j, _ in packed), key=self.prio.__getitem__)
            waiting = [j for j in new if self._try_start(j) is not None]
            if waiting:
                if self.by_host:
                    self.ready_by_dc[self.dc_of[h]][h] = waiting
                else:
                    self.ready.extend(waiting)
                    self.ready.sort(key=self.prio.__getitem__)
            return True
        return False

    # ------------------------------------------------------------------ starting ready migrations

    def _scan_ready(self) -> None:
        """Start every ready migration that the limits allow now, in priority order."""
        if self.by_host:
            self._scan_by_host()
        else:
            self._scan_by_customer()

    def _scan_by_customer(self) -> None:
        # the hottest loop of a "customer" pass (the ready list holds every waiting migration): locals only
        run, tasks, ready, targets = self.running, self.p.tasks, self.ready, self.targets
        start, started, src, per_src = run.start_migration, self._started, run.src, run.per_src
        still: list[int] = []
        keep = still.append
        full_customers, full_sources = set(), set()  # they stay full until the scan ends
        for k, j in enumerate(ready):
            t = tasks[j]
            if t.customer in full_customers or t.source in full_sources:
                keep(j)
                continue
            blocked = start(t, targets[j])
            if blocked is not None:
                keep(j)
                if blocked.limit == "conflict" and blocked.entity == t.customer:
                    full_customers.add(t.customer)
                elif src[t.source] >= per_src:
                    full_sources.add(t.source)
                continue
            started(j, t)
            if run.fleet_full() or run.every_datacenter_full():
                still.extend(ready[k + 1:])  # every datacenter is full: nothing more starts now
                break
        ready[:] = still

    def _scan_by_host(self) -> None:
        # hot: the counters are read directly (rule 5's source, datacenter and fleet limits)
        run, tasks, targets = self.running, self.p.tasks, self.targets
        start, started, src, dc = run.start_migration, self._started, run.src, run.dc
        per_src, per_dc, glob = run.per_src, run.per_dc, run.glob
        for d, hosts_ready in enumerate(self.ready_by_dc):
            if dc[d] >= per_dc:
                continue
            items = hosts_ready.items()
            if self.by_laxity:  # the host that can least afford to wait first
                items = sorted(items, key=lambda kv: self.urgency[kv[0]] - self.left_work[kv[0]] / self.src_rate[kv[0]])
            for h, waiting in items:
                if not waiting or src[h] >= per_src:
                    continue
                if run.fleet >= glob or dc[d] >= per_dc:
                    break
                still = []
                for k, j in enumerate(waiting):
                    if src[h] >= per_src or dc[d] >= per_dc or run.fleet >= glob:
                        still.extend(waiting[k:])  # nothing more can leave this host now
                        break
                    t = tasks[j]
                    blocked = start(t, targets[j])
                    if blocked is None:
                        started(j, t)
                    elif blocked.entity is None:
                        still.append(j)
                    else:  # parked until that customer / target / rack / host frees capacity
                        heapq.heappush(self.parked.setdefault(blocked, []), (self.open_seq[h], self.prio[j], j))
                hosts_ready[h] = still

    def _wake(self, blocked: Blocked) -> None:
        """Put tasks parked on a limit back in their host's list once that limit has room
        (exactly what rescanning them would do, without rescanning them at every event)."""
        waiting = self.parked.get(blocked)
        if not waiting:
            return
        free = self.running.free_slots(blocked)
        if free <= 0:
            return  # they would fail on the same limit again
        if self.by_laxity or len(waiting) <= WAKE_PER_SLOT * free:  # (laxity: hosts change rank as they drain)
            woken = [item[-1] for item in self.parked.pop(blocked)]
        else:  # a big customer's hundreds of parked VMs: only the first few can start anyway
            woken = [heapq.heappop(waiting)[-1] for _ in range(WAKE_PER_SLOT * free)]
        tasks, ready_by_dc = self.p.tasks, self.ready_by_dc
        touched = set()
        for j in woken:
            s_ = tasks[j].source
            ready_by_dc[self.dc_of[s_]][s_].append(j)
            touched.add(s_)
        for s_ in touched:
            ready_by_dc[self.dc_of[s_]][s_].sort(key=self.prio.__getitem__)


def critical_order(problem: Problem, noise: Optional[random.Random] = None) -> list[int]:
    """Rebooting hosts, longest evacuation (work / per-source slots + reboot) first: the hosts
    that bound the makespan start at once when room is plentiful."""
    hosts, tasks = problem.hosts, problem.tasks
    slots = problem.per_source_host

    def length(h: int) -> float:
        hd = hosts[h]
        work = sum(tasks[j].duration for j in hd.tasks)
        k = min(slots, len(hd.tasks)) if slots is not None else len(hd.tasks)
        value = work / max(1, k) + hd.reboot_minutes
        return value * (1.0 + noise.uniform(-0.3, 0.3)) if noise is not None else value

    return sorted(problem.reboot_hosts, key=lambda h: (-length(h), hosts[h].id))


def schedule_heuristic(problem: Problem, *, deadline: Optional[float] = None, budget_s: float = 0.0,
                       seed: int = 0, stop: Optional[Callable[[], bool]] = None,
                       passes: Optional[int] = None) -> Optional[Schedule]:
    """The best plan of a few list-scheduling passes; None if every pass dead-ends.

    Passes: (emptiest-first | longest-first host order) × (host | customer priority); with a
    `budget_s`, more passes until it is spent: randomly perturbed longest-first orders, or
    small random shakes of the best order so far. `passes` (deterministic mode) replaces the
    clock: every fixed pass, then seeded random ones up to `passes` in all, no deadline.
    """
    if any(len(h.tasks) and not problem.targets_by_datacenter[h.datacenter] for h in problem.hosts):
        return None
    t0 = time.monotonic()
    best: Optional[Schedule] = None
    best_key = (math.inf, math.inf)
    priorities = ["host"]
    if any(l is not None for l in problem.customer_limits):
        priorities.append("customer")
    if len(problem.tasks) <= LAXITY_MAX_TASKS:
        priorities.append("laxity")
    plans = [(order, pr) for order in (evacuation_order(problem), critical_order(problem)) for pr in priorities]
    rng = random.Random(seed)
    best_plan = plans[0]
    i = 0
    stale = 0  # passes since the last improvement
    while True:
        if i < len(plans):
            order, priority = plans[i]
        elif ((i < passes if passes is not None else time.monotonic() - t0 < budget_s)
              and best is not None and stale < STALE_PASSES and not (stop is not None and stop())):
            if rng.random() < 0.5:
                order, priority = critical_order(problem, rng), rng.choice(priorities)
            else:  # a local shake of the best order so far
                order, priority = _perturbed(best_plan[0], rng), best_plan[1]
        else:
            break
        i += 1
        if best is not None and ((stop is not None and stop())  # cancelled: keep the plan we have
                                 or (passes is None and ((deadline is not None and time.monotonic() > deadline)
                                                         or (i > 1 and time.monotonic() - t0
                                                             > max(budget_s, EXTRA_PASSES_S))))):
            break  # big fleets: a few seconds of passes, then hand over
        # the deadline cuts extra passes, never the pass that gives the first plan
        one = _Pass(problem, order, priority)
        if priority == "laxity" and i > len(plans):  # random passes: shake the hosts' deadlines too
            one.urgency = [u + rng.uniform(-LAXITY_NOISE, LAXITY_NOISE) for u in one.urgency]
        sched = one.run(deadline if best is not None and passes is None else None)
        if sched is None:
            continue
        k = (sched.makespan(problem), sched.total_completion(problem))
        stale += 1
        if k < best_key:
            best, best_key, best_plan = sched, k, (order, priority)
            stale = 0
    return best


def _perturbed(order: list[int], rng: random.Random, strength: float = 0.05) -> list[int]:
    """The order with each host moved by up to `strength` of its length."""
    n = len(order)
    keys = {h: i + rng.uniform(-strength, strength) * n for i, h in enumerate(order)}
    return sorted(order, key=keys.__getitem__)
