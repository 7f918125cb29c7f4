"""Runs, submitting and reading (the CLI, the console, the API via console.ops):

    enqueue_run, record_failed_run, request_cancel, list_runs, get_run, run_progress, run_input,
    count_runs, canonical_json; DuplicateSlot
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Optional

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from console.store.run_tables import (
    RUN_KINDS,
    RUN_OPTIONS,
    RUN_STATUSES,
    RunInputRow,
    RunProgressRow,
    RunRow,
)
from console.store.tx import read, write

RUNS = RunRow.__table__
PROGRESS = RunProgressRow.__table__
INPUTS = RunInputRow.__table__
from console.store.run_recovery import recover_dead_runs
from console.store.run_views import _SUMMARY_COLUMNS, ProgressView, RunView, _progress_view, _run_view


def ensure_run_tables(engine: Engine) -> None:
    from console.store.runs import ensure_run_tables as ensure

    ensure(engine)


# --------------------------------------------------------------------------- inputs


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _store_input(conn: Connection, media: str, body: str, name: Optional[str]) -> str:
    from console.store.fleet_store import store_document

    key = hashlib.sha256(body.encode("utf-8")).hexdigest()
    store_document(conn, key, media, body, name)
    return key


def run_input(engine: Engine, key: str) -> tuple[str, str]:
    """(media, body) of a stored input document."""
    row = read(engine, lambda c: c.execute(select(INPUTS.c.media, INPUTS.c.body).where(INPUTS.c.key == key)).first())
    if row is None:
        raise KeyError(f"run input {key} is missing")
    return row.media, row.body


def _snapshot_body(snapshot) -> tuple[str, Optional[str]]:
    """(body, name): the snapshot's canonical JSON (engine.fingerprint), so the input's key, the sha256
    of the body, is the snapshot's fingerprint, as for a loaded version (fleet_store.save_snapshot). The
    runner stamps it on the run's plan (`inputs.snapshot_sha256`) without hashing the fleet again.
    A dict is read as a Snapshot first (its schema; DocumentError when it is not one)."""
    from engine.fingerprint import canonical_json as fingerprint_json

    if not hasattr(snapshot, "model_dump"):
        from engine.documents import parse_model
        from engine.model import Snapshot

        snapshot = parse_model(Snapshot, snapshot, "run snapshot")
    return fingerprint_json(snapshot).decode("utf-8"), snapshot.name or None


def _limits_json(limits) -> Optional[str]:
    if limits is None:
        return None
    if hasattr(limits, "to_json_dict"):
        limits = limits.to_json_dict()
    return canonical_json(limits)


# --------------------------------------------------------------------------- writes


class DuplicateSlot(Exception):
    """A schedule's slot already has its run (another worker fired it first)."""


def enqueue_run(
    engine: Engine,
    kind: str,
    *,
    snapshot=None,
    snapshot_id: Optional[int] = None,
    problem_yaml: Optional[str] = None,
    problem_name: Optional[str] = None,
    limits=None,
    limits_name: Optional[str] = None,
    options: Optional[dict] = None,
    schedule_id: Optional[int] = None,
    schedule_slot: Optional[float] = None,
    idempotency_key: Optional[str] = None,
) -> int:
    """Queue a run and return its id.

    maintenance / placement: `snapshot` is an inline `engine.model.Snapshot` or its JSON dict;
    without it the run references a stored version: `snapshot_id`, else the current one.
    `limits` an `engine.model.Limits` or dict (kept inline with its sha256).
    capacity: `problem_yaml` is the Malloovia problem file's text, options carry
    `problem` (id) and `phase`. The input is stored by content, so the run can be
    reproduced after a new snapshot is loaded.

    `idempotency_key`: a second call with the same key returns the first run's id.
    `schedule_slot`: with `schedule_id`, at most one run per (schedule, slot): a second one
    raises DuplicateSlot (a unique index decides, on every backend).
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"unknown run kind {kind!r}: choose one of {', '.join(RUN_KINDS)}")
    unknown = sorted(set(options or {}) - set(RUN_OPTIONS[kind]))
    if unknown:
        raise ValueError(f"unknown option(s) for {kind} runs: {', '.join(unknown)} (known: {', '.join(RUN_OPTIONS[kind])})")
    ensure_run_tables(engine)
    ref_id = None
    body = name = None
    # A stored version is looked up inside the write transaction (a round trip less per run); only
    # one loaded before versions were kept makes a first attempt fail with _Unversioned, and is then
    # serialised from the fleet tables and stored as an input like an inline snapshot.
    by_ref = kind != "capacity" and snapshot is None
    if kind == "capacity":
        if problem_yaml is None:
            raise ValueError("a capacity run needs the Malloovia problem file's text (problem_yaml)")
        media, body, name = "malloovia+yaml", problem_yaml, problem_name
    elif by_ref:
        media = "snapshot+json"
    else:
        media = "snapshot+json"
        body, name = _snapshot_body(snapshot)
    limits_body = _limits_json(limits)
    options_body = canonical_json(options or {})
    from sqlalchemy.exc import IntegrityError

    def tx(conn: Connection) -> int:
        if idempotency_key is not None:  # checked in the write transaction: no extra round trip per run
            existing = conn.execute(select(RUNS.c.id).where(RUNS.c.idempotency_key == idempotency_key)).scalar()
            if existing is not None:
                return int(existing)
        run_ref, run_name = ref_id, name
        if body is None:
            run_ref, key, run_name = _snapshot_ref(conn, snapshot_id)
            if key is None:
                raise _Unversioned()
        else:
            key = _store_input(conn, media, body, name)
        result = conn.execute(
            insert(RUNS).values(
                kind=kind,
                status="queued",
                schedule_id=schedule_id,
                schedule_slot=schedule_slot,
                idempotency_key=idempotency_key,
                input_key=key,
                input_name=run_name,
                snapshot_id=run_ref,
                snapshot_sha256=None if kind == "capacity" else key,
                limits_json=limits_body,
                limits_sha256=None if limits_body is None else hashlib.sha256(limits_body.encode("utf-8")).hexdigest(),
                limits_name=limits_name,
                options_json=options_body,
                created_at=time.time(),
                cancel_requested=False,
            )
        )
        return int(result.inserted_primary_key[0])

    try:
        try:
            return write(engine, tx)
        except _Unversioned:
            ref_id, _, name, body = _stored_snapshot(engine, snapshot_id)  # tx reads these on its second try
            return write(engine, tx)
    except IntegrityError:
        if idempotency_key is not None:
            existing = _run_for_key(engine, idempotency_key)
            if existing is not None:
                return existing
        if schedule_id is not None and schedule_slot is not None:
            raise DuplicateSlot(f"schedule {schedule_id} already fired for slot {schedule_slot}") from None
        raise


class _Unversioned(Exception):
    """The referenced snapshot was loaded before versions were kept (no sha256, no stored document)."""


def _snapshot_ref(conn: Connection, snapshot_id: Optional[int]) -> tuple[int, Optional[str], Optional[str]]:
    """(id, sha256, name) of a stored version (the current one by default); LookupError when absent."""
    from console.store.tables import SnapshotRow

    t = SnapshotRow.__table__
    q = select(t.c.id, t.c.sha256, t.c.name)
    q = q.order_by(t.c.id.desc()).limit(1) if snapshot_id is None else q.where(t.c.id == snapshot_id)
    row = conn.execute(q).first()
    if row is None:
        if snapshot_id is None:
            raise LookupError("no snapshot is loaded: the database holds no fleet; load one first (fleetctl load FILE)")
        raise LookupError(f"no snapshot {snapshot_id} in the store")
    return row.id, row.sha256, row.name or None


def _run_for_key(engine: Engine, key: str) -> Optional[int]:
    return read(engine, lambda c: c.execute(select(RUNS.c.id).where(RUNS.c.idempotency_key == key)).scalar())


def _stored_snapshot(engine: Engine, snapshot_id: Optional[int]):
    """(id, sha256, name, body or None) of a stored version (the current one by default).
    body is None when the document is already kept under its hash; a version loaded before
    versions were kept (only possible for the current one) is serialised from the fleet tables."""
    from console.store.fleet_store import current_snapshot, current_snapshot_info, snapshot_info

    info = current_snapshot_info(engine) if snapshot_id is None else snapshot_info(engine, snapshot_id)
    if info is None:
        if snapshot_id is None:
            raise LookupError("no snapshot is loaded: the database holds no fleet; load one first (fleetctl load FILE)")
        raise LookupError(f"no snapshot {snapshot_id} in the store")
    if info.sha256 is not None:
        return info.id, info.sha256, info.name or None, None
    if snapshot_id is not None and snapshot_id != (current_snapshot_info(engine) or info).id:
        raise LookupError(f"snapshot {snapshot_id} was loaded before versions were kept: its document is gone")
    body, name = _snapshot_body(current_snapshot(engine))
    return info.id, None, name, body


def record_failed_run(engine: Engine, kind: str, error: str, *, schedule_id: Optional[int] = None,
                      options: Optional[dict] = None, schedule_slot: Optional[float] = None) -> int:
    """A run that could not even be queued (e.g. a schedule fired with no snapshot loaded): visible, failed."""
    ensure_run_tables(engine)
    now = time.time()

    def tx(conn: Connection) -> int:
        result = conn.execute(
            insert(RUNS).values(
                kind=kind, status="failed", schedule_id=schedule_id, schedule_slot=schedule_slot,
                options_json=canonical_json(options or {}), created_at=now, finished_at=now, error=error,
                cancel_requested=False,
            )
        )
        return int(result.inserted_primary_key[0])

    from sqlalchemy.exc import IntegrityError

    try:
        return write(engine, tx)
    except IntegrityError:
        if schedule_id is not None and schedule_slot is not None:
            raise DuplicateSlot(f"schedule {schedule_id} already fired for slot {schedule_slot}") from None
        raise


def request_cancel(engine: Engine, run_id: int) -> RunView:
    """Ask a run to stop. A queued run is cancelled at once; a running one keeps
    its best plan so far (its executor polls the flag); a finished one is unchanged."""
    ensure_run_tables(engine)
    now = time.time()

    def tx(conn: Connection) -> None:
        row = conn.execute(select(RUNS.c.status).where(RUNS.c.id == run_id)).first()
        if row is None:
            raise KeyError(run_id)
        if row.status == "queued":
            conn.execute(
                update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status == "queued").values(
                    status="cancelled", cancel_requested=True, finished_at=now, error="cancelled before it started"
                )
            )
        elif row.status == "running":
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(cancel_requested=True))

    write(engine, tx)
    view = get_run(engine, run_id)
    assert view is not None
    return view


# --------------------------------------------------------------------------- reads


def list_runs(engine: Engine, status: Optional[str] = None, kind: Optional[str] = None, limit: int = 100,
              before_id: Optional[int] = None) -> list[RunView]:
    """Runs, newest first, without plans (see `get_run`); `before_id`: only older runs (paging)."""
    if status is not None and status not in RUN_STATUSES:
        raise ValueError(f"unknown status {status!r}: choose one of {', '.join(RUN_STATUSES)}")
    recover_dead_runs(engine)
    q = select(*_SUMMARY_COLUMNS).order_by(RUNS.c.id.desc()).limit(limit)
    if status is not None:
        q = q.where(RUNS.c.status == status)
    if kind is not None:
        q = q.where(RUNS.c.kind == kind)
    if before_id is not None:
        q = q.where(RUNS.c.id < before_id)

    def fetch(conn: Connection):
        rows = conn.execute(q).all()
        ids = [r.id for r in rows]
        counts = dict(conn.execute(
            select(PROGRESS.c.run_id, func.count()).where(PROGRESS.c.run_id.in_(ids)).group_by(PROGRESS.c.run_id)
        ).all()) if ids else {}
        return rows, counts

    rows, counts = read(engine, fetch)
    views = []
    for r in rows:
        m = dict(r._mapping)
        m.update(plan_json=None, limits_json=None)
        views.append(_run_view(_Row(m), progress_count=counts.get(r.id, 0)))
    return views


class _Row:
    def __init__(self, mapping: dict):
        self._mapping = mapping


def get_run(engine: Engine, run_id: int, *, recover: bool = True) -> Optional[RunView]:
    """One run with its limits, plan (when there is one) and latest progress event.
    (`recover=False` skips the dead-worker sweep: for the run's own executor.)"""
    if recover:
        recover_dead_runs(engine)

    def fetch(conn: Connection):
        row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
        if row is None:
            return None, 0, None
        count = conn.execute(select(func.count()).where(PROGRESS.c.run_id == run_id)).scalar() or 0
        last = conn.execute(select(PROGRESS).where(PROGRESS.c.run_id == run_id).order_by(PROGRESS.c.id.desc()).limit(1)).first()
        return row, count, last

    row, count, last = read(engine, fetch)
    if row is None:
        return None
    return _run_view(row, detail=True, progress_count=count, last=None if last is None else _progress_view(last))


def run_progress(engine: Engine, run_id: int, since_id: int = 0, limit: Optional[int] = None) -> list[ProgressView]:
    """Progress events of a run with id > `since_id`, oldest first: poll with the last id seen."""
    ensure_run_tables(engine)
    q = select(PROGRESS).where(PROGRESS.c.run_id == run_id, PROGRESS.c.id > since_id).order_by(PROGRESS.c.id)
    if limit is not None:
        q = q.limit(limit)
    return [_progress_view(r) for r in read(engine, lambda c: c.execute(q).all())]


def count_runs(engine: Engine, statuses: tuple[str, ...] = ("queued", "running")) -> int:
    ensure_run_tables(engine)
    return int(read(engine, lambda c: c.execute(select(func.count()).where(RUNS.c.status.in_(statuses))).scalar()) or 0)


