"""Opening the store: one SQLAlchemy engine per database, tables created on open.

`open_engine` accepts a file path, `:memory:`, or any SQLAlchemy URL (PostgreSQL
later). SQLite gets WAL (readers never block the writer: the console reads while
a worker writes progress), a busy timeout (writers wait instead of failing) and
foreign keys.

Every module that defines tables is listed in TABLE_MODULES; `create_tables`
imports each one that exists before `create_all`, so tables added later (runs,
schedules) share one metadata and appear in every database on its next open.
"""

from __future__ import annotations

import importlib
import importlib.util
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel

# Modules whose import registers tables on SQLModel.metadata (missing ones are skipped).
TABLE_MODULES: tuple[str, ...] = (
    "console.store.tables",
    "console.store.runs",
    "console.store.schedules",
    "console.store.approvals",
    "console.store.executions",
)

BUSY_TIMEOUT_MS = 10_000


def import_table_modules() -> None:
    for name in TABLE_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def database_url(target: str | Path) -> str:
    """A path, ':memory:' or a URL -> a SQLAlchemy URL."""
    text = str(target)
    if "://" in text:
        return text
    if text in (":memory:", ""):
        return "sqlite://"
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn, _record, *, wal: bool, path: str = "") -> None:
    import sqlite3

    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys = ON")
    if wal:
        try:
            cur.execute("PRAGMA journal_mode = WAL")  # the first statement that reads the file's header
        except sqlite3.DatabaseError as exc:
            # Detected here, not by reading the header ourselves: opening and closing the file in this
            # process would drop SQLite's POSIX locks held by other connections to it.
            if "not a database" in str(exc):
                raise NotADatabaseError(path) from None
            raise
        cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


class NotADatabaseError(OSError):
    """`--db` names a file that is not an SQLite database (a snapshot JSON, a typo'd path...).

    An OSError carrying the file name, so every command reports it as one line (see console.cli.main)."""

    def __init__(self, path: str):
        super().__init__(0, "not a fleetctl database (not an SQLite file); check --db or $FLEETCTL_DB", path)


def open_engine(target: str | Path, *, create: bool = True, echo: bool = False) -> Engine:
    """Engine for `target` (path, ':memory:' or URL); with `create`, tables are created.

    In-memory SQLite uses one shared connection (StaticPool) usable from any
    thread, so a UI thread and a worker thread see the same data.
    """
    url = database_url(target)
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}}
        if memory:
            kwargs["poolclass"] = StaticPool
        elif create:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, **kwargs)
        path = url.removeprefix("sqlite:///")
        event.listen(engine, "connect", lambda c, r: _sqlite_pragmas(c, r, wal=not memory, path=path))
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=True)
    if create:
        create_tables(engine)
    return engine


def create_tables(engine: Engine) -> None:
    import_table_modules()
    SQLModel.metadata.create_all(engine)


def close_engine(engine: Engine) -> None:
    """Release connections (SQLite then checkpoints and removes its -wal file)."""
    engine.dispose()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A SQLModel session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
