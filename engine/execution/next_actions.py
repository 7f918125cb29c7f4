"""Which actions may start now: due by the plan, and breaking no rule given what really runs.

Like an eviction refused by a disruption budget, an action whose start would break a limit
of FORMATS.md (capacity, concurrency per source / target / rack / datacenter / fleet,
bandwidth, customer conflict, hosts down per rack, rolling order, evacuation before a
reboot) is held back with its reasons. "What runs" is every in-progress action, late ones
included (they hold their capacity and concurrency until reported done or failed), plus the
actions this call already lets start: the list as a whole is safe to start at once.

Counts only fall while no new action starts, so a start that fits at `now` fits for its
whole duration; capacity only rises on a target, so fitting now is rule 4 for the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from engine.execution.state import Execution, PlannedAction
from engine.derived import customer_limit, migration_gbps, usable_capacity
from engine.model import RESOURCES, Limits, Snapshot

TOLERANCE = 1e-6


@dataclass(frozen=True)
class NextAction:
    id: str
    kind: str
    subject: str
    source: Optional[str]
    target: Optional[str]
    planned_start: int
    minutes: int
    retry: bool = False

    def to_dict(self) -> dict:
        return {"action": self.id, "kind": self.kind, "source": self.source, "target": self.target,
                "planned_start": self.planned_start, "minutes": self.minutes, "retry": self.retry}


@dataclass(frozen=True)
class HeldBack:
    id: str
    planned_start: int
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"action": self.id, "planned_start": self.planned_start, "reasons": list(self.reasons)}


@dataclass
class NextReport:
    now: int
    may_start: list[NextAction] = field(default_factory=list)
    held_back: list[HeldBack] = field(default_factory=list)
    not_due: int = 0  # pending actions the plan starts later

    def to_dict(self) -> dict:
        return {"now": self.now, "may_start": [a.to_dict() for a in self.may_start],
                "held_back": [h.to_dict() for h in self.held_back], "not_due": self.not_due}


class _Running:
    """Loads at `now`: what is on / arriving at each host, and every counted limit."""

    def __init__(self, snapshot: Snapshot, limits: Limits, execution: Execution, now: int):
        self.s, self.limits = snapshot, limits
        self.load: dict[str, list[float]] = {h.id: [0.0] * len(RESOURCES) for h in snapshot.hosts}
        self.leaving: dict[str, int] = {}
        self.arriving: dict[str, int] = {}
        self.rack: dict[str, int] = {}
        self.dc: dict[str, int] = {}
        self.total = 0
        self.gbps: dict[str, float] = {}
        self.customer: dict[str, float] = {}
        self.down_in_rack: dict[str, int] = {}
        self.stuck: dict[str, list] = {}  # host -> VMs that stay on it (down while it reboots)
        where = {vm.id: vm.host for vm in snapshot.vms}
        for aid, a in execution.actions.items():
            p = execution.planned[aid]
            if p.kind == "migrate" and a.state == "done":
                where[p.subject] = p.target
        skipped = {execution.planned[a].subject for a, st in execution.actions.items()
                   if st.state == "skipped" and execution.planned[a].kind == "migrate"}
        for vm in snapshot.vms:
            host = where[vm.id]
            if host is None:
                continue
            self._add_load(host, vm, 1)
            if not vm.migratable or vm.id in skipped:
                self.stuck.setdefault(host, []).append(vm)
        for aid, a in execution.actions.items():
            if a.state == "in_progress":
                self.start(execution.planned[aid])

    def _add_load(self, host: str, vm, sign: int) -> None:
        load = self.load[host]
        for k, r in enumerate(RESOURCES):
            load[k] += sign * vm.demand(r)

    def _racks(self, p: PlannedAction) -> set[str]:
        return {self.s.rack_of(p.source), self.s.rack_of(p.target)}

    def _dcs(self, p: PlannedAction) -> set[str]:
        return {self.s.datacenter_of(p.source), self.s.datacenter_of(p.target)}

    def _bw_hosts(self, p: PlannedAction) -> list[str]:
        return [h for h in {p.source, p.target} if self.s.host_by_id[h].bandwidth_gbps is not None]

    def start(self, p: PlannedAction) -> None:
        if p.kind == "migrate":
            vm = self.s.vm_by_id[p.subject]
            self._add_load(p.target, vm, 1)  # a migrating VM occupies its target from its start
            self.leaving[p.source] = self.leaving.get(p.source, 0) + 1
            self.arriving[p.target] = self.arriving.get(p.target, 0) + 1
            for r in self._racks(p):
                self.rack[r] = self.rack.get(r, 0) + 1
            for d in self._dcs(p):
                self.dc[d] = self.dc.get(d, 0) + 1
            self.total += 1
            for h in self._bw_hosts(p):
                self.gbps[h] = self.gbps.get(h, 0.0) + migration_gbps(vm, self.limits)
            self.customer[vm.customer] = self.customer.get(vm.customer, 0) + 1
        else:
            rack = self.s.rack_of(p.subject)
            self.down_in_rack[rack] = self.down_in_rack.get(rack, 0) + 1
            for vm in self.stuck.get(p.subject, []):
                self.customer[vm.customer] = self.customer.get(vm.customer, 0) + 1

    def reasons(self, p: PlannedAction) -> list[str]:
        """Every rule starting `p` now would break (empty: it may start)."""
        return self._migration_reasons(p) if p.kind == "migrate" else self._reboot_reasons(p)

    def _migration_reasons(self, p: PlannedAction) -> list[str]:
        s, c = self.s, self.limits.concurrency
        vm = s.vm_by_id[p.subject]
        out = []
        tgt = s.host_by_id[p.target]
        for k, r in enumerate(RESOURCES):
            cap = usable_capacity(tgt, r, self.limits)
            after = self.load[p.target][k] + vm.demand(r)
            if after > cap + TOLERANCE * max(1.0, abs(cap)):
                out.append(f"capacity: host {p.target} {r} would reach {after:g} > {cap:g}")
        checks = [("per_source_host", c.per_source_host, self.leaving.get(p.source, 0), f"leaving host {p.source}"),
                  ("per_target_host", c.per_target_host, self.arriving.get(p.target, 0), f"arriving at host {p.target}")]
        checks += [("per_rack", c.per_rack, self.rack.get(r, 0), f"touching rack {r}") for r in sorted(self._racks(p))]
        checks += [("per_datacenter", c.per_datacenter, self.dc.get(d, 0), f"in datacenter {d}")
                   for d in sorted(self._dcs(p))]
        checks.append(("global", c.global_, self.total, "in the fleet"))
        for name, lim, used, where in checks:
            if lim is not None and used + 1 > lim:
                out.append(f"{name}: {used} migration(s) already {where}, limit {lim}")
        gbps = migration_gbps(vm, self.limits)
        for h in self._bw_hosts(p):
            bw = s.host_by_id[h].bandwidth_gbps
            if self.gbps.get(h, 0.0) + gbps > bw + TOLERANCE * max(1.0, bw):
                out.append(f"bandwidth: host {h} would carry {self.gbps.get(h, 0.0) + gbps:g} Gbps > {bw:g}")
        lim = customer_limit(vm.customer, s, self.limits)
        if lim is not None and self.customer.get(vm.customer, 0) + 1 > lim:
            out.append(f"conflict: customer {vm.customer} already has {self.customer.get(vm.customer, 0):g} "
                       f"VM(s) migrating or down, limit {lim}")
        return out

    def _reboot_reasons(self, p: PlannedAction) -> list[str]:
        out = []
        lim = self.limits.concurrency.max_hosts_down_per_rack
        rack = self.s.rack_of(p.subject)
        if lim is not None and self.down_in_rack.get(rack, 0) + 1 > lim:
            out.append(f"max_hosts_down_per_rack: {self.down_in_rack.get(rack, 0)} host(s) of rack {rack} "
                       f"already rebooting, limit {lim}")
        per_customer: dict[str, int] = {}
        for vm in self.stuck.get(p.subject, []):
            per_customer[vm.customer] = per_customer.get(vm.customer, 0) + 1
        for cid, n in sorted(per_customer.items()):
            lim_c = customer_limit(cid, self.s, self.limits)
            if lim_c is not None and self.customer.get(cid, 0) + n > lim_c:
                out.append(f"conflict: customer {cid} would have {self.customer.get(cid, 0) + n:g} VM(s) "
                           f"migrating or down, limit {lim_c}")
        return out


def safe_next(snapshot: Snapshot, limits: Limits, execution: Execution, now: int) -> NextReport:
    """The actions due by `now` (planned start ≤ now; failed ones to redo) that may start now."""
    report = NextReport(now=now)
    running = _Running(snapshot, limits, execution, now)
    due = []
    for aid, a in execution.actions.items():
        if a.state not in ("pending", "failed"):
            continue
        p = execution.planned[aid]
        if p.start > now:
            report.not_due += 1
        else:
            due.append(p)
    due.sort(key=lambda p: (p.start, p.id))
    for p in due:
        blockers = _order_blockers(execution, p)
        reasons = blockers + (running.reasons(p) if not blockers else [])
        if reasons:
            report.held_back.append(HeldBack(p.id, p.start, tuple(reasons)))
            continue
        running.start(p)
        report.may_start.append(NextAction(p.id, p.kind, p.subject, p.source, p.target, p.start, p.duration,
                                           retry=execution.actions[p.id].state == "failed"))
    return report


def _order_blockers(execution: Execution, p: PlannedAction) -> list[str]:
    """Rules 2 and 3 as event checks: evacuation before a reboot, a rolling target's reboot first."""
    try:
        execution.check_start(p)
    except ValueError as exc:
        return ["order: " + str(exc).split(": ", 1)[-1]]
    return []
