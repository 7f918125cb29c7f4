"""Independent checker of placement plans (FORMATS.md "Plan (placement)").

Shares no code with the placement solvers: it recomputes every host's final
contents straight from the snapshot and the plan. Rules, each reported with
the VMs and hosts involved:

1-assignment   every pending VM is assigned exactly once; no other VM is assigned.
2-target       the host exists and is `active`.
3-moves        (rebalance only) a move names an existing, migratable VM on an active
               host, from its current host to another in the same datacenter (a live
               migration cannot cross datacenters); at most once per VM; at most
               `max_moves` moves. Other objectives have no moves.
4-capacity     on every host receiving a VM, final load ≤ capacity × (1 − headroom).
5-anti-affinity no host receiving a VM of a customer holds more than
               `max_vms_per_customer_per_host` of that customer's VMs (existing ones
               counted; a host already above the limit may not receive more).
6-value        `value` equals the objective of the final placement: hosts holding any VM
               (min_hosts, rebalance) or the highest load/capacity over every host and
               resource (balance); `lower_bound` ≤ `value`; status is a known word.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Optional

from engine.model import Limits, PlacementPlan, Snapshot
from engine.violations import Violation

_DIMS = ("cpu", "memory_gb", "disk_gb")
_TOL = 1e-6


def validate_placement(snapshot: Snapshot, limits: Limits, plan: PlacementPlan,
                       max_moves: Optional[int] = None) -> list[Violation]:
    out: list[Violation] = []
    if plan.status in ("infeasible", "unknown") and not plan.assignments and not plan.moves:
        return out  # no placement claimed
    hosts = {h.id: h for h in snapshot.hosts}
    rack_dc = {r.id: r.datacenter for r in snapshot.racks}
    vms = {v.id: v for v in snapshot.vms}
    final = {v.id: v.host for v in snapshot.vms}
    receiving: dict[str, set[str]] = defaultdict(set)  # host -> customers whose VMs it receives

    # 1, 2: assignments of pending VMs
    counts = Counter(a.vm for a in plan.assignments)
    for vm_id, n in counts.items():
        if n > 1:
            out.append(Violation("1-assignment", f"VM {vm_id} is assigned {n} times", (vm_id,)))
    for a in plan.assignments:
        vm = vms.get(a.vm)
        if vm is None:
            out.append(Violation("1-assignment", f"VM {a.vm} is not in the snapshot", (a.vm,)))
            continue
        if vm.host is not None:
            out.append(Violation("1-assignment", f"VM {a.vm} is not pending (it runs on {vm.host})", (a.vm,)))
            continue
        if not _check_target(a.vm, a.host, hosts, out):
            continue
        final[a.vm] = a.host
        receiving[a.host].add(vm.customer)
    for v in snapshot.vms:
        if v.host is None and v.id not in counts:
            out.append(Violation("1-assignment", f"pending VM {v.id} is not assigned", (v.id,)))

    # 3: moves
    if plan.moves and plan.objective != "rebalance":
        out.append(Violation("3-moves", f"objective {plan.objective} moves no VM, the plan moves {len(plan.moves)}"))
    if max_moves is not None and len(plan.moves) > max_moves:
        out.append(Violation("3-moves", f"{len(plan.moves)} moves exceed the budget of {max_moves}"))
    moved = Counter(m.vm for m in plan.moves)
    for vm_id, n in moved.items():
        if n > 1:
            out.append(Violation("3-moves", f"VM {vm_id} moves {n} times", (vm_id,)))
    for m in plan.moves:
        vm = vms.get(m.vm)
        if vm is None or vm.host is None:
            out.append(Violation("3-moves", f"VM {m.vm} is not an existing placed VM", (m.vm,)))
            continue
        if m.source != vm.host:
            out.append(Violation("3-moves", f"VM {m.vm} runs on {vm.host}, not on {m.source}", (m.vm, m.source)))
            continue
        if not vm.migratable:
            out.append(Violation("3-moves", f"VM {m.vm} is not migratable", (m.vm,)))
        src = hosts.get(vm.host)
        if src is not None and src.state != "active":
            out.append(Violation("3-moves", f"VM {m.vm} is on {src.state} host {src.id}; only VMs on active hosts move",
                                 (m.vm, src.id)))
        if m.target == m.source:
            out.append(Violation("3-moves", f"VM {m.vm} moves to the host it is on", (m.vm, m.target)))
            continue
        if not _check_target(m.vm, m.target, hosts, out):
            continue
        if src is not None and rack_dc.get(src.rack) != rack_dc.get(hosts[m.target].rack):
            out.append(Violation("3-moves", f"VM {m.vm} moves from datacenter {rack_dc.get(src.rack)} to "
                                            f"{rack_dc.get(hosts[m.target].rack)}; a live migration stays in its "
                                            "datacenter", (m.vm, m.source, m.target)))
        final[m.vm] = m.target
        receiving[m.target].add(vm.customer)

    # final contents
    load: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    per_customer: dict[str, Counter] = defaultdict(Counter)
    for vm_id, host_id in final.items():
        if host_id is None or host_id not in hosts:
            continue
        vm = vms[vm_id]
        for k, dim in enumerate(_DIMS):
            load[host_id][k] += float(getattr(vm, dim))
        per_customer[host_id][vm.customer] += 1

    # 4: capacity, on hosts that receive
    for host_id in sorted(receiving):
        h = hosts[host_id]
        for k, dim in enumerate(_DIMS):
            cap = float(getattr(h, dim)) * (1.0 - float(getattr(limits.capacity.headroom, dim)))
            if load[host_id][k] > cap + _TOL * max(1.0, cap):
                out.append(Violation("4-capacity", f"host {host_id} {dim}: load {load[host_id][k]:g} exceeds "
                                                   f"usable capacity {cap:g}", (host_id,)))

    # 5: anti-affinity, for customers a host receives
    limit = limits.placement.max_vms_per_customer_per_host
    if limit is not None:
        for host_id in sorted(receiving):
            for customer in sorted(receiving[host_id]):
                n = per_customer[host_id][customer]
                if n > limit:
                    out.append(Violation("5-anti-affinity", f"host {host_id} holds {n} VMs of customer {customer} "
                                                            f"(limit {limit})", (host_id, customer)))

    # 6: value and bound
    if plan.value is not None:
        if plan.objective == "balance":
            actual = 0.0
            for host_id, l in load.items():
                h = hosts[host_id]
                for k, dim in enumerate(_DIMS):
                    cap = float(getattr(h, dim))
                    if cap > 0:
                        actual = max(actual, l[k] / cap)
            ok = abs(actual - plan.value) <= 1e-5
        else:
            actual = float(sum(1 for c in per_customer.values() if sum(c.values()) > 0))
            ok = actual == plan.value
        if not ok:
            out.append(Violation("6-value", f"value {plan.value:g} but the placement scores {actual:g}"))
    if plan.value is not None and plan.lower_bound is not None and plan.lower_bound > plan.value + 1e-9:
        out.append(Violation("6-value", f"lower bound {plan.lower_bound:g} exceeds value {plan.value:g}"))
    if plan.status == "optimal" and plan.value is None:
        out.append(Violation("6-value", "an optimal plan needs a value"))
    return out


def _check_target(vm_id: str, host_id: str, hosts: dict, out: list[Violation]) -> bool:
    h = hosts.get(host_id)
    if h is None:
        out.append(Violation("2-target", f"VM {vm_id} goes to unknown host {host_id}", (vm_id, host_id)))
        return False
    if h.state != "active":
        out.append(Violation("2-target", f"VM {vm_id} goes to {h.state} host {host_id}", (vm_id, host_id)))
        return False
    return True
