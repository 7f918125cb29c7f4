"""Scheduled runs: every N minutes/hours/days the worker queues a run on the
store's current snapshot, and the latest successful plan of each schedule is
published for lookup (`fleetctl plan latest`).

    add_schedule(engine, kind, every_s, *, limits=None, limits_name=None, options=None, start_at=None) -> int
    list_schedules(engine) -> list[ScheduleView]
    remove_schedule(engine, schedule_id) -> bool
    fire_due_schedules(engine, now=None) -> list[int]          (run ids queued; the worker calls it; once per slot)
    latest_plans(engine, kind=None) -> list[PublishedPlan]
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from console.store.run_tables import RUN_KINDS, RunRow, ScheduleRow
from console.store.runs import (DuplicateSlot, canonical_json, ensure_run_tables, enqueue_run, iso, read,
                                record_failed_run, write)

SCHEDULES = ScheduleRow.__table__
RUNS = RunRow.__table__

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EVERY = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")


def parse_every(text: str) -> int:
    """'15m' | '1h' | '1d' (also 's' for tests and demos) -> seconds."""
    m = _EVERY.match(text or "")
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"invalid interval {text!r}: use a positive number followed by m, h or d (e.g. 15m, 1h, 1d)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def format_every(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class ScheduleView:
    id: int
    kind: str
    every_s: int
    limits_name: Optional[str]
    options: dict
    created_at: float
    next_due_at: float
    last_fired_at: Optional[float]
    last_run_id: Optional[int]
    enabled: bool
    has_limits: bool

    def to_dict(self) -> dict:
        return {
            "id": self.id, "kind": self.kind, "every": format_every(self.every_s), "every_s": self.every_s,
            "limits_name": self.limits_name, "custom_limits": self.has_limits, "options": self.options,
            "created_at": iso(self.created_at), "next_due_at": iso(self.next_due_at),
            "last_fired_at": iso(self.last_fired_at), "last_run_id": self.last_run_id, "enabled": self.enabled,
        }


@dataclass(frozen=True)
class PublishedPlan:
    schedule_id: int
    kind: str
    run_id: int
    finished_at: float
    plan: dict

    def to_dict(self) -> dict:
        return {"schedule_id": self.schedule_id, "kind": self.kind, "run_id": self.run_id,
                "finished_at": iso(self.finished_at), "plan": self.plan}


def add_schedule(engine: Engine, kind: str, every_s: int, *, limits=None, limits_name: Optional[str] = None,
                 options: Optional[dict] = None, start_at: Optional[float] = None) -> int:
    """A schedule whose first run is due at `start_at` (default: now, fired by the next worker poll)."""
    if kind not in RUN_KINDS:
        raise ValueError(f"unknown run kind {kind!r}: choose one of {', '.join(RUN_KINDS)}")
    if kind == "capacity" and not (options or {}).get("problem_file"):
        raise ValueError("a capacity schedule needs options['problem_file'] (the Malloovia YAML read at each firing)")
    if int(every_s) < 1:
        raise ValueError("the interval must be at least one second")
    ensure_run_tables(engine)
    if limits is not None and hasattr(limits, "to_json_dict"):
        limits = limits.to_json_dict()
    now = time.time()
    values = dict(kind=kind, every_s=int(every_s), limits_json=None if limits is None else canonical_json(limits),
                  limits_name=limits_name, options_json=canonical_json(options or {}), created_at=now,
                  next_due_at=now if start_at is None else start_at, enabled=True)
    return write(engine, lambda c: int(c.execute(insert(SCHEDULES).values(**values)).inserted_primary_key[0]))


def _view(r) -> ScheduleView:
    return ScheduleView(r.id, r.kind, r.every_s, r.limits_name, json.loads(r.options_json or "{}"), r.created_at,
                        r.next_due_at, r.last_fired_at, r.last_run_id, bool(r.enabled), r.limits_json is not None)


def list_schedules(engine: Engine) -> list[ScheduleView]:
    ensure_run_tables(engine)
    return [_view(r) for r in read(engine, lambda c: c.execute(select(SCHEDULES).order_by(SCHEDULES.c.id)).all())]


def remove_schedule(engine: Engine, schedule_id: int) -> bool:
    """Delete a schedule (its past runs stay). False when there was none."""
    ensure_run_tables(engine)
    return write(engine, lambda c: c.execute(delete(SCHEDULES).where(SCHEDULES.c.id == schedule_id)).rowcount == 1)


def has_schedules(engine: Engine) -> bool:
    ensure_run_tables(engine)
    return bool(read(engine, lambda c: c.execute(select(func.count()).where(SCHEDULES.c.enabled.is_(True))).scalar()))


def _advance(engine: Engine, sched, now: float) -> None:
    """Move next_due_at past `now` (skipping missed intervals: one run per firing, never a
    backlog); a compare-and-set, so of several workers only the first moves it."""
    missed = int((now - sched.next_due_at) // sched.every_s) + 1
    new_due = sched.next_due_at + missed * sched.every_s

    def tx(conn: Connection) -> None:
        conn.execute(
            update(SCHEDULES).where(SCHEDULES.c.id == sched.id, SCHEDULES.c.next_due_at == sched.next_due_at)
            .values(next_due_at=new_due, last_fired_at=now)
        )

    write(engine, tx)


def _enqueue_for(engine: Engine, sched, slot: float) -> int:
    """Queue the run of `slot` (raises DuplicateSlot when another worker already did)."""
    options = json.loads(sched.options_json or "{}")
    limits = json.loads(sched.limits_json) if sched.limits_json else None
    try:
        if sched.kind == "capacity":
            from pathlib import Path

            path = Path(options["problem_file"])
            text = _problem_text(path)
            return enqueue_run(engine, "capacity", problem_yaml=text, problem_name=path.name, options=options,
                               schedule_id=sched.id, schedule_slot=slot)
        # the fleet as it is at firing time (its current version, by reference)
        return enqueue_run(engine, sched.kind, limits=limits, limits_name=sched.limits_name,
                           options=options, schedule_id=sched.id, schedule_slot=slot)
    except DuplicateSlot:
        raise
    except Exception as exc:  # noqa: BLE001 - a firing that cannot start is recorded, never lost
        return record_failed_run(engine, sched.kind, f"schedule {sched.id} could not start a run: {exc}",
                                 schedule_id=sched.id, options=options, schedule_slot=slot)


def _problem_text(path) -> str:
    """The capacity problem file as read at each firing: bounded, regular files only (a FIFO would
    hang the worker, /dev/zero or a huge file would exhaust its memory), decoded exactly (no BOM
    dropped: the run can reuse the unchanged file). Raises with the file named and the reason."""
    from engine.documents import read_input_bytes

    data = read_input_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: is not UTF-8 text (a binary file?): invalid byte at offset {exc.start}") from None


def fire_due_schedules(engine: Engine, now: Optional[float] = None) -> list[int]:
    """Queue one run for each due schedule; return the run ids queued by this call.

    Exactly once per slot (the due time), however many workers call this at once: the run is
    inserted first under a unique (schedule_id, schedule_slot) index, so only one insert of a
    slot succeeds; then next_due_at moves on (compare-and-set). A worker that dies in between
    leaves the slot's run queued and the next caller only moves next_due_at."""
    ensure_run_tables(engine)
    now = time.time() if now is None else now
    due = read(engine, lambda c: c.execute(
        select(SCHEDULES).where(SCHEDULES.c.enabled.is_(True), SCHEDULES.c.next_due_at <= now).order_by(SCHEDULES.c.id)
    ).all())
    fired = []
    for sched in due:
        slot = sched.next_due_at
        try:
            run_id = _enqueue_for(engine, sched, slot)
        except DuplicateSlot:
            _advance(engine, sched, now)
            continue
        write(engine, lambda c, s=sched, r=run_id: c.execute(
            update(SCHEDULES).where(SCHEDULES.c.id == s.id).values(last_run_id=r)))
        _advance(engine, sched, now)
        fired.append(run_id)
    return fired


def latest_plans(engine: Engine, kind: Optional[str] = None) -> list[PublishedPlan]:
    """For each existing schedule (of `kind`), the plan of its latest succeeded run."""
    ensure_run_tables(engine)
    newest = (
        select(RUNS.c.schedule_id, func.max(RUNS.c.id).label("run_id"))
        .where(RUNS.c.status == "succeeded", RUNS.c.schedule_id.is_not(None), RUNS.c.plan_json.is_not(None))
        .group_by(RUNS.c.schedule_id)
        .subquery()
    )
    q = (select(RUNS.c.schedule_id, RUNS.c.kind, RUNS.c.id, RUNS.c.finished_at, RUNS.c.plan_json)
         .join(newest, RUNS.c.id == newest.c.run_id)
         .join(SCHEDULES, SCHEDULES.c.id == RUNS.c.schedule_id)  # a removed schedule publishes nothing
         .order_by(RUNS.c.schedule_id))
    if kind is not None:
        q = q.where(RUNS.c.kind == kind)
    rows = read(engine, lambda c: c.execute(q).all())
    return [PublishedPlan(r.schedule_id, r.kind, r.id, r.finished_at, json.loads(r.plan_json)) for r in rows]
