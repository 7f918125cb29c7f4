"""Transactions shared by every store module: short write transactions that take the write
lock up front, retried as a whole while the database is busy.

SQLite: `BEGIN IMMEDIATE` (the write lock at the start, so a read is never upgraded to a write
mid-way and failed with SQLITE_BUSY). PostgreSQL: an ordinary transaction; a caller that must
serialise a check-then-write (load without --replace, schema creation) takes `advisory_lock`.
"""

from __future__ import annotations

import random
import time
import zlib
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "locked" in text or "busy" in text or "deadlock detected" in text or "could not serialize" in text


def with_retry(fn, *, attempts: int = 40, max_sleep_s: float = 0.5):
    """Call `fn()`, retrying on SQLITE_BUSY / "database is locked" (or a PostgreSQL deadlock) with jittered backoff."""
    delay = 0.01
    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if not _is_busy(exc) or attempt == attempts - 1:
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(max_sleep_s, delay * 2)


def begin_write(conn: Connection) -> None:
    """Start the connection's write transaction (SQLite: BEGIN IMMEDIATE)."""
    conn.begin()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """One short write transaction, committed on success, rolled back on any error."""
    with engine.connect() as conn:
        begin_write(conn)
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise


def write(engine: Engine, fn, *, durable: bool = True):
    """Run `fn(conn)` in a write transaction, retried as a whole when the database is busy.

    `durable=False` (PostgreSQL): the commit returns without waiting for its WAL flush (the change
    is visible at once, but a server crash within ~0.6 s may lose it). Only for a write whose loss
    the caller recovers from; a later durable commit flushes it too. SQLite's WAL with
    synchronous=NORMAL already commits without a flush, so nothing changes there."""

    def attempt():
        with write_tx(engine) as conn:
            if not durable and conn.dialect.name == "postgresql":
                from sqlalchemy import text

                conn.execute(text("SET LOCAL synchronous_commit = off"))
            return fn(conn)

    return with_retry(attempt)


def read(engine: Engine, fn):
    def attempt():
        with engine.connect() as conn:
            return fn(conn)

    return with_retry(attempt)


def advisory_lock(conn: Connection, name: str) -> None:
    """Serialise writers on `name` until the transaction ends (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already holds the one database-wide write lock)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text

        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(name.encode()) & 0x7FFFFFFF})
