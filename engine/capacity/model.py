"""The capacity-planning problem (Malloovia's model), as plain frozen dataclasses.

An instance class is a VM type in a region or zone with a price; it is reserved
(paid for every slot of the period) or on-demand (paid only in the slots where it
runs). Limiting sets cap the VMs and cores running in a region or zone; 0 means
"no limit", as in Malloovia. Each app has a workload per time slot and each
(instance class, app) pair a performance: the workload one VM of that class serves
in one slot.

Prices, performances and workloads may each use their own time unit; everything is
converted to the workload's slot length by `Problem.matrices()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional

import numpy as np

# Seconds per unit, the units Malloovia knows.
TIME_UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}


def slots_per(unit: str, slot_unit: str) -> float:
    """How many `slot_unit` slots fit in one `unit` (e.g. 'y' in 'h' slots -> 8760)."""
    return TIME_UNITS[unit] / TIME_UNITS[slot_unit]


@dataclass(frozen=True)
class LimitingSet:
    id: str
    name: str
    max_vms: float = 0      # 0 = no limit
    max_cores: float = 0    # 0 = no limit


@dataclass(frozen=True)
class InstanceClass:
    id: str
    name: str
    limiting_sets: tuple[LimitingSet, ...]
    max_vms: float          # 0 = no limit
    price: float            # per `time_unit`
    time_unit: str
    is_reserved: bool = False
    cores: float = 1
    is_private: bool = False


@dataclass(frozen=True)
class App:
    id: str
    name: str


@dataclass(frozen=True)
class Workload:
    id: str
    app: App
    values: tuple[float, ...]
    time_unit: str
    description: str = ""
    intra_slot_distribution: str = "uniform"
    filename: Optional[str] = None


@dataclass(frozen=True)
class PerformanceSet:
    id: str
    time_unit: str
    values: dict[tuple[str, str], float] = field(hash=False, compare=False)  # (class id, app id) -> perf


@dataclass(frozen=True)
class Problem:
    id: str
    name: str
    workloads: tuple[Workload, ...]
    instance_classes: tuple[InstanceClass, ...]
    performances: PerformanceSet
    description: str = ""

    @property
    def apps(self) -> tuple[App, ...]:
        return tuple(w.app for w in self.workloads)

    @property
    def slot_unit(self) -> str:
        return self.workloads[0].time_unit

    @property
    def n_slots(self) -> int:
        return len(self.workloads[0].values)

    @property
    def reserved(self) -> tuple[InstanceClass, ...]:
        return tuple(ic for ic in self.instance_classes if ic.is_reserved)

    @property
    def on_demand(self) -> tuple[InstanceClass, ...]:
        return tuple(ic for ic in self.instance_classes if not ic.is_reserved)

    @property
    def ordered_classes(self) -> tuple[InstanceClass, ...]:
        """Reserved classes first, then on-demand: the column order of every allocation."""
        return self.reserved + self.on_demand

    @property
    def limiting_sets(self) -> tuple[LimitingSet, ...]:
        seen: dict[str, LimitingSet] = {}
        for ic in self.instance_classes:
            for ls in ic.limiting_sets:
                seen.setdefault(ls.id, ls)
        return tuple(seen.values())

    def workload_matrix(self) -> np.ndarray:
        """Slots × apps array of workloads."""
        return np.array([w.values for w in self.workloads], dtype=float).T.reshape(self.n_slots, len(self.workloads))

    def with_workloads(self, workloads: tuple[Workload, ...]) -> "Problem":
        return Problem(self.id, self.name, workloads, self.instance_classes, self.performances, self.description)

    @cached_property
    def data(self) -> "ProblemData":
        return ProblemData.build(self)


@dataclass(frozen=True)
class ProblemData:
    """The numbers a solver needs, in slot units, columns in `Problem.ordered_classes` order."""

    classes: tuple[InstanceClass, ...]
    n_reserved: int
    price: np.ndarray        # per class, per slot
    perf: np.ndarray         # apps × classes, per slot
    cores: np.ndarray        # per class
    class_max: np.ndarray    # per class, 0 = no limit
    member: np.ndarray       # limiting sets × classes, bool
    set_max_vms: np.ndarray  # per limiting set, 0 = no limit
    set_max_cores: np.ndarray
    set_ids: tuple[str, ...]

    @classmethod
    def build(cls, problem: Problem) -> "ProblemData":
        classes = problem.ordered_classes
        slot = problem.slot_unit
        apps = problem.apps
        perf_unit = slots_per(problem.performances.time_unit, slot)
        price = np.array([ic.price / slots_per(ic.time_unit, slot) for ic in classes], dtype=float)
        perf = np.array(
            [[problem.performances.values[(ic.id, app.id)] / perf_unit for ic in classes] for app in apps], dtype=float
        ).reshape(len(apps), len(classes))
        sets = problem.limiting_sets
        member = np.array([[any(s.id == ls.id for s in ic.limiting_sets) for ic in classes] for ls in sets], dtype=bool)
        return cls(
            classes=classes,
            n_reserved=len(problem.reserved),
            price=price,
            perf=perf,
            cores=np.array([ic.cores for ic in classes], dtype=float),
            class_max=np.array([ic.max_vms for ic in classes], dtype=float),
            member=member.reshape(len(sets), len(classes)),
            set_max_vms=np.array([ls.max_vms for ls in sets], dtype=float),
            set_max_cores=np.array([ls.max_cores for ls in sets], dtype=float),
            set_ids=tuple(ls.id for ls in sets),
        )
