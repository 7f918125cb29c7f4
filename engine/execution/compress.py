"""The remaining plan, kept in order and on its targets, moved as early as the facts allow.

A serial schedule generation pass: the remaining actions (pending and failed ones) in the
old plan's order, each at the earliest minute ≥ now at which every counted limit of
FORMATS.md has room over its whole duration, given the in-progress actions and what this
pass already placed — and after its precedences; with `keep_order`, never before the
action before it (a reboot after its host's evacuation, a
migration after its rolling target's reboot). Targets stay those of the old plan, so the
static room of each target (engine.maintenance.problem) holds as it did.

This is the replan's warm start: valid by construction, far shorter than shifting the
whole remaining plan past its earliest late or failed action, and with the old order kept.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from engine.maintenance.problem import Problem, SCALE
from engine.maintenance.schedule import Schedule

EPS = 1e-9


class _Timeline:
    """Usage over minutes per limited entity, grown on demand."""

    def __init__(self, horizon: int):
        self.size = max(16, horizon)
        self.use: dict[tuple, np.ndarray] = {}

    def _arr(self, key: tuple) -> np.ndarray:
        arr = self.use.get(key)
        if arr is None:
            arr = self.use[key] = np.zeros(self.size)
        return arr

    def _grow(self, end: int) -> None:
        if end <= self.size:
            return
        new = max(end, 2 * self.size)
        for k, a in self.use.items():
            self.use[k] = np.concatenate([a, np.zeros(new - len(a))])
        self.size = new

    def add(self, items: list[tuple[tuple, float, Optional[float]]], start: int, end: int) -> None:
        if end <= start:
            return
        self._grow(end)
        for key, w, lim in items:
            if lim is not None:
                self._arr(key)[start:end] += w

    def earliest(self, items: list[tuple[tuple, float, Optional[float]]], est: int, length: int) -> int:
        """The first t ≥ est where every item fits over [t, t + length): one vectorised scan of a
        window after `est` (doubled until a slot is found)."""
        if length <= 0:
            return est
        limited = [(key, w, lim) for key, w, lim in items if lim is not None]
        for _, w, lim in limited:
            if w > lim + EPS:
                raise ValueError("an action needs more than its limit alone")
        self._grow(est + length)
        if all((arr := self.use.get(key)) is None or arr[est:est + length].max() + w <= lim + EPS
               for key, w, lim in limited):
            return est  # the common case: it fits where it may first start
        window = 4 * length + 256
        while True:
            self._grow(est + window)
            blocked = np.zeros(window, dtype=bool)
            for key, w, lim in limited:
                arr = self.use.get(key)
                if arr is not None:
                    blocked |= arr[est:est + window] + w > lim + EPS
            run = np.concatenate(([0], np.cumsum(blocked)))
            free = (run[length:] - run[:-length]) == 0  # free[t]: nothing blocked in [t, t + length)
            if free.any():
                return est + int(np.argmax(free))
            window *= 2


def _migration_items(p: Problem, j: int, target: int) -> list[tuple[tuple, float, Optional[float]]]:
    t = p.tasks[j]
    src, tgt = p.hosts[t.source], p.hosts[target]
    items = [(("src", src.index), 1.0, p.per_source_host), (("tgt", tgt.index), 1.0, p.per_target_host)]
    items += [(("rack", r), 1.0, p.per_rack) for r in {src.rack, tgt.rack}]
    items += [(("dc", d), 1.0, p.per_datacenter) for d in {src.datacenter, tgt.datacenter}]
    items.append((("global",), 1.0, p.global_limit))
    for h in {src.index: src, tgt.index: tgt}.values():
        if h.bandwidth is not None:
            items.append((("bw", h.index), t.gbps / SCALE, h.bandwidth / SCALE))
    items.append((("cust", t.customer), 1.0, p.customer_limits[t.customer]))
    return items


def _reboot_items(p: Problem, h: int) -> list[tuple[tuple, float, Optional[float]]]:
    hd = p.hosts[h]
    items = [(("down", hd.rack), 1.0, p.max_hosts_down_per_rack)]
    items += [(("cust", c), float(n), p.customer_limits[c]) for c, n in hd.down_customers]
    return items


def compress(problem: Problem, targets: list[int], order: list[tuple[str, int]], fixed_task: dict[int, int],
             fixed_reboot: dict[int, int], now: int, keep_order: bool = True) -> Optional[Schedule]:
    """Place the actions of `order` (("task", j) | ("reboot", h)) in turn; facts stay at their fixed
    starts. `keep_order`: starts never decrease along `order`; else each action may fill an earlier
    gap (shorter, but actions leave the old order). None when the order contradicts a precedence."""
    p = problem
    horizon = now + 4 * sum(t.duration for t in p.tasks) // max(1, len(p.tasks)) + 64
    tl = _Timeline(horizon)
    starts = [0] * len(p.tasks)
    reboot_starts: dict[int, int] = {}
    for j, s in fixed_task.items():
        starts[j] = s
        tl.add(_migration_items(p, j, targets[j]), s, s + p.tasks[j].duration)
    for h, s in fixed_reboot.items():
        reboot_starts[h] = s
        tl.add(_reboot_items(p, h), s, s + p.hosts[h].reboot_minutes)
    placed = set(fixed_task)
    last = now
    for kind, i in order:
        if kind == "task":
            tgt = p.hosts[targets[i]]
            est = last
            if tgt.reboots:
                if tgt.index not in reboot_starts:
                    return None
                est = max(est, reboot_starts[tgt.index] + tgt.reboot_minutes)
            items = _migration_items(p, i, tgt.index)
            s = tl.earliest(items, est, p.tasks[i].duration)
            tl.add(items, s, s + p.tasks[i].duration)
            starts[i] = s
            last = s if keep_order else now
            placed.add(i)
        else:
            hd = p.hosts[i]
            if any(j not in placed for j in hd.tasks):
                return None
            est = max([last] + [starts[j] + p.tasks[j].duration for j in hd.tasks])
            items = _reboot_items(p, i)
            s = tl.earliest(items, est, hd.reboot_minutes)
            tl.add(items, s, s + hd.reboot_minutes)
            reboot_starts[i] = s
            last = s if keep_order else now
    if len(placed) != len(p.tasks) or len(reboot_starts) != len(p.reboot_hosts):
        return None
    return Schedule(starts=starts, targets=list(targets), reboot_starts=reboot_starts)
