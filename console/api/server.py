"""`fleetctl serve`: uvicorn running the API, and N worker processes beside it.

The workers are children that die with the server (PR_SET_PDEATHSIG: even a `kill -9` of the
server stops them, gracefully, through SIGTERM). They get the database through the environment,
never argv, so a password in the URL is not visible in `ps`. No solver runs in this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from console.api.settings import ServiceSettings

LOOPBACK_ONLY = ("127.0.0.1",)
STOP_GRACE_S = 15.0


class ServeError(ValueError):
    """A configuration the server refuses (one line for the operator)."""


def check_bind(host: str, auth: bool) -> None:
    if not auth and host not in LOOPBACK_ONLY:
        raise ServeError(f"--insecure-no-auth is only allowed on 127.0.0.1 (not {host}): create a token with "
                         "`fleetctl tokens create NAME --scope read --scope submit` instead")


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_workers(db: str, count: int, log_path: Optional[Path] = None) -> list[subprocess.Popen]:
    env = {**os.environ, "FLEETCTL_DB": db}
    root = str(Path(__file__).resolve().parents[2])
    out = open(log_path, "ab") if log_path else None
    try:
        return [subprocess.Popen([sys.executable, "-m", "console.runner.worker"], env=env, cwd=root,
                                 stdin=subprocess.DEVNULL, stdout=out or sys.stderr, stderr=out or sys.stderr,
                                 preexec_fn=_die_with_parent)
                for _ in range(count)]
    finally:
        if out:
            out.close()


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _check_store(db: str) -> None:
    """Open the store once before listening: a bad URL, an unreachable server or an old schema is one line."""
    from console.ops.errors import OpsError
    from console.ops.store import close_store, open_store

    try:
        close_store(open_store(db))
    except OpsError as exc:
        raise ServeError(str(exc)) from None


def serve(settings: ServiceSettings, host: str = "127.0.0.1", port: int = 8080, workers: int = 0,
          log_level: str = "info") -> int:
    import uvicorn

    from console.api.app import create_app
    from console.store.urls import mask_url

    check_bind(host, settings.auth)
    _check_store(settings.db)
    app = create_app(settings)
    procs = start_workers(settings.db, workers)
    print(f"fleetctl serve: http://{host}:{port} on {mask_url(settings.db)} with {workers} worker(s)"
          + ("; NO AUTHENTICATION (--insecure-no-auth)" if not settings.auth else ""), file=sys.stderr, flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug",
                    timeout_graceful_shutdown=5)
    finally:
        stop_workers(procs)
    return 0
