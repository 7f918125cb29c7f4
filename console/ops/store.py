"""Opening the store for a front-end: one resolution of the database target, errors as OpsError."""

from __future__ import annotations

from console.ops.errors import InvalidInput, SchemaMismatch, StoreUnavailable


def open_store(db, *, create: bool = True):
    """Engine on `db` (a path, URL or DbTarget), schema created or checked. Raises InvalidInput
    (a URL fleetctl cannot use) or StoreUnavailable (unreachable, not a fleetctl database, schema
    older or newer than this code) — messages never carry a password."""
    from sqlalchemy.exc import DBAPIError

    from console.store.db import NotADatabaseError, open_engine
    from console.store.schema import SchemaError
    from console.store.urls import DbTargetError, mask_url, parse_db_target

    try:
        target = parse_db_target(db)
    except DbTargetError as exc:
        raise InvalidInput(str(exc)) from None
    try:
        return open_engine(target, create=create)
    except SchemaError as exc:
        raise SchemaMismatch(str(exc)) from None
    except NotADatabaseError as exc:
        raise StoreUnavailable(f"{target}: {exc.strerror}") from None
    except DBAPIError as exc:
        first = (str(exc.orig).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreUnavailable(f"{target}: cannot open the database: {mask_url(first)}") from None


def close_store(engine) -> None:
    engine.dispose()
