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

BASELINE = "0001_baseline"        # the schema of fleetctl before migrations (main of 2026-12-02)
HEAD = "0003_plan_lifecycle"  # keep equal to the newest file in console/store/migrations/versions
KNOWN_REVISIONS = (BASELINE, "0002_versions_provenance", HEAD)  # oldest first

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
    """(revision, holds fleetctl tables)."""
    revision = database_revision(conn)
    if revision is not None:
        return revision, True
    names = set(inspect(conn).get_table_names())
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


def create_schema(conn: Connection) -> None:
    """Every table from the models, stamped HEAD (the caller holds the write lock)."""
    from sqlmodel import SQLModel

    from console.store.db import import_table_modules

    import_table_modules()
    SQLModel.metadata.create_all(conn)
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
