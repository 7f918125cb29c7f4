"""Opening the store: one SQLAlchemy engine per database, schema checked (and created) on open.

`open_engine` accepts a file path, `:memory:`, a `sqlite:///` or `postgresql://` URL or a
resolved `DbTarget` (console.store.urls: the one place that parses --db). SQLite gets WAL
(readers never block the writer: the console reads while a worker writes progress), a busy
timeout (writers wait instead of failing) and foreign keys; its files are created 0600 in a
0700 folder (the fleet is private data). PostgreSQL gets a connect timeout (no wait without a
deadline) and pre-ping.

Every module that defines tables is listed in TABLE_MODULES; `console.store.schema` imports
them before creating or checking the schema.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from console.store.urls import DbTarget, mask_url, parse_db_target

# Modules whose import registers tables on SQLModel.metadata (missing ones are skipped).
TABLE_MODULES: tuple[str, ...] = (
    "console.store.tables",
    "console.store.run_tables",
    "console.store.schedules",
    "console.store.approvals",
    "console.store.executions",
    "console.store.tokens",
    "console.store.submissions",
)

BUSY_TIMEOUT_MS = 10_000
PG_CONNECT_TIMEOUT_S = 10


def import_table_modules() -> None:
    for name in TABLE_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def database_url(target: "str | Path | DbTarget") -> str:
    """A path, ':memory:' or a URL -> a SQLAlchemy URL (raises urls.DbTargetError on an unknown scheme)."""
    return parse_db_target(target).url


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


def make_private_dirs(folder: Path) -> None:
    """Create `folder` and its missing parents 0700 (folders that already exist are left alone)."""
    missing = []
    for p in (folder, *folder.parents):
        if p.exists():
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            os.mkdir(p, 0o700)
        except FileExistsError:
            pass


def make_private_file(path: Path) -> None:
    """Create an empty `path` 0600 unless it exists. SQLite then opens it as a new database and
    creates its -wal and -shm files with the same mode."""
    make_private_dirs(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def open_engine(target: "str | Path | DbTarget", *, create: bool = True, echo: bool = False) -> Engine:
    """Engine for `target`; with `create` the schema is created (a new database, stamped at the
    newest migration) or checked (an older one must be upgraded, a newer one is refused:
    console.store.schema). Without `create` nothing is created or checked.

    In-memory SQLite uses one shared connection (StaticPool) usable from any
    thread, so a UI thread and a worker thread see the same data.
    """
    db = parse_db_target(target)
    if db.backend == "sqlite":
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}}
        if db.memory:
            kwargs["poolclass"] = StaticPool
        elif create:
            make_private_file(db.path)
        engine = create_engine(db.url, echo=echo, **kwargs)
        path = str(db.path or "")
        event.listen(engine, "connect", lambda c, r: _sqlite_pragmas(c, r, wal=not db.memory, path=path))
    else:
        engine = create_engine(db.url, echo=echo, pool_pre_ping=True,
                               connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S})
    if create:
        from console.store.schema import ensure_schema

        try:
            ensure_schema(engine)
        except BaseException:
            engine.dispose()
            raise
    return engine


def engine_label(engine: Engine) -> str:
    """How to name the engine's database in a message: the file, or the URL without its password."""
    if engine.dialect.name == "sqlite":
        return engine.url.database or ":memory:"
    return mask_url(engine.url.render_as_string(hide_password=True))


def engine_target(engine: Engine) -> str:
    """The target a spawned worker needs (path or URL with password): pass it by environment only."""
    if engine.dialect.name == "sqlite":
        return engine.url.database or ":memory:"
    return engine.url.render_as_string(hide_password=False)


def create_tables(engine: Engine) -> None:
    from console.store.schema import ensure_schema

    ensure_schema(engine)


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
