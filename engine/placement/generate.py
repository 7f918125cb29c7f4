"""Deterministic placement instances for tests and benchmarks.

- `exact_fit`: B identical hosts' capacities are cut, per resource, into pieces;
  each VM takes one piece of every resource, so the VMs fill exactly B hosts
  (optimum = B, and the volume bound proves it). Extra empty hosts are offered.
- `random_fleet`: identical empty hosts and VMs of two opposite shapes (the 3-D
  benchmark family: FFD lands ~10% above the volume bound).
"""

from __future__ import annotations

import random

from engine.model import Snapshot

HOST = {"cpu": 64, "memory_gb": 512, "disk_gb": 4000}


def _skeleton(name: str, n_hosts: int, capacity: dict, customers: int) -> dict:
    return {
        "version": 1, "name": name,
        "datacenters": [{"id": "dc1"}],
        "racks": [{"id": "dc1-r01", "datacenter": "dc1"}],
        "hosts": [{"id": f"h{k:04d}", "rack": "dc1-r01", **capacity, "state": "active"} for k in range(n_hosts)],
        "customers": [{"id": f"c{k:02d}"} for k in range(customers)],
        "vms": [],
    }


def _cut(total: int, pieces: int, rng: random.Random, minimum: int) -> list[int]:
    """`pieces` integers ≥ minimum summing to total."""
    spare = total - pieces * minimum
    cuts = sorted(rng.randint(0, spare) for _ in range(pieces - 1))
    bounds = [0, *cuts, spare]
    return [minimum + bounds[k + 1] - bounds[k] for k in range(pieces)]


def _triplet(total: int, rng: random.Random) -> list[int]:
    """Three integers in (total/4, total/2) summing to total (Falkenauer-style triplets)."""
    low, high = total // 4 + 1, (total - 1) // 2
    while True:
        a = rng.randint(low, high)
        b_low, b_high = max(low, total - a - high), min(high, total - a - low)
        if b_low <= b_high:
            b = rng.randint(b_low, b_high)
            return [a, b, total - a - b]


def exact_fit(bins: int, per_bin: int = 3, seed: int = 0, extra_hosts: int | None = None,
              customers: int = 4, tight: bool = False) -> dict:
    """With `tight` (per_bin 3), every piece lies strictly between a quarter and a half of
    the capacity, so no host can take more or fewer than three: Falkenauer's triplets, per resource."""
    rng = random.Random(seed)
    extra = extra_hosts if extra_hosts is not None else max(2, bins // 3)
    label = "triplets" if tight and per_bin == 3 else f"exact-fit-{bins}x{per_bin}"
    doc = _skeleton(f"{label}-{bins}-s{seed}", bins + extra, HOST, customers)
    n = 0
    for _ in range(bins):
        columns = {}
        for dim, cap in HOST.items():
            pieces = _triplet(cap, rng) if tight and per_bin == 3 else _cut(cap, per_bin, rng, max(1, cap // (per_bin * 4)))
            rng.shuffle(pieces)
            columns[dim] = pieces
        for j in range(per_bin):
            n += 1
            doc["vms"].append({"id": f"vm{n:05d}", "host": None, "customer": f"c{rng.randrange(customers):02d}",
                               **{dim: columns[dim][j] for dim in HOST}})
    rng.shuffle(doc["vms"])
    return doc


def random_fleet(n_vms: int, n_hosts: int, seed: int = 0, customers: int = 20) -> dict:
    """Two VM families with opposite shapes (compute-heavy, memory-heavy): packing them well
    means pairing them, which first-fit-decreasing does poorly (~10% above the bound)."""
    rng = random.Random(seed)
    doc = _skeleton(f"random-{n_vms}x{n_hosts}-s{seed}", n_hosts, HOST, customers)
    for n in range(n_vms):
        if rng.random() < 0.5:
            cpu, mem = rng.randint(6, 16), rng.randint(8, 48)
        else:
            cpu, mem = rng.randint(1, 4), rng.randint(48, 128)
        doc["vms"].append({
            "id": f"vm{n + 1:05d}", "host": None, "customer": f"c{rng.randrange(customers):02d}",
            "cpu": cpu, "memory_gb": mem, "disk_gb": rng.randint(50, 800),
        })
    return doc


def snapshot_of(doc: dict) -> Snapshot:
    from engine.documents import parse_snapshot

    return parse_snapshot(doc, doc.get("name", "generated"))
