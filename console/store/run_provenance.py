"""Provenance of a finished run: what made its plan, recorded with the run's outcome.

    provenance_values(row, status, plan) -> dict   columns finish_run writes (solver, parameters,
                                                   seed, versions, termination, plan hash)
    versions() -> dict                              fleetctl, ortools, pulp, highspy, python
    provenance_view(mapping) -> dict                the `provenance` block readers see

Input hashes (snapshot_sha256, limits_sha256) are written when the run is queued; the worker
host when it is claimed.
"""

from __future__ import annotations

import json
import platform
from functools import lru_cache
from importlib import metadata
from typing import Any, Optional

PACKAGES = ("fleetctl", "ortools", "pulp", "highspy")


@lru_cache(maxsize=1)
def versions() -> dict[str, Optional[str]]:
    """Versions of this process's solver stack (None for a package that is not installed)."""
    out: dict[str, Optional[str]] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = platform.python_version()
    return out


def termination(status: str, plan: Optional[dict]) -> str:
    """Why the search ended: optimal | feasible (a limit stopped it first) | infeasible | cancelled | failed."""
    if status == "succeeded":
        return (plan or {}).get("status") or "succeeded"
    return status


def provenance_values(options_json: Optional[str], limits_json: Optional[str], status: str,
                      plan: Optional[dict]) -> dict[str, Any]:
    from engine.fingerprint import plan_sha256

    limits = json.loads(limits_json) if limits_json else {}
    seed = ((limits.get("solve") or {}).get("seed")) if isinstance(limits, dict) else None
    if seed is None and plan is not None:
        from engine.model import Limits

        seed = Limits().solve.seed  # the engine's default, which the run used
    solver = (plan or {}).get("solver") or {}
    options = json.loads(options_json or "{}")
    return {
        "solver_name": solver.get("name") or options.get("solver"),
        "solver_params_json": json.dumps(options, sort_keys=True),
        "seed": seed,
        "versions_json": json.dumps(versions(), sort_keys=True),
        "termination": termination(status, plan),
        "plan_sha256": None if plan is None else plan_sha256(plan),
    }


def provenance_view(m) -> dict:
    """The provenance block of a run row (a mapping with the runs columns)."""
    return {
        "snapshot_id": m["snapshot_id"],
        "snapshot_sha256": m["snapshot_sha256"] or m["input_key"],
        "limits_sha256": m["limits_sha256"],
        "solver_name": m["solver_name"],
        "solver_params": json.loads(m["solver_params_json"]) if m["solver_params_json"] else None,
        "seed": m["seed"],
        "versions": json.loads(m["versions_json"]) if m["versions_json"] else None,
        "worker_host": m["worker_host"],
        "termination": m["termination"],
        "plan_sha256": m["plan_sha256"],
    }
