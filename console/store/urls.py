"""Database targets: what `--db` / FLEETCTL_DB may say, resolved in one place.

    postgresql://user[:password]@host:port/db   (also postgres://, postgresql+psycopg://)
    sqlite:///abs/path  (sqlite:///rel/path: relative to the working directory)
    a plain path (today's default form), or ':memory:'

Anything else that looks like a URL (`scheme:/…`) is refused rather than taken for a file
name: `postgresql://…` must never become a local SQLite file called `postgresql:/…`.

A DbTarget prints masked (`str()` hides the password), so messages and logs are safe by
default; `.url` holds the secret and goes only to SQLAlchemy and to a child's environment.
No SQLAlchemy import here: the CLI resolves --db before paying for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

DB_ENV = "FLEETCTL_DB"

_URL_LIKE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):/")
_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^@\s]*)(?P<at>@)")
POSTGRES_SCHEMES = ("postgresql", "postgres")
PG_DRIVER = "psycopg"  # psycopg 3 (SQLAlchemy's default for postgresql:// would be psycopg2, not installed)


class DbTargetError(ValueError):
    """--db names something fleetctl cannot open (an unknown URL scheme, a malformed URL)."""


def mask_url(text: str) -> str:
    """`text` with every URL password replaced by ***."""
    return _PASSWORD.sub(lambda m: f"{m['head']}***{m['at']}", text)


@dataclass(frozen=True)
class DbTarget:
    url: str                 # SQLAlchemy URL, with the password: never print it
    backend: str             # "sqlite" | "postgresql"
    path: Optional[Path]     # the SQLite file (None: in-memory or a server)

    @property
    def display(self) -> str:
        if self.path is not None:
            return str(self.path)
        return mask_url(self.url.replace(f"postgresql+{PG_DRIVER}://", "postgresql://", 1))

    def __str__(self) -> str:
        return self.display

    @property
    def memory(self) -> bool:
        return self.backend == "sqlite" and self.path is None

    @property
    def spawn_target(self) -> str:
        """What a spawned worker is given (by environment, never argv): the file path or the URL."""
        return str(self.path) if self.path is not None else self.url

    def exists(self) -> bool:
        """A server database is taken to exist (connecting tells); a file must be there."""
        return self.path.exists() if self.path is not None else not self.memory


def parse_db_target(target: "str | Path | DbTarget") -> DbTarget:
    """Resolve a --db value; raises DbTargetError naming what is wrong (password masked)."""
    if isinstance(target, DbTarget):
        return target
    if isinstance(target, Path):
        text = str(target)
        if _URL_LIKE.match(text):  # a URL squashed by Path ('postgresql:/x'): never a file name
            raise DbTargetError(f"{mask_url(text)}: a database URL needs '://' (e.g. postgresql://user@host:5432/db)")
        return _file(text)
    text = str(target).strip()
    if text in ("", ":memory:", "sqlite://", "sqlite:///:memory:"):
        return DbTarget("sqlite://", "sqlite", None)
    m = _URL_LIKE.match(text)
    if m is None:
        return _file(text)
    scheme = m.group(1).lower()
    base, _, driver = scheme.partition("+")
    if "://" not in text:
        raise DbTargetError(f"{mask_url(text)}: a database URL needs '://' (e.g. postgresql://user@host:5432/db)")
    rest = text.split("://", 1)[1]
    if base == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise DbTargetError(f"{text}: a SQLite URL is sqlite:///path/to/file.db")
        return _file(rest[1:])
    if base in POSTGRES_SCHEMES:
        if driver not in ("", PG_DRIVER):
            raise DbTargetError(f"{mask_url(text)}: only the psycopg driver is installed (postgresql://… or "
                                f"postgresql+psycopg://…)")
        if not rest.split("/", 1)[0].rsplit("@", 1)[-1]:
            raise DbTargetError(f"{mask_url(text)}: the URL names no host (postgresql://user@host:5432/db)")
        return DbTarget(f"postgresql+{PG_DRIVER}://{rest}", "postgresql", None)
    raise DbTargetError(f"{mask_url(text)}: unknown database URL scheme {scheme!r}: use postgresql://user@host:port/db, "
                        f"sqlite:///path/to/file.db or a plain file path")


def _file(text: str) -> DbTarget:
    path = Path(text).expanduser().resolve()
    return DbTarget(f"sqlite:///{path}", "sqlite", path)
