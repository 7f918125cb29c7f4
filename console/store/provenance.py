"""Provenance of a run: what it was made from and by what, so it can be replayed and compared.

    record_execution(engine, run_id)   the executor calls it when it starts a run: versions, host
    provenance(engine, view) -> dict   input hashes, limits hash, solver and parameters, seed,
                                       versions, worker host, termination reason, plan hash

Only what the runs table cannot say is stored here (versions, interpreter); hashes are derived
from the stored documents on read, so they cannot disagree with them.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import weakref
from functools import lru_cache
from importlib import metadata
from typing import Optional

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from console.store.runs import read, with_retry, write

PACKAGES = ("fleetctl", "ortools", "pulp", "highspy")


class RunProvenanceRow(SQLModel, table=True):
    __tablename__ = "run_provenance"

    run_id: int = Field(primary_key=True)
    versions_json: str
    executor_host: str
    recorded_at: float


PROVENANCE = RunProvenanceRow.__table__
_ready: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def ensure_provenance_tables(engine: Engine) -> None:
    if engine not in _ready:
        with_retry(lambda: SQLModel.metadata.create_all(engine, tables=[PROVENANCE]))
        _ready.add(engine)


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


def record_execution(engine: Engine, run_id: int) -> None:
    """Store this process's versions for `run_id` (first record wins: a run executes once)."""
    from console.store.run_liveness import this_host

    ensure_provenance_tables(engine)
    values = dict(run_id=run_id, versions_json=json.dumps(versions(), sort_keys=True), executor_host=this_host(),
                  recorded_at=time.time())
    try:
        write(engine, lambda c: c.execute(insert(PROVENANCE).values(**values)))
    except IntegrityError:
        pass


def _stored(engine: Engine, run_id: int):
    ensure_provenance_tables(engine)
    return read(engine, lambda c: c.execute(select(PROVENANCE).where(PROVENANCE.c.run_id == run_id)).first())


def effective_seed(view) -> int:
    """The search seed the run used: its limits' `solve.seed`, else the engine's default."""
    from engine.model import Limits

    limits = Limits.model_validate(view.limits or {}) if view.kind != "capacity" else None
    return 0 if limits is None else int(limits.solve.seed)


def provenance(engine: Engine, view) -> dict:
    """The provenance block of a run (a RunView with `limits` and `plan`, i.e. from get_run)."""
    from engine.fingerprint import plan_sha256, sha256_of

    row = _stored(engine, view.id)
    options = dict(view.options)
    try:
        seed = effective_seed(view)
    except Exception:  # noqa: BLE001 - a run with unreadable limits still shows the rest
        seed = None
    return {
        "input_sha256": view.input_key,  # the stored document's sha256 (inputs are stored by content)
        "input_name": view.input_name,
        "limits_name": view.limits_name,
        "limits_sha256": None if view.limits is None else sha256_of(view.limits),
        "solver": options.get("solver") or (view.plan or {}).get("solver", {}).get("name"),
        "parameters": options,
        "seed": seed,
        "versions": None if row is None else json.loads(row.versions_json),
        "worker_host": view.worker_host,
        "executor_host": None if row is None else row.executor_host,
        "termination": {"status": view.status, "plan_status": view.plan_status, "reason": view.error},
        "plan_sha256": None if view.plan is None else plan_sha256(view.plan),
    }
