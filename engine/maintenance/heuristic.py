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
by construction; the other rules are checked at each start.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from typing import Callable, Optional

import numpy as np

from engine.maintenance.problem import RESOURCES, Problem
from engine.maintenance.schedule import Schedule

INF = 1 << 60
STALE_PASSES = 60  # randomised passes without improvement before giving up the budget
STARTED = 0  # try_start: started; else None (source/datacenter/fleet full) or what to wait for
LAXITY_MAX_TASKS = 4000  # the "laxity" priority sorts the ready hosts at every scan: smaller fleets only
LAXITY_NOISE = 10.0  # minutes of random shift of a host's deadline in randomised laxity passes
SHORTLIST_MIN, SHORTLIST_PER_VM = 32, 4  # packing scores this many targets first (see pack)
EXTRA_PASSES_S = 1.0  # without a budget, the other deterministic passes run while the total stays below this
WAKE_PER_SLOT = 4  # parked tasks put back per free slot of the limit they wait for
LOOKAHEAD = 4  # hosts that do not fit tried per opening, beyond which we wait for more room


def _cap(x: Optional[int]) -> int:
    return INF if x is None else x


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
        P = self.p
        nh, nt = len(P.hosts), len(P.tasks)
        tasks = P.tasks
        src_cnt = [0] * nh
        tgt_cnt = [0] * nh
        rack_cnt = [0] * len(P.racks)
        dc_cnt = [0] * len(P.datacenters)
        glob_cnt = 0
        bw_used = [0] * nh
        cust_cnt = [0] * len(P.customers)
        rack_down = [0] * len(P.racks)
        remaining = [len(h.tasks) for h in P.hosts]
        starts = [-1] * nt
        targets = [-1] * nt
        reboot_starts: dict[int, int] = {}
        open_seq: dict[int, int] = {}
        unopened = [h for h in self.order if P.hosts[h].tasks]
        empty_hosts = [h for h in self.order if not P.hosts[h].tasks]  # nothing to evacuate: reboot at once
        failed_at: dict[int, int] = {}  # host -> room version when its packing last failed
        room_version = 0
        waiting_reboot: list[int] = []
        ready: list[int] = []  # "customer" priority: one list in priority order
        ready_by_dc: list[dict[int, list[int]]] = [{} for _ in P.datacenters]  # "host": per source, in open order
        # "host" priority: tasks waiting for what blocks them, a heap each (host open order, priority)
        parked: dict[tuple, list[tuple]] = {}
        events: list[tuple[int, int, int]] = []  # (time, kind 0 migration end / 1 reboot end, id)
        n_reboots = len(P.reboot_hosts)
        rebooted = 0
        blocked_customers: set[int] = set()
        t_now = 0

        by_host = self.priority != "customer"
        by_laxity = self.priority == "laxity"
        left_work = [sum(tasks[j].duration for j in h.tasks) for h in P.hosts]  # minutes not yet started
        prio: dict[int, tuple] = {}  # task -> priority key, fixed when its host opens

        def key(j: int) -> tuple:
            t = tasks[j]
            if by_host:
                return (-t.duration, j)
            return (-self.cust_crit[t.customer], open_seq[t.source], -t.duration, j)

        def add_ready(h: int, new: list[int]) -> None:
            if by_host:
                ready_by_dc[self.dc_of[h]][h] = new
            else:
                ready.extend(new)
                ready.sort(key=prio.__getitem__)

        def scan_ready() -> None:
            """Start every ready migration that the limits allow now, in priority order."""
            if not by_host:
                still = []
                full_customers, full_sources = set(), set()  # they stay full until the scan ends
                for k, j in enumerate(ready):
                    t = tasks[j]
                    if t.customer in full_customers or t.source in full_sources:
                        still.append(j)
                        continue
                    why = try_start(j)
                    if why != STARTED:
                        still.append(j)
                        if why == ("customer", t.customer):
                            full_customers.add(t.customer)
                        elif src_cnt[t.source] >= self.per_src:
                            full_sources.add(t.source)
                    elif glob_cnt >= self.glob or all(c >= self.per_dc for c in dc_cnt):
                        still.extend(ready[k + 1:])  # every datacenter is full: nothing more starts now
                        break
                ready[:] = still
                return
            for d, hosts_ready in enumerate(ready_by_dc):
                if dc_cnt[d] >= self.per_dc:
                    continue
                items = hosts_ready.items()
                if by_laxity:  # the host that can least afford to wait first
                    items = sorted(items, key=lambda kv: self.urgency[kv[0]] - left_work[kv[0]] / self.src_rate[kv[0]])
                for h, waiting in items:
                    if not waiting or src_cnt[h] >= self.per_src:
                        continue
                    if glob_cnt >= self.glob or dc_cnt[d] >= self.per_dc:
                        break
                    still = []
                    for k, j in enumerate(waiting):
                        if src_cnt[h] >= self.per_src or dc_cnt[d] >= self.per_dc or glob_cnt >= self.glob:
                            still.extend(waiting[k:])  # nothing more can leave this host now
                            break
                        why = try_start(j)
                        if why == STARTED:
                            continue
                        if why is None:
                            still.append(j)
                        else:  # parked until that customer / target / rack / host frees capacity
                            heapq.heappush(parked.setdefault(why, []), (open_seq[h], prio[j], j))
                    hosts_ready[h] = still

        def free_slots(key_: tuple) -> int:
            kind, i = key_
            if kind == "customer":
                return self.cust_lim[i] - cust_cnt[i]
            if kind == "target":
                return self.per_tgt - tgt_cnt[i]
            if kind == "rack":
                return self.per_rack - rack_cnt[i]
            return INF  # bandwidth: sizes differ, wake them all

        def wake(key_: tuple) -> None:
            """Put tasks parked on a limit back in their host's list once that limit has room
            (exactly what rescanning them would do, without rescanning them at every event)."""
            waiting = parked.get(key_)
            if not waiting:
                return
            free = free_slots(key_)
            if free <= 0:
                return  # they would fail on the same limit again
            if by_laxity or len(waiting) <= WAKE_PER_SLOT * free:  # (laxity: hosts change rank as they drain)
                woken = [item[-1] for item in parked.pop(key_)]
            else:  # a big customer's hundreds of parked VMs: only the first few can start anyway
                woken = [heapq.heappop(waiting)[-1] for _ in range(WAKE_PER_SLOT * free)]
            touched = set()
            for j in woken:
                s_ = tasks[j].source
                ready_by_dc[self.dc_of[s_]][s_].append(j)
                touched.add(s_)
            for s_ in touched:
                ready_by_dc[self.dc_of[s_]][s_].sort(key=prio.__getitem__)

        def try_start(j: int):
            """Start task j now if every limit allows; else say what blocks it."""
            nonlocal glob_cnt
            t = tasks[j]
            s, g, c = t.source, targets[j], t.customer
            if glob_cnt >= self.glob or src_cnt[s] >= self.per_src:
                return None
            if tgt_cnt[g] >= self.per_tgt:
                return ("target", g)
            if c in blocked_customers or cust_cnt[c] >= self.cust_lim[c]:
                return ("customer", c)
            d = self.dc_of[s]
            if dc_cnt[d] >= self.per_dc:
                return None
            rs, rg = self.rack_of[s], self.rack_of[g]
            if rack_cnt[rs] >= self.per_rack:
                return ("rack", rs)
            if rg != rs and rack_cnt[rg] >= self.per_rack:
                return ("rack", rg)
            if bw_used[s] + t.gbps > self.bw[s]:
                return ("bandwidth", s)
            if bw_used[g] + t.gbps > self.bw[g]:
                return ("bandwidth", g)
            glob_cnt += 1
            src_cnt[s] += 1
            tgt_cnt[g] += 1
            cust_cnt[c] += 1
            dc_cnt[d] += 1
            rack_cnt[rs] += 1
            if rg != rs:
                rack_cnt[rg] += 1
            bw_used[s] += t.gbps
            bw_used[g] += t.gbps
            left_work[s] -= t.duration
            starts[j] = t_now
            heapq.heappush(events, (t_now + t.duration, 0, j))
            return STARTED

        def open_one(lookahead: Optional[int] = LOOKAHEAD) -> bool:
            """Open the first host in order that fits (and whose datacenter has free slots)."""
            if glob_cnt >= self.glob or all(c >= self.per_dc for c in dc_cnt):
                return False
            failures = 0
            for pos, h in enumerate(unopened):
                if lookahead is not None and failures >= lookahead:
                    return False
                if failed_at.get(h) == room_version:
                    failures += 1  # it still does not fit: it counts against the lookahead
                    continue
                if dc_cnt[self.dc_of[h]] >= self.per_dc:
                    continue
                packed = self.pack(h)
                if packed is None:
                    failed_at[h] = room_version
                    failures += 1
                    continue
                unopened.pop(pos)
                open_seq[h] = len(open_seq)
                for j, g in packed:
                    targets[j] = g
                for j, _ in packed:
                    prio[j] = key(j)
                new = sorted((j for j, _ in packed), key=prio.__getitem__)
                waiting = [j for j in new if try_start(j) != STARTED]
                if waiting:
                    add_ready(h, waiting)
                return True
            return False

        def start_reboots() -> bool:
            nonlocal rebooted, room_version
            changed = False
            was_blocked = set(blocked_customers)
            blocked_customers.clear()
            still: list[int] = []
            for h in waiting_reboot:
                hd = P.hosts[h]
                if hd.reboot_minutes > 0:
                    if rack_down[hd.rack] >= self.down_lim:
                        still.append(h)
                        continue
                    if any(cust_cnt[c] + n > self.cust_lim[c] for c, n in hd.down_customers):
                        blocked_customers.update(c for c, _ in hd.down_customers)
                        still.append(h)
                        continue
                    rack_down[hd.rack] += 1
                    for c, n in hd.down_customers:
                        cust_cnt[c] += n
                    heapq.heappush(events, (t_now + hd.reboot_minutes, 1, h))
                else:
                    rebooted += 1
                    if P.rolling:
                        self.available[h] = True
                        room_version += 1
                        changed = True
                reboot_starts[h] = t_now
            waiting_reboot[:] = still
            if by_host:
                for c in was_blocked - blocked_customers:
                    wake(("customer", c))
            return changed

        for h in empty_hosts:
            open_seq[h] = len(open_seq)
            waiting_reboot.append(h)
        guard = 0
        while True:
            guard += 1
            if deadline is not None and guard % 64 == 0 and time.monotonic() > deadline:
                return None
            # 1. everything that ends now
            while events and events[0][0] == t_now:
                _, kind, i = heapq.heappop(events)
                if kind == 0:
                    t = tasks[i]
                    s, g = t.source, targets[i]
                    glob_cnt -= 1
                    src_cnt[s] -= 1
                    tgt_cnt[g] -= 1
                    cust_cnt[t.customer] -= 1
                    dc_cnt[self.dc_of[s]] -= 1
                    rs, rg = self.rack_of[s], self.rack_of[g]
                    rack_cnt[rs] -= 1
                    if rg != rs:
                        rack_cnt[rg] -= 1
                    bw_used[s] -= t.gbps
                    bw_used[g] -= t.gbps
                    self.pending[g] -= 1
                    remaining[s] -= 1
                    if remaining[s] == 0:
                        waiting_reboot.append(s)
                    if by_host:
                        for k in (("customer", t.customer), ("target", g), ("rack", rs), ("rack", rg),
                                  ("bandwidth", s), ("bandwidth", g)):
                            wake(k)
                else:
                    hd = P.hosts[i]
                    rack_down[hd.rack] -= 1
                    for c, n in hd.down_customers:
                        cust_cnt[c] -= n
                        if by_host:
                            wake(("customer", c))
                    rebooted += 1
                    if P.rolling:
                        self.available[i] = True
                        room_version += 1
            # 2. reboots first (they unlock room and must not starve), then waiting
            #    migrations, then open more hosts while slots are free
            start_reboots()
            scan_ready()
            while True:
                progressed = False
                while unopened and open_one():
                    progressed = True
                if waiting_reboot and start_reboots():
                    progressed = True
                if not progressed:
                    break
            if not events:
                # nothing runs: look past the lookahead before declaring a dead end
                while True:
                    progressed = False
                    while unopened and open_one(None):
                        progressed = True
                    if waiting_reboot and start_reboots():
                        progressed = True
                    if not progressed:
                        break
            if rebooted == n_reboots and not events:
                break
            if not events:
                return None  # stuck: nothing runs and nothing can start
            t_now = events[0][0]
        return Schedule(starts=starts, targets=targets, reboot_starts=reboot_starts)


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
        if passes is None and best is not None and ((deadline is not None and time.monotonic() > deadline)
                                                    or (i > 1 and time.monotonic() - t0 > max(budget_s, EXTRA_PASSES_S))):
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
