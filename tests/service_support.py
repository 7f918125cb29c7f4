"""Helpers for the API tests: a real `fleetctl serve` on a loopback port, tokens, PostgreSQL databases.

Every wait has a deadline; every process started here is stopped by the fixture that started it.
PostgreSQL: a throwaway database per use through tests/pg_support (127.0.0.1:5432, trust auth),
dropped after; outside CI a missing server skips with a message, under CI=true it fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import httpx

from tests.runs_support import toy_limits, toy_snapshot, wait_until  # noqa: F401  (re-exported to the API tests)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- PostgreSQL


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database URL (tests/pg_support: skip outside CI, fail under CI=true), dropped after."""
    from tests.pg_support import create_database, drop_database, require_server

    url = create_database(require_server())
    try:
        yield url
    finally:
        drop_database(url)


@contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "postgresql":
        with pg_database() as url:
            yield url
    else:
        yield str(tmp_path / f"api-{uuid.uuid4().hex[:8]}.db")


# --------------------------------------------------------------------------- tokens and servers


def make_token(db: str, name: str, *scopes: str) -> str:
    from console.store.runs import runs_engine
    from console.store.tokens import create_token

    engine = runs_engine(db)
    try:
        return create_token(engine, name, list(scopes))[1]
    finally:
        engine.dispose()


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _die_with_test() -> None:
    """The server gets SIGTERM if the test process dies (e.g. killed by pytest-timeout before teardown)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Server:
    """`fleetctl serve` in a child process on 127.0.0.1."""

    def __init__(self, db: str, *, workers: int = 0, extra: tuple = (), log_dir: Optional[Path] = None,
                 port: Optional[int] = None):
        self.db, self.workers, self.extra = db, workers, extra
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = (log_dir or Path("/tmp")) / f"serve-{self.port}-{uuid.uuid4().hex[:6]}.log"
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 60) -> "Server":
        env = {**os.environ, "FLEETCTL_DB": self.db, "PYTHONUNBUFFERED": "1"}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "console.cli.main", "serve", "--port", str(self.port),
                                      "--workers", str(self.workers), "--log-level", "warning", *self.extra],
                                     cwd=ROOT, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     preexec_fn=_die_with_test)
        log.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout, "the API server to answer /healthz", every=0.1)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout: float = 30) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def read_sse(client: httpx.Client, url: str, headers: dict, timeout: float = 60) -> list[tuple[str, str, dict]]:
    """Every (id, event, data) of an event stream until it closes; fails past `timeout`."""
    out, current = [], {}
    deadline = time.monotonic() + timeout
    with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=timeout)) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if time.monotonic() > deadline:
                raise AssertionError(f"event stream {url} still open after {timeout} s")
            if line == "":
                if "event" in current:
                    out.append((current.get("id"), current["event"], json.loads(current.get("data", "{}"))))
                current = {}
            elif line.startswith(":"):
                continue
            else:
                key, _, value = line.partition(": ")
                current[key] = value
    return out


def wait_terminal(client: httpx.Client, base: str, run_id: int, headers: dict, timeout: float = 60) -> dict:
    def done():
        body = client.get(f"{base}/v1/runs/{run_id}", headers=headers).json()
        return body if body["status"] in ("succeeded", "infeasible", "failed", "cancelled") else None

    return wait_until(done, timeout, f"run {run_id} to end", every=0.1)
