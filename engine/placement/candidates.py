"""What every assignment model of placement walks (CP-SAT, CBC and the LNS sub-models).

Each model keeps its own math and its own test of whether an item fits a
receiver alone (CP-SAT in integer units, CBC in floats); the pairs it may
decide, the customers crowding a receiver and the items that may stay home
are the same data for all of them.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator, Optional

from engine.placement.problem import PlacementProblem
from engine.placement.symmetry import forbidden_pairs

DEADLINE_EVERY = 50   # items between two looks at the clock while building


class BuildTimeout(Exception):
    """The model could not be built before the deadline (building a large model takes long, NOTES.md)."""


def candidate_pairs(p: PlacementProblem, fits_alone: Callable[[int, int], bool],
                    deadline: Optional[float] = None) -> Iterator[tuple[int, int]]:
    """(item, receiver) pairs a model decides, item by item: not ruled out by symmetry breaking,
    the item may go there (datacenter), the customer has room left there, and the item fits alone.
    Raises BuildTimeout past `deadline`."""
    banned = forbidden_pairs(p)
    for i, it in enumerate(p.items):
        if deadline is not None and i % DEADLINE_EVERY == 0 and time.monotonic() > deadline:
            raise BuildTimeout()
        for r in range(len(p.receivers)):
            if (i, r) not in banned and p.allowed(it, r) and has_room(p, i, r) and fits_alone(i, r):
                yield i, r


def by_item_and_receiver(p: PlacementProblem, pairs) -> tuple[list[list[int]], list[list[int]]]:
    """The decided pairs indexed both ways: receivers per item, items per receiver (in pair order)."""
    by_item: list[list[int]] = [[] for _ in p.items]
    by_recv: list[list[int]] = [[] for _ in p.receivers]
    for i, r in pairs:
        by_item[i].append(r)
        by_recv[r].append(i)
    return by_item, by_recv


def has_room(p: PlacementProblem, i: int, r: int) -> bool:
    """Anti-affinity leaves room for one more VM of item i's customer on receiver r."""
    room = p.customer_room(r, p.items[i].customer)
    return room is None or room >= 1


def crowded_customers(p: PlacementProblem, r: int, items: Iterable[int]) -> Iterator[tuple[str, list[int], int]]:
    """(customer, its items, room) for each customer with more of `items` able to go to receiver r
    than it has room there: those need an anti-affinity constraint, the others never bind."""
    if p.customer_cap is None:
        return
    groups: dict[str, list[int]] = {}
    for i in items:
        groups.setdefault(p.items[i].customer, []).append(i)
    for customer, members in groups.items():
        room = p.customer_room(r, customer)
        if room is not None and len(members) > room:
            yield customer, members, room


def stays_home(p: PlacementProblem, x: dict, items: Optional[Iterable[int]] = None) -> list[tuple[int, object]]:
    """rebalance: (item, its variable on its origin host) for each movable item that may stay there."""
    index = {rec.host: r for r, rec in enumerate(p.receivers)}
    chosen = range(len(p.items)) if items is None else items
    return [(i, x[i, index[p.items[i].origin]]) for i in chosen
            if p.items[i].origin is not None and (i, index[p.items[i].origin]) in x]
