"""Named limit sets: FORMATS.md limits documents saved under a name.

The body is stored as the JSON the model dumps (aliases, e.g. `global`), so a
saved set reloads to an equal `Limits`. Saving an existing name replaces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, select
from sqlmodel import Session

from console.store.tables import LimitSetRow, as_utc, utcnow
from engine.model import Limits


class LimitSetNotFound(KeyError):
    """No limit set has that name."""

    def __str__(self) -> str:
        return f"no limit set named {self.args[0]!r}"


@dataclass(frozen=True)
class LimitSetInfo:
    name: str
    saved_at: datetime


def save_limits(engine: Engine, name: str, limits: Limits) -> None:
    """Save (or replace) the limit set `name`."""
    if not name or not name.strip():
        raise ValueError("a limit set needs a non-empty name")
    body = json.dumps(limits.to_json_dict(), sort_keys=True)
    with Session(engine) as session:
        row = session.get(LimitSetRow, name)
        if row is None:
            row = LimitSetRow(name=name, body=body, saved_at=utcnow())
        else:
            row.body, row.saved_at = body, utcnow()
        session.add(row)
        session.commit()


def load_limits(engine: Engine, name: str) -> Limits:
    """The limit set `name`; raises LimitSetNotFound, or engine.documents.DocumentError naming the set
    and field when the stored body fails the one limits validation (a row written by an older
    version or by hand must not reach a solve unchecked)."""
    with engine.connect() as conn:
        body = conn.execute(select(LimitSetRow.body).where(LimitSetRow.name == name)).scalar_one_or_none()
    if body is None:
        raise LimitSetNotFound(name)
    from engine.documents import parse_limits

    return parse_limits(json.loads(body), f"limit set {name!r}")


def list_limit_sets(engine: Engine) -> list[LimitSetInfo]:
    """Every saved limit set, by name."""
    with engine.connect() as conn:
        rows = conn.execute(select(LimitSetRow.name, LimitSetRow.saved_at).order_by(LimitSetRow.name)).all()
    return [LimitSetInfo(name=n, saved_at=as_utc(t)) for n, t in rows]


def delete_limit_set(engine: Engine, name: str) -> bool:
    """Delete `name`; returns whether it existed."""
    with engine.begin() as conn:
        return conn.execute(delete(LimitSetRow).where(LimitSetRow.name == name)).rowcount > 0
