"""Content hashes of documents: what a plan, a run or an approval was made from.

One canonical form (the document's JSON with sorted keys, no whitespace, explicit
defaults) so the same fleet or limits always give the same sha256, whichever
front-end loaded them and in whatever key order the file had.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel


def canonical_json(document: BaseModel | dict | list | Any) -> bytes:
    """The canonical bytes hashed: pydantic models dumped in JSON mode with their aliases."""
    if isinstance(document, BaseModel):
        document = document.model_dump(mode="json", by_alias=True)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_of(document: BaseModel | dict | list | Any) -> str:
    """Hex sha256 of `canonical_json(document)`."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def plan_sha256(plan: BaseModel | dict) -> str:
    """A plan's hash ignores how long the solve took and what it was made from (`solver.wall_s`,
    `inputs`): two solves that chose the same actions have the same plan hash."""
    data = plan.model_dump(mode="json", by_alias=True, exclude_none=True) if isinstance(plan, BaseModel) \
        else dict(plan)
    data.pop("inputs", None)
    solver = dict(data.get("solver") or {})
    solver.pop("wall_s", None)
    data["solver"] = solver
    return sha256_of(data)


def with_inputs(plan, snapshot: BaseModel, limits: BaseModel, snapshot_id: int | None = None,
                snapshot_sha256: str | None = None):
    """`plan` stamped with what it was made from (FORMATS.md `inputs`), so no screen, export or
    approval can take it for a plan of another fleet. Every place that produces a run's or a
    command's plan calls this once, after validation (the hashes do not change the actions).
    `snapshot_sha256`: `sha256_of(snapshot)` when the caller already has it (a store keeps it with
    the stored snapshot), which spares hashing a large fleet again."""
    from engine.model import PlanInputs

    return plan.model_copy(update={"inputs": PlanInputs(
        snapshot_id=snapshot_id, snapshot_sha256=snapshot_sha256 or sha256_of(snapshot),
        limits_sha256=sha256_of(limits))})
