"""`fleetctl db upgrade | current`: the database schema (Alembic migrations in console/store/migrations).

    fleetctl db upgrade [--db URL]   bring an older fleetctl database (SQLite or PostgreSQL, also one made
                                     before migrations existed) to this version's schema, keeping its data
    fleetctl db current [--db URL]   print the database's schema revision (and whether it is current)
"""

from __future__ import annotations

import typer

from console.cli.apps import app
from console.cli.common import DbOption, existing_db, fail, resolve_db

db_app = typer.Typer(help="Database schema: upgrade, current revision.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _engine(target):
    from console.store.db import make_private_file, open_engine

    if target.path is not None:
        make_private_file(target.path)
    return open_engine(target, create=False)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Upgrade the database's schema to this fleetctl's (one transaction; data kept)."""
    from sqlalchemy.exc import DBAPIError

    from console.cli.common import EXIT_ERROR, _db_error
    from console.store.migrate import upgrade
    from console.store.schema import SchemaError

    target = resolve_db(db)
    engine = _engine(target)
    try:
        before, after = upgrade(engine)
    except SchemaError as exc:
        fail(f"{target}: {exc}")
    except DBAPIError as exc:
        fail(f"{target}: cannot upgrade: {_db_error(exc)}", code=EXIT_ERROR)
    finally:
        engine.dispose()
    if before == after:
        typer.echo(f"{target}: already at {after}")
    else:
        typer.echo(f"{target}: upgraded {before or 'an empty database'} -> {after}")


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """Print the database's schema revision; exit 2 when it is not this fleetctl's."""
    from sqlalchemy.exc import DBAPIError

    from console.cli.common import EXIT_ERROR, _db_error
    from console.store.schema import HEAD, KNOWN_REVISIONS, _state

    target = existing_db(db)
    engine = _engine(target)
    try:
        with engine.connect() as conn:
            revision, has_tables = _state(conn)
    except DBAPIError as exc:
        fail(f"{target}: {_db_error(exc)}", code=EXIT_ERROR)
    finally:
        engine.dispose()
    if revision == HEAD:
        typer.echo(f"{revision} (head)")
        return
    if revision is None and not has_tables:
        fail(f"{target}: empty database (no schema yet; any fleetctl command creates it at {HEAD})")
    if revision is None or revision in KNOWN_REVISIONS:
        typer.echo(revision or "none (made before migrations)")
        fail(f"{target}: older than this fleetctl ({HEAD}): run `fleetctl db upgrade --db {target}`")
    typer.echo(revision)
    fail(f"{target}: newer than this fleetctl (newest {HEAD}): use a newer fleetctl")
