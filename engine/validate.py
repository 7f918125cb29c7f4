"""The independent plan checker: trusts no solver.

`validate_maintenance` checks a maintenance plan against every rule of
FORMATS.md, "What a valid maintenance plan satisfies", and names every
violation (rule, entities, minute). It shares no code with the solvers: it
reads only the document models of `engine.model`, and derives migration
minutes, throughput, customer limits and usable capacity itself from
FORMATS.md's text (below; the solvers' `engine.derived` is a second,
independent implementation, and tests/test_rules.py checks they agree).

Conventions applied (FORMATS.md leaves them implicit):

* Times are integer minutes; a migration or reboot is busy during the
  half-open interval [start, end).
* Rule "0-format": a record naming an unknown VM or host, or ending before it
  starts, is reported and left out of every other check.
* A plan whose status is `infeasible` or `unknown` claims that it gives no
  schedule. It is valid when it carries no migrations, no reboots and no
  makespan; an `infeasible` plan must also carry a non-empty `explanation`.
  Its `lower_bound`, if any, is not checked (there is no makespan to compare).
* Rule 4 (capacity): a VM occupies the host it is on in the snapshot until the
  end of its migration and its target from the migration's start. A host is
  checked from the first minute a migration arrives there; loads before that
  are the operator's business (an overfull host that only gives VMs away is
  no violation). VMs that do not migrate stay on their host throughout.
* Rule 7 (conflict): a customer's non-migratable VM is down during every
  reboot of its host that the plan contains.

Every time-dependent rule is checked by one sweep over start/end events per
entity (numpy sorts), never by per-minute arrays over the horizon, so a plan
with 100,000 migrations validates in a few seconds.
"""

from __future__ import annotations

import hashlib
import math
import threading
import weakref
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Iterable, Optional

import numpy as np

from engine.model import RESOURCES, VM, Host, Limits, MaintenancePlan, PlacementPlan, Snapshot
from engine.violations import Violation

NO_SCHEDULE_STATUSES = ("infeasible", "unknown")
FOREVER = np.iinfo(np.int64).max // 4  # "until the end of time" for VMs that arrive and stay
TOLERANCE = 1e-6  # relative slack for float sums of demands and bandwidths


# --------------------------------------------------------------------------- FORMATS.md's derived values


@lru_cache(maxsize=4096)
def _exact(x: float) -> Fraction:
    """A JSON number as the decimal it was written as (0.1 is 1/10, not the nearest binary float)."""
    return Fraction(repr(x))


def migration_minutes(vm: VM, limits: Limits) -> int:
    """`vms[].migration_minutes` (default `max(1, ceil(memory_gb / limits.migration.gb_per_minute))`)."""
    if vm.migration_minutes is not None:
        return vm.migration_minutes
    return max(1, math.ceil(_exact(vm.memory_gb) / _exact(limits.migration.gb_per_minute)))


def migration_gbps(vm: VM, limits: Limits) -> float:
    """`vms[].migration_gbps` (default `limits.migration.default_gbps`)."""
    return limits.migration.default_gbps if vm.migration_gbps is None else vm.migration_gbps


def customer_limits(snapshot: Snapshot, limits: Limits) -> dict[str, Optional[int]]:
    """"The per-customer limit of a customer is, first found: `conflict.overrides[id]`, the snapshot's
    `customers[].max_concurrent_migrations`, `max(1, floor(per_customer_fraction × its VM count))`,
    `conflict.per_customer`." For every customer the snapshot names (in `customers` or on a VM);
    None (absent or null): no limit."""
    conflict = limits.conflict
    vm_count: dict[str, int] = {}
    for v in snapshot.vms:
        vm_count[v.customer] = vm_count.get(v.customer, 0) + 1
    own = {c.id: c.max_concurrent_migrations for c in snapshot.customers}
    out: dict[str, Optional[int]] = {}
    for cid in [*own, *vm_count]:
        found = [conflict.overrides.get(cid), own.get(cid)]
        if conflict.per_customer_fraction is not None:
            found.append(max(1, math.floor(_exact(conflict.per_customer_fraction) * vm_count.get(cid, 0))))
        found.append(conflict.per_customer)
        out[cid] = next((x for x in found if x is not None), None)
    return out


def usable_capacity(host: Host, resource: str, limits: Limits) -> float:
    """"capacity × (1 − headroom)", per resource."""
    return float(_exact(getattr(host, resource)) * (1 - _exact(getattr(limits.capacity.headroom, resource))))


def validate_plan(snapshot: Snapshot, limits: Limits, plan: MaintenancePlan | PlacementPlan) -> list[Violation]:
    """Validate a plan of either kind; an empty list means valid."""
    if plan.kind == "maintenance":
        return validate_maintenance(snapshot, limits, plan)
    if plan.kind == "placement":
        try:
            from engine.validate_placement import validate_placement
        except ModuleNotFoundError as exc:
            if exc.name != "engine.validate_placement":
                raise
            raise NotImplementedError(
                "placement plans cannot be validated yet: engine/validate_placement.py does not exist"
            ) from None
        return validate_placement(snapshot, limits, plan)
    raise ValueError(f"unknown plan kind {plan.kind!r}")


# --------------------------------------------------------------------------- resolved plan


@dataclass(frozen=True)
class _Move:
    """A migration whose VM and hosts all exist."""

    vm: VM
    source: Host
    target: Host
    start: int
    end: int


@dataclass(frozen=True)
class _Down:
    host: Host
    start: int
    end: int


@dataclass
class _Plan:
    """The plan's records resolved against the snapshot; bad records become 0-format violations."""

    snapshot: Snapshot
    limits: Limits
    plan: MaintenancePlan
    moves: list[_Move] = field(default_factory=list)
    downs: list[_Down] = field(default_factory=list)
    problems: list[Violation] = field(default_factory=list)

    def __post_init__(self) -> None:
        s = self.snapshot
        for i, m in enumerate(self.plan.migrations):
            bad = []
            if m.vm not in s.vm_by_id:
                bad.append(f"unknown vm {m.vm!r}")
            if m.source not in s.host_by_id:
                bad.append(f"unknown source host {m.source!r}")
            if m.target not in s.host_by_id:
                bad.append(f"unknown target host {m.target!r}")
            if m.end < m.start:
                bad.append(f"ends at {m.end} before it starts at {m.start}")
            if bad:
                self.problems.append(Violation(
                    "0-format", f"migration #{i} (vm {m.vm!r}): " + "; ".join(bad),
                    (m.vm, m.source, m.target), m.start))
                continue
            self.moves.append(_Move(s.vm_by_id[m.vm], s.host_by_id[m.source], s.host_by_id[m.target], m.start, m.end))
        for i, r in enumerate(self.plan.reboots):
            bad = []
            if r.host not in s.host_by_id:
                bad.append(f"unknown host {r.host!r}")
            if r.end < r.start:
                bad.append(f"ends at {r.end} before it starts at {r.start}")
            if bad:
                self.problems.append(Violation("0-format", f"reboot #{i} (host {r.host!r}): " + "; ".join(bad), (r.host,), r.start))
                continue
            self.downs.append(_Down(s.host_by_id[r.host], r.start, r.end))

    def rack(self, host: Host) -> str:
        return host.rack

    def datacenter(self, host: Host) -> str:
        return self.snapshot.rack_by_id[host.rack].datacenter


# --------------------------------------------------------------------------- entry point


def validate_maintenance(snapshot: Snapshot, limits: Limits, plan: MaintenancePlan,
                         rules: Optional[tuple] = None) -> list[Violation]:
    """Every violation of FORMATS.md's maintenance rules, in rule order; [] means valid. `rules`: only
    these of RULES (a continuation checks records and time rules on two views of one plan)."""
    receipt = _Receipt.of(snapshot, limits, plan) if rules is None else None
    if receipt is not None and receipt.held():
        return []  # this very check already passed in this process (see _Receipt)
    p = _Plan(snapshot, limits, plan)
    if plan.status in NO_SCHEDULE_STATUSES:
        out = p.problems + check_no_schedule(p)
    else:
        out = list(p.problems)
        for rule in RULES if rules is None else rules:
            out.extend(rule(p))
    if receipt is not None and not out:
        receipt.keep()
    return out


class _Receipt:
    """That one full check of a plan against one snapshot and one limits object found nothing.

    The rules are a pure function of the snapshot, the limits and the plan's fields other than
    `solver`, `notes` and `inputs` (which no rule reads). A receipt names the snapshot by identity
    (a Snapshot is immutable once built: its cached lookups already rely on that) and the limits and
    the plan by a hash of their content, so a plan or limits changed since, or another snapshot
    object, is checked in full again. Only this module writes receipts, and only for a check that
    ran here and found no violation: asking again about the same inputs (a front-end re-checking
    at the store's door the plan its solve already checked) costs a hash of the plan, not seconds
    at 100k VMs. A few recent receipts are kept; a snapshot is held only weakly."""

    KEEP = 8
    _kept: "list[_Receipt]" = []
    _lock = threading.Lock()

    def __init__(self, snapshot: Snapshot, limits_sha: str, plan_sha: str):
        self.snapshot_ref = weakref.ref(snapshot)
        self.key = (limits_sha, plan_sha)

    @classmethod
    def of(cls, snapshot: Snapshot, limits: Limits, plan: MaintenancePlan) -> Optional["_Receipt"]:
        try:
            return cls(snapshot, _content_sha(limits.model_dump_json()),
                       _content_sha(plan.model_dump_json(exclude={"solver", "notes", "inputs"})))
        except (AttributeError, TypeError, ValueError):  # not a model (a test double): always a full check
            return None

    def _same(self, other: "_Receipt") -> bool:
        mine = self.snapshot_ref()
        return mine is not None and mine is other.snapshot_ref() and self.key == other.key

    def held(self) -> bool:
        with self._lock:
            return any(r._same(self) for r in self._kept)

    def keep(self) -> None:
        with self._lock:
            alive = [r for r in self._kept if r.snapshot_ref() is not None and not r._same(self)]
            _Receipt._kept = (alive + [self])[-self.KEEP:]


def _content_sha(text: str) -> str:
    # (pydantic's JSON of one model class: fields in declaration order, the same text for the same content)
    if not isinstance(text, str):
        raise TypeError("not a model's JSON")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_no_schedule(p: _Plan) -> list[Violation]:
    """An infeasible/unknown plan gives no schedule (see the module docstring)."""
    plan = p.plan
    out = []
    if plan.migrations or plan.reboots:
        out.append(Violation("0-format", f"a plan with status {plan.status!r} carries a schedule "
                             f"({len(plan.migrations)} migration(s), {len(plan.reboots)} reboot(s))", ()))
    if plan.makespan is not None:
        out.append(Violation("0-format", f"a plan with status {plan.status!r} has makespan {plan.makespan}; it must be null", ()))
    if plan.status == "infeasible" and not (plan.explanation or "").strip():
        out.append(Violation("0-format", "an infeasible plan must carry an explanation", ()))
    return out


# --------------------------------------------------------------------------- rules 1-3: records


def check_migrate_once(p: _Plan) -> list[Violation]:
    """Rule 1: each migratable VM of a needs_reboot host migrates exactly once, from that host, for its minutes."""
    out = []
    hosts = p.snapshot.host_by_id
    count: dict[str, int] = {}
    for m in p.moves:
        vm = m.vm
        count[vm.id] = count.get(vm.id, 0) + 1
        if m.source.id != vm.host:
            out.append(Violation("1-migrate-once", f"vm {vm.id!r} migrates from {m.source.id!r} but is on {vm.host!r}",
                                 (vm.id, m.source.id), m.start))
        minutes = migration_minutes(vm, p.limits)
        if m.end - m.start != minutes:
            out.append(Violation("1-migrate-once", f"vm {vm.id!r} migration lasts {m.end - m.start} minutes, "
                                 f"its migration minutes are {minutes}", (vm.id,), m.start))
    for vm in p.snapshot.vms:
        n = count.get(vm.id, 0)
        host = hosts.get(vm.host) if vm.host is not None else None
        must = host is not None and host.state == "needs_reboot" and vm.migratable
        if must and n == 0:
            out.append(Violation("1-migrate-once", f"vm {vm.id!r} on needs_reboot host {host.id!r} never migrates",
                                 (vm.id, host.id)))
        elif must and n > 1:
            out.append(Violation("1-migrate-once", f"vm {vm.id!r} migrates {n} times", (vm.id,)))
        elif not must and n > 0:
            if host is None:
                why = "it is pending (no host)"
            elif not vm.migratable:
                why = "it is not migratable"
            else:
                why = f"its host {host.id!r} is {host.state}"
            out.append(Violation("1-migrate-once", f"vm {vm.id!r} migrates but must not: {why}", (vm.id,)))
    return out


def _moves_by_source(p: _Plan) -> dict[str, list[_Move]]:
    by_source: dict[str, list[_Move]] = {}
    for m in p.moves:
        by_source.setdefault(m.source.id, []).append(m)
    return by_source


def check_reboots(p: _Plan) -> list[Violation]:
    """Rule 2: each needs_reboot host reboots once, for its minutes, after every migration leaving it."""
    out = []
    by_host: dict[str, list[_Down]] = {}
    for d in p.downs:
        by_host.setdefault(d.host.id, []).append(d)
    leaving = _moves_by_source(p)
    for host in p.snapshot.hosts:
        downs = by_host.get(host.id, [])
        if host.state != "needs_reboot":
            if downs:
                out.append(Violation("2-reboot", f"host {host.id!r} is {host.state} but reboots", (host.id,), downs[0].start))
            continue
        if not downs:
            out.append(Violation("2-reboot", f"needs_reboot host {host.id!r} never reboots", (host.id,)))
            continue
        if len(downs) > 1:
            out.append(Violation("2-reboot", f"host {host.id!r} reboots {len(downs)} times", (host.id,), downs[1].start))
        for d in downs:
            if d.end - d.start != host.reboot_minutes:
                out.append(Violation("2-reboot", f"host {host.id!r} reboot lasts {d.end - d.start} minutes, "
                                     f"its reboot_minutes are {host.reboot_minutes}", (host.id,), d.start))
            late = sorted((m for m in leaving.get(host.id, []) if m.end > d.start), key=lambda m: (m.end, m.vm.id))
            if late:
                out.append(Violation("2-reboot", f"host {host.id!r} reboots at minute {d.start} before "
                                     f"{len(late)} migration(s) leaving it end (last at minute {late[-1].end})",
                                     (host.id, *(m.vm.id for m in late)), d.start))
    return out


def check_targets(p: _Plan) -> list[Violation]:
    """Rule 3: same datacenter, not the source, not disabled, needs_reboot targets only after their reboot (rolling)."""
    out = []
    rolling = p.limits.capacity.rolling
    reboot_end: dict[str, int] = {}
    for d in p.downs:
        reboot_end[d.host.id] = max(reboot_end.get(d.host.id, d.end), d.end)
    for m in p.moves:
        vm, src, tgt = m.vm.id, m.source, m.target
        ents = (vm, src.id, tgt.id)
        if tgt.id == src.id:
            out.append(Violation("3-target", f"vm {vm!r} migrates from host {src.id!r} to itself", ents, m.start))
        if p.datacenter(tgt) != p.datacenter(src):
            out.append(Violation("3-target", f"vm {vm!r} migrates from datacenter {p.datacenter(src)!r} "
                                 f"to {p.datacenter(tgt)!r} (host {tgt.id!r})", ents, m.start))
        if tgt.state == "disabled":
            out.append(Violation("3-target", f"vm {vm!r} migrates to disabled host {tgt.id!r}", ents, m.start))
        elif tgt.state == "needs_reboot" and tgt.id != src.id:
            if not rolling:
                out.append(Violation("3-target", f"vm {vm!r} migrates to needs_reboot host {tgt.id!r} "
                                     "but capacity.rolling is false", ents, m.start))
            elif tgt.id not in reboot_end:
                out.append(Violation("3-target", f"vm {vm!r} migrates to needs_reboot host {tgt.id!r} "
                                     "which has no reboot in the plan", ents, m.start))
            elif m.start < reboot_end[tgt.id]:
                out.append(Violation("3-target", f"vm {vm!r} migrates to host {tgt.id!r} at minute {m.start}, "
                                     f"before its reboot ends at minute {reboot_end[tgt.id]}", ents, m.start))
    return out


# --------------------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class Overload:
    """A maximal stretch [start, end) during which one group's load exceeds its limit (end None: forever)."""

    group: int
    start: int
    end: Optional[int]
    peak: float


def sweep_overloads(group: np.ndarray, time: np.ndarray, delta: np.ndarray, limit: np.ndarray,
                    base: Optional[np.ndarray] = None, check_from: Optional[np.ndarray] = None) -> list[Overload]:
    """Load events (group, time, delta) → stretches where base + Σ deltas up to a time > limit[group].

    The load during [t, next event time) is the base plus every delta at time ≤ t. Sorting
    negative deltas first within one (group, time) means intermediate running sums never exceed
    the larger of the loads before and after that time, so only each time's final load is read.
    Only times ≥ check_from[group] count.
    """
    if len(group) == 0:
        return []
    order = np.lexsort((delta, time, group))
    g, t, d = group[order], time[order], delta[order]
    n = len(g)
    run = np.cumsum(d)
    first_of_group = np.r_[True, g[1:] != g[:-1]]
    start_idx = np.maximum.accumulate(np.where(first_of_group, np.arange(n), 0))
    load = run - (run - d)[start_idx]
    if base is not None:
        load = load + base[g]
    last_of_time = np.r_[(g[1:] != g[:-1]) | (t[1:] != t[:-1]), True]
    bg, bt, bl = g[last_of_time], t[last_of_time], load[last_of_time]
    lim = limit[bg]
    over = bl > lim + TOLERANCE * np.maximum(1.0, np.abs(lim))
    if check_from is not None:
        over &= bt >= check_from[bg]
    hits = np.nonzero(over)[0]
    out: list[Overload] = []
    i = 0
    nb = len(bg)
    while i < len(hits):
        j = i
        while j + 1 < len(hits) and hits[j + 1] == hits[j] + 1 and bg[hits[j + 1]] == bg[hits[i]]:
            j += 1
        first, last = hits[i], hits[j]
        nxt = last + 1
        end = int(bt[nxt]) if nxt < nb and bg[nxt] == bg[first] else None
        out.append(Overload(int(bg[first]), int(bt[first]), end, float(bl[first:last + 1].max())))
        i = j + 1
    return out


class _Family:
    """Weighted busy intervals [start, end) on named groups (hosts, racks, customers …), with who caused them."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.group: list[int] = []
        self.start: list[int] = []
        self.end: list[int] = []
        self.weight: list[float] = []
        self.who: list[str] = []

    def gid(self, name: str) -> int:
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.names)
            self.names.append(name)
        return i

    def add(self, name: str, start: int, end: int, weight: float, who: str) -> None:
        self.group.append(self.gid(name))
        self.start.append(start)
        self.end.append(end)
        self.weight.append(weight)
        self.who.append(who)

    def overloads(self, limit_of: Callable[[str], Optional[float]]) -> list[Overload]:
        if not self.group:
            return []
        limit = np.array([np.inf if (x := limit_of(n)) is None else float(x) for n in self.names])
        g = np.asarray(self.group, dtype=np.int64)
        s = np.asarray(self.start, dtype=np.int64)
        e = np.asarray(self.end, dtype=np.int64)
        w = np.asarray(self.weight, dtype=np.float64)
        keep = e > s
        g, s, e, w = g[keep], s[keep], e[keep], w[keep]
        return sweep_overloads(np.r_[g, g], np.r_[s, e], np.r_[w, -w], limit)

    def active(self, group: int, minute: int) -> list[str]:
        """Who is busy in `group` at `minute` (indexed only when a violation is reported)."""
        if not hasattr(self, "_members"):
            self._members: dict[int, list[int]] = {}
            for i, g in enumerate(self.group):
                self._members.setdefault(g, []).append(i)
        return sorted(self.who[i] for i in self._members.get(group, [])
                      if self.start[i] <= minute < self.end[i])


def _report(rule: str, fam: _Family, overloads: list[Overload], what: Callable[[str, Overload], str]) -> list[Violation]:
    out = []
    for o in overloads:
        name = fam.names[o.group]
        until = f" until minute {o.end}" if o.end is not None else ""
        who = fam.active(o.group, o.start)
        out.append(Violation(rule, f"{what(name, o)} from minute {o.start}{until}", (name, *who), o.start))
    return out


# --------------------------------------------------------------------------- rules 4-8: over time


def check_capacity(p: _Plan) -> list[Violation]:
    """Rule 4: from a host's first arrival on, its load ≤ capacity × (1 − headroom) in every resource."""
    hosts = p.snapshot.hosts
    hidx = {h.id: i for i, h in enumerate(hosts)}
    nr = len(RESOURCES)
    base = np.zeros(len(hosts) * nr)
    for vm in p.snapshot.vms:
        if vm.host is not None and vm.host in hidx:
            k = hidx[vm.host] * nr
            for r, res in enumerate(RESOURCES):
                base[k + r] += vm.demand(res)
    first_arrival = np.full(len(hosts) * nr, FOREVER, dtype=np.int64)
    group, time, delta = [], [], []
    arrivals: dict[int, list[_Move]] = {}
    for m in p.moves:
        t = hidx[m.target.id]
        arrivals.setdefault(t, []).append(m)
        src = hidx.get(m.vm.host) if m.vm.host is not None else None
        for r, res in enumerate(RESOURCES):
            dem = m.vm.demand(res)
            group.append(t * nr + r); time.append(m.start); delta.append(dem)
            first_arrival[t * nr + r] = min(first_arrival[t * nr + r], m.start)
            if src is not None:
                group.append(src * nr + r); time.append(m.end); delta.append(-dem)
    if not group:
        return []
    limit = np.array([usable_capacity(h, res, p.limits) for h in hosts for res in RESOURCES])
    found = sweep_overloads(np.asarray(group, dtype=np.int64), np.asarray(time, dtype=np.int64),
                            np.asarray(delta, dtype=np.float64), limit, base, first_arrival)
    out = []
    for o in found:
        h, res = hosts[o.group // nr], RESOURCES[o.group % nr]
        until = f" until minute {o.end}" if o.end is not None else ""
        came = sorted(m.vm.id for m in arrivals.get(o.group // nr, []) if m.start <= o.start)
        hr = getattr(p.limits.capacity.headroom, res)
        out.append(Violation("4-capacity", f"host {h.id!r} {res} load {o.peak:g} exceeds {limit[o.group]:g} "
                             f"(capacity {h.capacity(res):g}, headroom {hr:g}) from minute {o.start}{until}",
                             (h.id, *came), o.start))
    return out


def check_concurrency(p: _Plan) -> list[Violation]:
    """Rule 5: migrations in [start, end) per source host, target host, rack, datacenter and fleet."""
    c = p.limits.concurrency
    out = []
    families: list[tuple[str, Optional[int], Callable[[_Move], Iterable[str]]]] = [
        ("per_source_host", c.per_source_host, lambda m: (m.source.id,)),
        ("per_target_host", c.per_target_host, lambda m: (m.target.id,)),
        ("per_rack", c.per_rack, lambda m: {p.rack(m.source), p.rack(m.target)}),
        ("per_datacenter", c.per_datacenter, lambda m: {p.datacenter(m.source), p.datacenter(m.target)}),
        ("global", c.global_, lambda m: ("fleet",)),
    ]
    kinds = {"per_source_host": "leaving host", "per_target_host": "arriving at host", "per_rack": "touching rack",
             "per_datacenter": "in datacenter", "global": "in"}
    for key, lim, groups_of in families:
        if lim is None:
            continue
        fam = _Family()
        for m in p.moves:
            for name in groups_of(m):
                fam.add(name, m.start, m.end, 1.0, m.vm.id)
        found = fam.overloads(lambda _name, lim=lim: lim)
        out += _report("5-concurrency", fam, found,
                       lambda name, o, key=key, lim=lim: f"{o.peak:g} migrations {kinds[key]} {name!r} "
                                                         f"exceed {key}={lim}")
    return out


def check_bandwidth(p: _Plan) -> list[Violation]:
    """Rule 6: Σ migration_gbps of migrations touching a host ≤ its bandwidth_gbps."""
    fam = _Family()
    for m in p.moves:
        gbps = migration_gbps(m.vm, p.limits)
        for h in {m.source.id: m.source, m.target.id: m.target}.values():
            if h.bandwidth_gbps is not None:
                fam.add(h.id, m.start, m.end, gbps, m.vm.id)
    bw = {h.id: h.bandwidth_gbps for h in p.snapshot.hosts}
    found = fam.overloads(lambda name: bw[name])
    return _report("6-bandwidth", fam, found,
                   lambda name, o: f"{o.peak:g} Gbps of migrations touching host {name!r} exceed its "
                                   f"bandwidth_gbps={bw[name]:g}")


def check_conflict(p: _Plan) -> list[Violation]:
    """Rule 7: a customer's VMs migrating plus its non-migratable VMs on rebooting hosts ≤ its limit."""
    s, limits = p.snapshot, p.limits
    fam = _Family()
    for m in p.moves:
        fam.add(m.vm.customer, m.start, m.end, 1.0, m.vm.id)
    stuck: dict[str, list[VM]] = {}
    for vm in s.vms:
        if not vm.migratable and vm.host is not None:
            stuck.setdefault(vm.host, []).append(vm)
    for d in p.downs:
        for vm in stuck.get(d.host.id, []):
            fam.add(vm.customer, d.start, d.end, 1.0, f"{vm.id} (down with {d.host.id})")
    limit_by_customer = customer_limits(s, limits)

    def limit_of(cid: str) -> Optional[int]:
        return limit_by_customer.get(cid)

    found = fam.overloads(limit_of)
    return _report("7-conflict", fam, found,
                   lambda name, o: f"customer {name!r} has {o.peak:g} VMs migrating or down at once, "
                                   f"its limit is {limit_of(name)}")


def check_hosts_down(p: _Plan) -> list[Violation]:
    """Rule 8: hosts rebooting at once in one rack ≤ max_hosts_down_per_rack."""
    lim = p.limits.concurrency.max_hosts_down_per_rack
    if lim is None:
        return []
    fam = _Family()
    for d in p.downs:
        fam.add(p.rack(d.host), d.start, d.end, 1.0, d.host.id)
    found = fam.overloads(lambda _name: lim)
    return _report("8-hosts-down", fam, found,
                   lambda name, o: f"{o.peak:g} hosts rebooting at once in rack {name!r} "
                                   f"exceed max_hosts_down_per_rack={lim}")


def check_makespan(p: _Plan) -> list[Violation]:
    """Rule 9: makespan = the latest end of any migration or reboot; lower_bound ≤ makespan."""
    plan = p.plan
    ends = [m.end for m in plan.migrations] + [r.end for r in plan.reboots]
    actual = max(ends, default=0)
    out = []
    if plan.makespan is None:
        out.append(Violation("9-makespan", f"plan has no makespan; its latest end is minute {actual}", ()))
    elif plan.makespan != actual:
        out.append(Violation("9-makespan", f"plan says makespan {plan.makespan} but its latest end is "
                             f"minute {actual}", (), actual))
    stated = plan.makespan if plan.makespan is not None else actual
    if plan.lower_bound is not None and plan.lower_bound > stated:
        out.append(Violation("9-makespan", f"lower_bound {plan.lower_bound} exceeds makespan {stated}", ()))
    return out


RULES = (
    check_migrate_once,
    check_reboots,
    check_targets,
    check_capacity,
    check_concurrency,
    check_bandwidth,
    check_conflict,
    check_hosts_down,
    check_makespan,
)
