"""What Phase I and Phase II return.

Allocation arrays have one column per instance class in `Problem.ordered_classes`
order (reserved first, then on-demand), one row per app, and a leading axis per
level (Phase I) or per slot (Phase II).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from engine.capacity.levels import Levels
from engine.capacity.model import Problem

@dataclass
class PhaseISolution:
    problem: Problem
    status: str                                   # optimal | feasible (time limit, with a solution) | infeasible | unknown
    relaxed: bool
    levels: Levels
    cost: Optional[float] = None
    bound: Optional[float] = None                 # solver's lower bound (== cost when optimal)
    reserved: Optional[np.ndarray] = None         # per reserved class: VMs to buy
    allocation: Optional[np.ndarray] = None       # levels × apps × classes
    creation_time: float = 0.0
    solving_time: float = 0.0
    time_limit: Optional[float] = None
    method: str = "milp"                          # "milp" (HiGHS) or "search" (exact search over reserved counts)

    @property
    def has_solution(self) -> bool:
        return self.allocation is not None

    def reserved_counts(self) -> dict[str, float]:
        if self.reserved is None:
            return {}
        return {ic.id: _num(v) for ic, v in zip(self.problem.reserved, self.reserved)}


@dataclass
class SlotResult:
    """One distinct workload tuple of Phase II (shared by every slot with that tuple)."""

    status: str                                   # optimal | overfull | feasible | infeasible | unknown
    cost: Optional[float]
    allocation: Optional[np.ndarray]              # apps × classes
    served: Optional[np.ndarray]                  # per app: fraction of its workload served (1 if zero workload)
    creation_time: float = 0.0
    solving_time: float = 0.0


@dataclass
class PhaseIISolution:
    problem: Problem                              # the problem whose workloads are the STWP
    phase_i: PhaseISolution
    workloads: np.ndarray                         # slots × apps
    levels: Levels                                # distinct tuples of the STWP
    results: list[SlotResult]                     # per level of `levels`
    time_limit: Optional[float] = None
    stats: dict = field(default_factory=dict)

    @property
    def slot_statuses(self) -> list[str]:
        return [self.results[l].status for l in self.levels.slot_level]

    @property
    def slot_costs(self) -> list[Optional[float]]:
        return [self.results[l].cost for l in self.levels.slot_level]

    @property
    def status(self) -> str:
        """optimal if every slot is; infeasible if any is; else overfull, feasible, unknown in that order."""
        kinds = {r.status for r in self.results}
        if kinds == {"optimal"}:
            return "optimal"
        for s in ("infeasible", "unknown", "overfull", "feasible"):
            if s in kinds:
                return s
        return "unknown"

    @property
    def cost(self) -> Optional[float]:
        costs = [self.results[l].cost for l in self.levels.slot_level]
        if any(c is None for c in costs):
            return None
        return float(sum(r.cost * n for r, n in zip(self.results, self.levels.repeats)))

    def allocation(self) -> Optional[np.ndarray]:
        """slots × apps × classes, or None when a slot has no allocation."""
        if any(r.allocation is None for r in self.results):
            return None
        per_level = np.stack([r.allocation for r in self.results])
        return per_level[self.levels.slot_level]

    def statistics(self) -> dict:
        counts = Counter(self.slot_statuses)
        served = [r.served for r in self.results]
        worst = None
        if all(s is not None for s in served) and served:
            worst = float(min(float(np.min(s)) for s in served)) if served[0].size else 1.0
        return {
            "status": self.status,
            "cost": self.cost,
            "slots": self.levels.n_slots,
            "distinct_workloads": self.levels.n_levels,
            "reused_solutions": int(self.levels.n_slots - self.levels.n_levels),
            "slots_by_status": dict(sorted(counts.items())),
            "overfull_slots": [int(i) for i, s in enumerate(self.slot_statuses) if s == "overfull"],
            "min_served_fraction": worst,
            "creation_time": float(sum(r.creation_time for r in self.results)),
            "solving_time": float(sum(r.solving_time for r in self.results)),
        }


def _num(v: float) -> float | int:
    """Integral values as ints (for JSON/YAML), others as floats."""
    f = float(v)
    return int(round(f)) if abs(f - round(f)) < 1e-9 else f
