"""Workload levels: identical per-slot workload tuples solved once, weighted by repeats."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Levels:
    values: np.ndarray      # levels × apps: the distinct workload tuples, in order of first appearance
    repeats: np.ndarray     # per level: how many slots have that tuple
    slot_level: np.ndarray  # per slot: its level

    @property
    def n_levels(self) -> int:
        return len(self.repeats)

    @property
    def n_slots(self) -> int:
        return len(self.slot_level)


def aggregate(workloads: np.ndarray) -> Levels:
    """Group the rows of a slots × apps workload array into levels."""
    uniq, first, inverse, counts = np.unique(workloads, axis=0, return_index=True, return_inverse=True, return_counts=True)
    order = np.argsort(first, kind="stable")           # first-appearance order, like Malloovia's histogram
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return Levels(values=uniq[order], repeats=counts[order], slot_level=rank[inverse.reshape(-1)])
