"""Deterministic 3-D vector-packing instances in the style of the published benchmark classes.

Every instance: identical empty active hosts of C = 1000 in cpu, memory_gb and disk_gb,
pending VMs with integer demands, one customer; as many hosts as first-fit-decreasing
needs plus two. The classes follow the constructions of (parameters are this module's
reading of the papers, scaled to C = 1000 and three resources, not copies of their files):

- Caprara & Toth, "Lower bounds and algorithms for the 2-dimensional vector packing
  problem" (Discrete Applied Mathematics 111, 2001), extending Spieksma's classes:
  `ct-uniform`   every size U[100, 400] independently (about three VMs per host);
  `ct-positive`  positively correlated: w1 U[100, 400], the others w1 + U[−100, 100];
  `ct-negative`  negatively correlated: w1 U[100, 400], w2 = 500 − w1 + U[−50, 50],
                 w3 U[100, 400];
- Panigrahy, Talwar, Uyeda & Wieder, "Heuristics for Vector Bin Packing" (Microsoft
  Research, 2011), whose distributions model VM requests:
  `pan-uniform`  every size U[50, 350] (about five VMs per host);
  `pan-similar`  a common base b U[100, 300], each size b · U[0.9, 1.1];
  `pan-sparse`   each size 0 with probability 1/3, else U[100, 500] (zero demands);
- Falkenauer's triplets ("A hybrid grouping genetic algorithm for bin packing", Journal of
  Heuristics 2, 1996), per resource: `triplets` cut each of n/3 hosts, in every resource,
  into three pieces strictly between C/4 and C/2; the optimum is n/3 by construction (no
  host takes four pieces, and the volume fills n/3 hosts exactly).

Only `triplets` has an optimum known in advance; for the others the benchmark calls a
value optimal when the solver's proven lower bound equals it.
"""

from __future__ import annotations

import random

from engine.placement.generate import _triplet

CAPACITY = 1000
RESOURCES = ("cpu", "memory_gb", "disk_gb")
CLASSES = ("ct-uniform", "ct-positive", "ct-negative", "pan-uniform", "pan-similar", "pan-sparse", "triplets")


def _clip(x: float) -> int:
    return max(1, min(CAPACITY, int(round(x))))


def _sizes(cls: str, rng: random.Random) -> list[int]:
    u = rng.randint
    if cls == "ct-uniform":
        return [u(100, 400) for _ in range(3)]
    if cls == "ct-positive":
        w1 = u(100, 400)
        return [w1, _clip(w1 + u(-100, 100)), _clip(w1 + u(-100, 100))]
    if cls == "ct-negative":
        w1 = u(100, 400)
        return [w1, _clip(500 - w1 + u(-50, 50)), u(100, 400)]
    if cls == "pan-uniform":
        return [u(50, 350) for _ in range(3)]
    if cls == "pan-similar":
        base = u(100, 300)
        return [_clip(base * rng.uniform(0.9, 1.1)) for _ in range(3)]
    if cls == "pan-sparse":
        while True:
            sizes = [0 if rng.random() < 1 / 3 else u(100, 500) for _ in range(3)]
            if any(sizes):
                return sizes
    raise ValueError(f"unknown class {cls!r}: choose {', '.join(CLASSES)}")


def instance(cls: str, n: int, seed: int = 0) -> tuple[dict, int | None]:
    """(snapshot document, known optimum or None). For `triplets`, n is rounded down to a multiple of 3."""
    rng = random.Random(f"{cls}-{n}-{seed}")
    if cls == "triplets":
        bins = n // 3
        rows: list[list[int]] = []
        for _ in range(bins):
            cols = [_triplet(CAPACITY, rng) for _ in RESOURCES]
            for c in cols:
                rng.shuffle(c)
            rows.extend([cols[0][j], cols[1][j], cols[2][j]] for j in range(3))
        rng.shuffle(rows)
        optimum: int | None = bins
    else:
        rows = [_sizes(cls, rng) for _ in range(n)]
        optimum = None
    return _document(f"{cls}-{len(rows)}-s{seed}", rows), optimum


def _document(name: str, rows: list[list[int]]) -> dict:
    from engine.placement.vbp import _ffd_bins

    hosts = _ffd_bins(rows, [CAPACITY] * 3) + 2
    return {
        "version": 1, "name": name,
        "datacenters": [{"id": "dc1"}],
        "racks": [{"id": "dc1-r01", "datacenter": "dc1"}],
        "hosts": [{"id": f"h{k:04d}", "rack": "dc1-r01", **{r: CAPACITY for r in RESOURCES}, "state": "active"}
                  for k in range(hosts)],
        "customers": [{"id": "c"}],
        "vms": [{"id": f"vm{k + 1:04d}", "host": None, "customer": "c", **dict(zip(RESOURCES, row))}
                for k, row in enumerate(rows)],
    }
