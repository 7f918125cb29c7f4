"""Who submitted which run through the API: Idempotency-Key replays and per-token queue quotas.

    submit_once(engine, token_id, submit, *, key=None, request_sha256="", quota=None) -> Submission
        `submit(store_key)` queues the run through the application layer, passing `store_key` as
        the run's idempotency key, and returns the run id. Raises QuotaExceeded, KeyReuseMismatch
        (same key, different request) or KeyInFlight (same key, first request still being queued).

How "exactly one run per key" holds: a reservation row (token, key) is inserted first under a
unique constraint; the run is queued with the store idempotency key `api-submission:<row id>`
(unique on the runs table); the row then records the run id. A second request with the key
finds the row: with a run id it replays it; without one it answers "in flight" (409 +
Retry-After) unless the reserving API process is dead, when it takes the row over (same row id)
and queues again: if the dead process had queued the run, the store returns that same run.
Keys live IDEMPOTENCY_TTL_S (24 h): after that the same key makes a new run.

The quota counts the token's queued runs plus its reservations still being queued; on
PostgreSQL the token row is locked for the check, so concurrent requests cannot both pass it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Optional

from sqlalchemy import UniqueConstraint, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from console.store.run_liveness import owner_death_reason, this_boot, this_host
from console.store.run_tables import RunRow
from console.store.runs import read, write
from console.store.tokens import TOKENS, ensure_token_tables

IDEMPOTENCY_TTL_S = 24 * 3600.0
RESERVATION_STALE_S = 60.0  # a reservation whose owner might still be alive is taken over after this
ANONYMOUS = 0  # token id of requests to a server started with --insecure-no-auth


class ApiSubmissionRow(SQLModel, table=True):
    __tablename__ = "api_submissions"
    __table_args__ = (UniqueConstraint("token_id", "idem_key", name="uq_api_submissions_token_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    token_id: int = Field(index=True)
    idem_key: Optional[str] = None
    request_sha256: str = ""
    run_id: Optional[int] = Field(default=None, index=True)
    created_at: float
    owner_pid: int
    owner_host: str
    owner_boot: str


SUBMISSIONS = ApiSubmissionRow.__table__
RUNS = RunRow.__table__


class QuotaExceeded(Exception):
    def __init__(self, queued: int, quota: int):
        self.queued, self.quota = queued, quota
        super().__init__(f"this token already has {queued} queued run(s), the most allowed is {quota}: "
                         "wait for some to start, or cancel some")


class KeyReuseMismatch(Exception):
    def __init__(self, key: str, run_id: Optional[int]):
        self.key, self.run_id = key, run_id
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request"
                         + (f" (run {run_id})" if run_id else ""))


class KeyInFlight(Exception):
    def __init__(self, key: str):
        self.key = key
        super().__init__(f"a request with Idempotency-Key {key!r} is still being queued: retry shortly")


@dataclass(frozen=True)
class Submission:
    run_id: int
    replayed: bool  # True: an earlier request with the same key made this run


def queued_for_token(conn: Connection, token_id: int) -> int:
    """The token's queued runs plus its reservations still being queued (one statement: one round trip)."""
    runs = (select(func.count()).select_from(SUBMISSIONS.join(RUNS, RUNS.c.id == SUBMISSIONS.c.run_id))
            .where(SUBMISSIONS.c.token_id == token_id, RUNS.c.status == "queued").scalar_subquery())
    pending = (select(func.count()).select_from(SUBMISSIONS)
               .where(SUBMISSIONS.c.token_id == token_id, SUBMISSIONS.c.run_id.is_(None)).scalar_subquery())
    return int(conn.execute(select(runs + pending)).scalar() or 0)


def _existing(conn: Connection, token_id: int, key: str):
    return conn.execute(select(SUBMISSIONS).where(SUBMISSIONS.c.token_id == token_id,
                                                  SUBMISSIONS.c.idem_key == key)).first()


def _reserve(engine: Engine, token_id: int, key: Optional[str], request_sha256: str, quota: Optional[int]):
    """Insert the reservation; return (row id, None) or (None, existing row) when the key is taken."""
    now = time.time()

    def tx(conn: Connection):
        if key is not None:
            conn.execute(delete(SUBMISSIONS).where(SUBMISSIONS.c.token_id == token_id, SUBMISSIONS.c.idem_key == key,
                                                   SUBMISSIONS.c.created_at < now - IDEMPOTENCY_TTL_S))
            row = _existing(conn, token_id, key)
            if row is not None:
                return None, row
        if quota is not None:
            if token_id != ANONYMOUS:  # serialise this token's submissions (a no-op lock on SQLite)
                conn.execute(select(TOKENS.c.id).where(TOKENS.c.id == token_id).with_for_update())
            queued = queued_for_token(conn, token_id)
            if queued >= quota:
                raise QuotaExceeded(queued, quota)
        rid = conn.execute(insert(SUBMISSIONS).values(
            token_id=token_id, idem_key=key, request_sha256=request_sha256, created_at=now,
            owner_pid=os.getpid(), owner_host=this_host(), owner_boot=this_boot())).inserted_primary_key[0]
        return int(rid), None

    try:
        # Not flushed on commit (a fsync per request was most of a POST's latency on PostgreSQL): if
        # the server crashes before the WAL flush, the reservation is lost and so is the request's
        # answer; the client retries and reserves again. The run's own insert is durable and
        # flushes this reservation with it.
        return write(engine, tx, durable=False)
    except IntegrityError:  # a concurrent request reserved the key first
        return None, read(engine, lambda c: _existing(c, token_id, key))


def _take_over(engine: Engine, row) -> bool:
    """Adopt a reservation whose owner died before recording its run (compare-and-set on the owner)."""
    reason = owner_death_reason(row.owner_pid, row.owner_host, row.owner_boot, row.created_at, time.time(),
                                RESERVATION_STALE_S)
    if reason is None:
        return False
    return write(engine, lambda c: c.execute(update(SUBMISSIONS).where(
        SUBMISSIONS.c.id == row.id, SUBMISSIONS.c.run_id.is_(None), SUBMISSIONS.c.owner_pid == row.owner_pid,
        SUBMISSIONS.c.owner_host == row.owner_host).values(
        owner_pid=os.getpid(), owner_host=this_host(), owner_boot=this_boot())).rowcount == 1)


def store_key(reservation_id: int) -> str:
    return f"api-submission:{reservation_id}"


def submit_once(engine: Engine, token_id: int, submit: Callable[[str], int], *, key: Optional[str] = None,
                request_sha256: str = "", quota: Optional[int] = None) -> Submission:
    ensure_token_tables(engine)
    reservation = None
    for _ in range(3):
        reservation, existing = _reserve(engine, token_id, key, request_sha256, quota)
        if reservation is not None:
            break
        if existing is None:  # the holder's row vanished between our insert and read: try again
            continue
        if existing.request_sha256 != request_sha256:
            raise KeyReuseMismatch(key or "", existing.run_id)
        if existing.run_id is not None:
            return Submission(int(existing.run_id), True)
        if not _take_over(engine, existing):
            raise KeyInFlight(key or "")
        reservation = int(existing.id)
        break
    if reservation is None:
        raise KeyInFlight(key or "")
    try:
        run_id = submit(store_key(reservation))
    except BaseException:
        write(engine, lambda c: c.execute(delete(SUBMISSIONS).where(SUBMISSIONS.c.id == reservation,
                                                                    SUBMISSIONS.c.run_id.is_(None))))
        raise
    # Not flushed on commit either: losing it in a crash leaves the reservation without its run id
    # and its owner dead, so a retry takes it over and queues with the same store key, which
    # returns this same (durable) run.
    write(engine, lambda c: c.execute(update(SUBMISSIONS).where(SUBMISSIONS.c.id == reservation).values(run_id=run_id)),
          durable=False)
    return Submission(run_id, False)


def submitted_by(engine: Engine, run_id: int) -> Optional[int]:
    """The token id that submitted a run through the API (None: not an API run)."""
    ensure_token_tables(engine)
    return read(engine, lambda c: c.execute(select(SUBMISSIONS.c.token_id).where(SUBMISSIONS.c.run_id == run_id)).scalar())
