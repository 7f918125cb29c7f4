"""Read a VPSolver vector-packing file (.vbp) into a snapshot of pending VMs.

The format is a stream of integers (line breaks do not matter):
    d                      number of dimensions
    W_1 … W_d              bin capacity per dimension
    m                      number of item types
    w_1 … w_d b            m times: the type's sizes and its multiplicity
Dimensions map onto cpu, memory_gb, disk_gb in that order (at most 3).

Sizes are kept as they are, zeros included (a VM may need 0 of a resource); a
dimension the file lacks gets demand 0 and a host capacity of 1 (hosts need
positive cpu and memory). The hosts are identical, empty and active; there are
as many as first-fit-decreasing needs, so every solver starts from a feasible snapshot.
"""

from __future__ import annotations

from pathlib import Path

from engine.model import RESOURCES

MAX_ITEMS = 200_000
TOKEN_EXCERPT_CHARS = 20  # a bad token is quoted this far: enough to find it, never a megabyte of it


class VbpError(Exception):
    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def token_excerpt(tok: str) -> str:
    """`tok` quoted for a message: its first TOKEN_EXCERPT_CHARS characters, escaped by repr (so a
    control character, an escape sequence or a bidi override never reaches the terminal as
    such), and its length when longer."""
    if len(tok) <= TOKEN_EXCERPT_CHARS:
        return repr(tok)
    return f"{tok[:TOKEN_EXCERPT_CHARS]!r}… ({len(tok):,} characters)"


def parse_vbp(text: str, source: str = "vbp") -> tuple[list[int], list[tuple[list[int], int]]]:
    """(capacity, [(sizes, multiplicity), …]) or VbpError naming what is wrong."""
    tokens = text.split()
    values: list[int] = []
    for pos, tok in enumerate(tokens):
        try:
            values.append(int(tok))
        except ValueError:
            raise VbpError(source, [f"token {pos + 1} {token_excerpt(tok)} is not an integer"]) from None
    if not values:
        raise VbpError(source, ["file is empty"])
    dims = values[0]
    if dims < 1:
        raise VbpError(source, [f"number of dimensions must be at least 1, got {dims}"])
    if dims > len(RESOURCES):
        raise VbpError(source, [f"{dims} dimensions: fleetctl packs at most {len(RESOURCES)} (cpu, memory_gb, disk_gb)"])
    if len(values) < 2 + dims:
        raise VbpError(source, [f"file ends before the {dims} bin capacities and the item type count"])
    capacity = values[1:1 + dims]
    types = values[1 + dims]
    problems = [f"bin capacity {k + 1} must be positive, got {c}" for k, c in enumerate(capacity) if c <= 0]
    if types < 1:
        problems.append(f"number of item types must be at least 1, got {types}")
    body = values[2 + dims:]
    need = types * (dims + 1)
    if types >= 1 and len(body) != need:
        problems.append(f"{types} item types need {need} integers after the header, found {len(body)}")
    if problems:
        raise VbpError(source, problems)
    items = []
    total = 0
    for t in range(types):
        row = body[t * (dims + 1):(t + 1) * (dims + 1)]
        sizes, count = row[:dims], row[dims]
        for k, (w, cap) in enumerate(zip(sizes, capacity)):
            if w < 0:
                problems.append(f"item type {t + 1} dimension {k + 1}: negative size {w}")
            elif w > cap:
                problems.append(f"item type {t + 1} dimension {k + 1}: size {w} exceeds the bin capacity {cap}")
        if count < 0:
            problems.append(f"item type {t + 1}: negative multiplicity {count}")
        total += max(0, count)
        items.append((sizes, count))
    if total == 0 and not problems:
        problems.append("no items (every multiplicity is 0)")
    if total > MAX_ITEMS:
        problems.append(f"{total} items: more than the {MAX_ITEMS} fleetctl imports")
    if problems:
        raise VbpError(source, problems)
    return capacity, items


def snapshot_from_vbp(path: str | Path) -> dict:
    """The snapshot document (a dict, FORMATS.md) for a .vbp file."""
    from engine.documents import DocumentError, read_input_text

    path = Path(path)
    try:
        text = read_input_text(path)  # bounded, regular files only (issue 11)
    except DocumentError as exc:
        raise VbpError(exc.source, exc.problems) from None
    capacity, types = parse_vbp(text, str(path))
    return build_snapshot(capacity, types, name=path.stem)


def build_snapshot(capacity: list[int], types: list[tuple[list[int], int]], name: str = "vbp") -> dict:
    dims = len(capacity)
    host_cap = [capacity[k] if k < dims else 1 for k in range(len(RESOURCES))]
    vms = []
    for t, (sizes, n) in enumerate(types):
        demand = [sizes[k] if k < dims else 0 for k in range(len(RESOURCES))]
        for j in range(n):
            vms.append({"id": f"t{t + 1:04d}-{j + 1:04d}", "host": None, "customer": "vbp",
                        **dict(zip(RESOURCES, demand))})
    bins = _ffd_bins([[v[r] for r in RESOURCES] for v in vms], host_cap)
    return {
        "version": 1, "name": name,
        "datacenters": [{"id": "dc1"}],
        "racks": [{"id": "dc1-r01", "datacenter": "dc1"}],
        "hosts": [{"id": f"bin{b + 1:05d}", "rack": "dc1-r01", **dict(zip(RESOURCES, host_cap)), "state": "active"}
                  for b in range(bins)],
        "customers": [{"id": "vbp"}],
        "vms": vms,
    }


def _ffd_bins(sizes: list[list[int]], cap: list[int]) -> int:
    """Hosts first-fit-decreasing opens (by sum of relative sizes); numpy keeps 10^4 items quick."""
    import numpy as np

    order = sorted(sizes, key=lambda s: -sum(a / c for a, c in zip(s, cap)))
    capacity = np.array(cap, dtype=np.int64)
    loads = np.zeros((len(order), len(cap)), dtype=np.int64)
    opened = 0
    for s in order:
        item = np.array(s, dtype=np.int64)
        fits = np.flatnonzero(np.all(loads[:opened] + item <= capacity, axis=1))
        if fits.size:
            loads[fits[0]] += item
        else:
            loads[opened] = item
            opened += 1
    return opened
