"""Throwaway PostgreSQL databases for tests, and the `store_url` backends.

A server is expected on 127.0.0.1:5432 with trust auth (user `root` or `postgres`,
override with FLEETCTL_TEST_PG=postgresql://user@host:port). Each test gets its own
database `fleetctl_test_<random>`, dropped afterwards (connections terminated first).
Under CI=true a missing server FAILS the test; elsewhere the test is skipped with a
message saying how to start one.

Use in a test module (pytest imports fixtures from the module namespace):

    from tests.pg_support import pg_url, store_url  # noqa: F401
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Iterator

import pytest

from tests.ci_support import unavailable

PG_SERVER = os.environ.get("FLEETCTL_TEST_PG", "")
USERS = ("root", "postgres")
HOST, PORT = "127.0.0.1", 5432
HOW_TO_START = ("no PostgreSQL server on 127.0.0.1:5432 (trust auth, user root or postgres): start one, e.g. "
                "`docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`, "
                "or set FLEETCTL_TEST_PG=postgresql://USER@HOST:PORT")


def _admin_candidates() -> list[str]:
    if PG_SERVER:
        return [PG_SERVER.rstrip("/") + "/postgres"]
    return [f"postgresql://{user}@{HOST}:{PORT}/postgres" for user in USERS]


def _server_base() -> str | None:
    """The server URL (no database) that answers, or None."""
    import psycopg

    for url in _admin_candidates():
        try:
            with psycopg.connect(url, connect_timeout=3):
                return url.rsplit("/", 1)[0]
        except psycopg.Error:
            continue
    return None


def require_server() -> str:
    base = _server_base()
    if base is None:
        unavailable(HOW_TO_START)
    return base


def _admin(base: str):
    import psycopg

    return psycopg.connect(base + "/postgres", autocommit=True, connect_timeout=5)


def create_database(base: str) -> str:
    """CREATE DATABASE fleetctl_test_<random>; returns its SQLAlchemy URL (psycopg 3 driver)."""
    name = f"fleetctl_test_{secrets.token_hex(6)}"
    with _admin(base) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)


def drop_database(url: str) -> None:
    base, name = url.replace("postgresql+psycopg://", "postgresql://", 1).rsplit("/", 1)
    with _admin(base) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                     (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (its URL), dropped after the test."""
    url = create_database(require_server())
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend: a SQLite file URL, then a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url = create_database(require_server())
    try:
        yield url
    finally:
        drop_database(url)
