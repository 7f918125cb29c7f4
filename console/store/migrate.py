"""Schema migrations, run programmatically (`fleetctl db upgrade`, tests): Alembic scripts in
console/store/migrations, no alembic.ini needed in the working directory.

    upgrade(engine) -> (before, after)      bring any older fleetctl database to HEAD, in one
                                            transaction under the schema lock; data kept
    current(engine) -> str | None           the database's revision (None: empty, or pre-migration)
    script_heads() -> tuple[str, ...]       the migrations' head(s) (a test keeps schema.HEAD equal)

A database made before migrations (it has the fleet tables, no alembic_version) is first
stamped BASELINE, the schema those versions created. A database newer than HEAD is refused.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from console.store.schema import (BASELINE, HEAD, KNOWN_REVISIONS, VERSION_TABLE, SchemaTooNew, _state, create_schema,
                                  database_revision, mark_ready)
from console.store.tx import advisory_lock, begin_write, with_retry

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
PRE_MIGRATION = "pre-migration"


def _config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def script_heads() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(_config(None)).get_heads())


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return database_revision(conn)


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Upgrade to `target` (default: the newest); returns (revision before, revision after), where
    "before" is None for an empty database (created at HEAD directly: stamped, not replayed) and
    PRE_MIGRATION for one made before migrations existed."""
    from alembic import command

    def attempt() -> tuple[str | None, str]:
        with engine.connect() as conn:
            begin_write(conn)
            try:
                advisory_lock(conn, "fleetctl-schema")
                revision, has_tables = _state(conn)
                before = revision
                if revision is None and not has_tables and target == "head":
                    create_schema(conn)
                    conn.commit()
                    return None, HEAD
                if revision is not None and revision not in KNOWN_REVISIONS:
                    raise SchemaTooNew(f"schema revision {revision!r} is newer than this fleetctl knows "
                                       f"(newest {HEAD}): use a newer fleetctl for this database")
                if revision is None and has_tables:  # made before migrations: its schema is the baseline
                    before = PRE_MIGRATION
                    VERSION_TABLE.create(conn, checkfirst=True)
                    conn.execute(VERSION_TABLE.insert().values(version_num=BASELINE))
                command.upgrade(_config(conn), target)
                after = database_revision(conn)
                conn.commit()
                return before, after
            except BaseException:
                conn.rollback()
                raise

    before, after = with_retry(attempt)
    if after == HEAD:
        mark_ready(engine)
    return before, after
