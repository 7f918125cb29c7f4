"""Symmetry breaking shared by the CP-SAT and MIP models.

Within a class of interchangeable receivers (same capacity, nothing fixed on
them) any packing can be relabelled so that, with items in a fixed order,
(a) used receivers come first and (b) the class's j-th receiver holds no item
earlier in the order than the j-th item: the j-th used receiver's first item
comes after the first items of the j receivers before it. Both models forbid
the other labellings; `canonical` relabels a heuristic packing to match, so it
stays a valid warm start.
"""

from __future__ import annotations

from engine.placement.heuristics import item_order
from engine.placement.problem import PlacementProblem
from engine.placement.solution import Assign


def item_rank(p: PlacementProblem) -> list[int]:
    """rank[i] = position of item i in the largest-first order."""
    rank = [0] * len(p.items)
    for pos, i in enumerate(item_order(p)):
        rank[i] = pos
    return rank


def forbidden_pairs(p: PlacementProblem) -> set[tuple[int, int]]:
    """(item, receiver) pairs ruled out by rule (b)."""
    if p.objective == "rebalance":
        return set()  # movable items have distinct origins: receivers are not interchangeable
    rank = item_rank(p)
    out = set()
    for cls in p.symmetry_classes():
        for j, r in enumerate(cls):
            for i in range(len(p.items)):
                if rank[i] < j:
                    out.add((i, r))
    return out


def canonical(p: PlacementProblem, assign: Assign) -> Assign:
    """Relabel receivers within each class so that rules (a) and (b) hold."""
    if p.objective == "rebalance":
        return list(assign)
    rank = item_rank(p)
    out = list(assign)
    for cls in p.symmetry_classes():
        members = set(cls)
        first: dict[int, int] = {}
        for i, r in enumerate(assign):
            if r in members:
                first[r] = min(first.get(r, len(rank)), rank[i])
        used = sorted(first, key=lambda r: first[r])
        mapping = {old: cls[k] for k, old in enumerate(used)}
        for i, r in enumerate(assign):
            if r in mapping:
                out[i] = mapping[r]
    return out
