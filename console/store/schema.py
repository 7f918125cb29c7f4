"""The store's schema version: created at the newest migration, checked on every open.

A new (empty) database gets every table from the models and is stamped with HEAD, the
newest Alembic revision (console/store/migrations; a test keeps HEAD equal to the
migrations' head). An existing one must be at HEAD: an older one (any earlier revision,
or a database made before migrations existed) is refused with "run `fleetctl db upgrade`",
a newer one (made by a newer fleetctl) is refused outright: this code would misread it.

Creation happens under the database's write lock (SQLite BEGIN IMMEDIATE, a PostgreSQL
advisory lock) and re-checks inside it, so two commands creating the same new database at
once never fail with "table … already exists". Checking is one indexed read, once per engine.
"""

from __future__ import annotations

import weakref

from sqlalchemy import Column, Engine, MetaData, String, Table, inspect, select
from sqlalchemy.engine import Connection

from console.store.tx import advisory_lock, read, write

from console.store.revisions import BASELINE, HEAD, KNOWN_REVISIONS  # noqa: E402,F401

VERSION_TABLE = Table("alembic_version", MetaData(), Column("version_num", String(32), primary_key=True))
# Tables every fleetctl database has had since before migrations: their presence marks a pre-migration store.
LEGACY_MARKERS = ("snapshots", "runs")

_ready: "weakref.WeakSet[Engine]" = weakref.WeakSet()


class SchemaError(Exception):
    """The database's schema is not the one this fleetctl uses (exit 2, never a traceback)."""


class SchemaOutdated(SchemaError):
    pass


class SchemaTooNew(SchemaError):
    pass


def database_revision(conn: Connection) -> str | None:
    """The database's Alembic revision; None when it has no version table."""
    if not inspect(conn).has_table(VERSION_TABLE.name):
        return None
    return conn.execute(select(VERSION_TABLE.c.version_num)).scalar()


def _state(conn: Connection) -> tuple[str | None, bool]:
    """(revision, holds fleetctl tables).

    The tables are listed once, in one statement, and the version table is looked for in that
    same list: creation commits tables and stamp together, so one listing sees both or neither.
    (Asking "is there a version table?" and then "are there tables?" in two statements let a
    creation commit in between, and a brand-new database looked made before migrations.)"""
    names = set(inspect(conn).get_table_names())
    if VERSION_TABLE.name in names:
        return conn.execute(select(VERSION_TABLE.c.version_num)).scalar(), True
    return None, bool(names & set(LEGACY_MARKERS))


def _verdict(label: str, revision: str | None, has_tables: bool) -> None:
    if revision == HEAD:
        return
    if revision is None and has_tables:
        raise SchemaOutdated(f"{label} was made by an older fleetctl (before schema migrations): "
                             f"run `fleetctl db upgrade --db {label}` to bring it to {HEAD}")
    if revision in KNOWN_REVISIONS:
        raise SchemaOutdated(f"{label} is at schema revision {revision}, this fleetctl needs {HEAD}: "
                             f"run `fleetctl db upgrade --db {label}`")
    raise SchemaTooNew(f"{label} has schema revision {revision!r}, newer than this fleetctl knows "
                       f"(newest {HEAD}): use a newer fleetctl for this database")


def _label(engine: Engine) -> str:
    from console.store.db import engine_label

    return engine_label(engine)


def store_metadata() -> MetaData:
    """The tables of the modules in console.store.db.TABLE_MODULES, and only those: what the
    migrations build. (A module elsewhere that adds SQLModel tables must join TABLE_MODULES and
    add a migration; until then it creates its own tables and is not part of this schema.)"""
    from sqlmodel import SQLModel

    from console.store.db import TABLE_MODULES, import_table_modules

    import_table_modules()
    metadata = MetaData()
    pending = list(SQLModel.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        table = getattr(cls, "__table__", None)
        if table is not None and cls.__module__ in TABLE_MODULES and table.name not in metadata.tables:
            table.to_metadata(metadata)
    import sys

    for name in TABLE_MODULES:  # SQLAlchemy Core tables a module lists in CORE_TABLES (plan lifecycle)
        for table in getattr(sys.modules.get(name), "CORE_TABLES", ()):
            if table.name not in metadata.tables:
                table.to_metadata(metadata)
    return metadata


def create_schema(conn: Connection) -> None:
    """Every table of the store, stamped HEAD (the caller holds the write lock)."""
    store_metadata().create_all(conn)
    VERSION_TABLE.create(conn, checkfirst=True)
    conn.execute(VERSION_TABLE.delete())
    conn.execute(VERSION_TABLE.insert().values(version_num=HEAD))


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty database, else check it is HEAD (SchemaOutdated / SchemaTooNew)."""
    if engine in _ready:
        return
    label = _label(engine)
    revision, has_tables = read(engine, _state)
    if revision is None and not has_tables:

        def tx(conn: Connection) -> tuple[str | None, bool]:
            advisory_lock(conn, "fleetctl-schema")
            state = _state(conn)
            if state == (None, False):
                create_schema(conn)
                return HEAD, True
            return state

        revision, has_tables = write(engine, tx)
    _verdict(label, revision, has_tables)
    _ready.add(engine)


def check_schema(engine: Engine) -> None:
    """Refuse a database whose schema is not HEAD; an empty one passes (nothing to misread)."""
    if engine in _ready:
        return
    revision, has_tables = read(engine, _state)
    if revision is None and not has_tables:
        return
    _verdict(_label(engine), revision, has_tables)
    _ready.add(engine)


def mark_ready(engine: Engine) -> None:
    """After an upgrade in this process: the engine's schema is HEAD."""
    _ready.add(engine)
