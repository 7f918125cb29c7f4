"""A capacity solve's result as one JSON document, the same for `fleetctl solve capacity --json`
and a capacity run stored by the runner (so the console's Allocation screen shows real slots)."""

from __future__ import annotations

from engine.capacity.solution import _num


def capacity_result(first, second, status: str, phase: str) -> dict:
    """The capacity result document: Phase I's reserved counts, and with Phase II one entry per slot
    (workload per app, status, cost, VMs per app and class)."""
    ids = [ic.id for ic in first.problem.ordered_classes]
    apps = [a.id for a in first.problem.apps]
    phase_i = {
        "status": first.status, "cost": first.cost, "bound": first.bound, "relaxed": first.relaxed,
        "reserved": first.reserved_counts(), "levels": first.levels.n_levels, "slots": first.levels.n_slots,
        "creation_seconds": round(first.creation_time, 4), "solving_seconds": round(first.solving_time, 4),
    }
    if second is None and phase == "ii":  # phase i found nothing to fix
        return {"kind": "capacity", "phase": "ii", "problem": first.problem.id, "status": status, "cost": None,
                "reserved": first.reserved_counts(), "phase_i": phase_i, "slot_statuses": [], "slots": []}
    if second is None:
        out = {"kind": "capacity", "phase": "i", "problem": first.problem.id, **phase_i}
        if first.allocation is not None:
            out["allocation"] = [
                {"workload": [_num(v) for v in lv], "repeats": int(n), "vms": vms_per_app(alloc, apps, ids)}
                for lv, n, alloc in zip(first.levels.values, first.levels.repeats, first.allocation)
            ]
        return out
    ids2 = [ic.id for ic in second.problem.ordered_classes]
    apps2 = [a.id for a in second.problem.apps]
    slots = []
    for t, level in enumerate(second.levels.slot_level):
        r = second.results[level]
        slots.append({
            "slot": t, "workload": [_num(v) for v in second.workloads[t]], "status": r.status, "cost": r.cost,
            "served": None if r.served is None else [round(float(s), 6) for s in r.served],
            "vms": None if r.allocation is None else vms_per_app(r.allocation, apps2, ids2),
        })
    return {
        "kind": "capacity", "phase": "ii", "problem": second.problem.id, "status": status, "cost": second.cost,
        "reserved": first.reserved_counts(), "phase_i": phase_i, "statistics": second.stats,
        "slot_statuses": second.slot_statuses, "slots": slots,
    }


def vms_per_app(alloc, apps: list[str], ids: list[str]) -> dict:
    return {a: {c: _num(v) for c, v in zip(ids, row) if v} for a, row in zip(apps, alloc)}
