"""API bearer tokens: only a sha256 of each token is stored; the token itself is shown once.

    create_token(engine, name, scopes) -> (TokenView, secret)   the secret is never stored
    list_tokens(engine) -> list[TokenView]
    revoke_token(engine, name_or_id) -> bool
    authenticate(engine, secret) -> TokenView | None           None: unknown or revoked

Scopes: `read` (GET endpoints), `submit` (snapshots, runs, cancel), `admin` (limit sets,
schedules, and everything else). `admin` grants every scope (see `TokenView.allows`).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from console.store.runs import ensure_run_tables, iso, read, write

SCOPES = ("read", "submit", "admin")
TOKEN_PREFIX = "fct_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class ApiTokenRow(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    token_sha256: str = Field(index=True, unique=True)
    scopes: str  # JSON list
    created_at: float
    revoked_at: Optional[float] = None
    last_used_at: Optional[float] = None


TOKENS = ApiTokenRow.__table__


def ensure_token_tables(engine: Engine) -> None:
    """The store's schema is in place (migration 0004 made these tables; nothing is created here)."""
    ensure_run_tables(engine)


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    scopes: tuple[str, ...]
    created_at: float
    revoked_at: Optional[float]
    last_used_at: Optional[float]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "scopes": list(self.scopes), "created_at": iso(self.created_at),
                "revoked_at": iso(self.revoked_at), "last_used_at": iso(self.last_used_at)}


def _view(r) -> TokenView:
    return TokenView(r.id, r.name, tuple(json.loads(r.scopes)), r.created_at, r.revoked_at, r.last_used_at)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_scopes(scopes: list[str]) -> list[str]:
    """Problems with a scope list (empty list when fine)."""
    if not scopes:
        return [f"give at least one scope ({', '.join(SCOPES)})"]
    return [f"unknown scope {s!r}: choose from {', '.join(SCOPES)}" for s in scopes if s not in SCOPES]


def create_token(engine: Engine, name: str, scopes: list[str]) -> tuple[TokenView, str]:
    """A new token; returns its row and the secret (shown to the operator once, never stored)."""
    problems = check_scopes(scopes)
    if not _NAME.match(name or ""):
        problems.insert(0, f"invalid token name {name!r}: 1-64 letters, digits, '_', '.', '@' or '-'")
    if problems:
        raise ValueError("; ".join(problems))
    ensure_token_tables(engine)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    values = dict(name=name, token_sha256=token_hash(secret), scopes=json.dumps(sorted(set(scopes))),
                  created_at=time.time())
    try:
        row_id = write(engine, lambda c: int(c.execute(insert(TOKENS).values(**values)).inserted_primary_key[0]))
    except IntegrityError:
        raise ValueError(f"a token named {name!r} already exists (revoke it first, or pick another name)") from None
    return TokenView(row_id, name, tuple(sorted(set(scopes))), values["created_at"], None, None), secret


def list_tokens(engine: Engine) -> list[TokenView]:
    ensure_token_tables(engine)
    return [_view(r) for r in read(engine, lambda c: c.execute(select(TOKENS).order_by(TOKENS.c.id)).all())]


def revoke_token(engine: Engine, name_or_id: str) -> bool:
    """Revoke by name (or numeric id); False when no live token matches."""
    ensure_token_tables(engine)
    cond = TOKENS.c.name == name_or_id
    if name_or_id.isdigit():
        cond = cond | (TOKENS.c.id == int(name_or_id))
    return write(engine, lambda c: c.execute(
        update(TOKENS).where(cond, TOKENS.c.revoked_at.is_(None)).values(revoked_at=time.time())).rowcount > 0)


def authenticate(engine: Engine, secret: str) -> Optional[TokenView]:
    """The live token whose hash matches `secret`, or None."""
    if not secret or len(secret) > 512:
        return None
    ensure_token_tables(engine)
    digest = token_hash(secret)
    row = read(engine, lambda c: c.execute(select(TOKENS).where(TOKENS.c.token_sha256 == digest)).first())
    if row is None or row.revoked_at is not None:
        return None
    return _view(row)
