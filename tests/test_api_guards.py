"""Server-level guards: body cap, per-token queue quota, --insecure-no-auth only on 127.0.0.1,
tokens CLI (hash only, printed once), workers that die with the server (SQLite: the guards do not
depend on the backend, which test_api_service covers on both)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from tests.service_support import ROOT, Server, auth, make_token, toy_snapshot, wait_until


def _cli(*args: str, db: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console.cli.main", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "FLEETCTL_DB": db})


def test_tokens_cli_prints_the_token_once_and_stores_only_its_hash(tmp_path):
    db = str(tmp_path / "t.db")
    made = _cli("tokens", "create", "ci-bot", "--scope", "read", "--scope", "submit", db=db)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("fct_") and len(token) > 30 and "\n" not in token
    listed = _cli("tokens", "list", "--json", db=db)
    assert token not in listed.stdout and '"ci-bot"' in listed.stdout and '"submit"' in listed.stdout
    assert token.encode() not in (tmp_path / "t.db").read_bytes()
    bad = _cli("tokens", "create", "x", "--scope", "root", db=db)
    assert bad.returncode == 2 and "unknown scope 'root'" in bad.stderr and "Traceback" not in bad.stderr
    dup = _cli("tokens", "create", "ci-bot", "--scope", "read", db=db)
    assert dup.returncode == 2 and "already exists" in dup.stderr
    with Server(db, log_dir=tmp_path) as server:
        assert httpx.get(server.url + "/v1/runs", headers=auth(token)).status_code == 200
        assert _cli("tokens", "revoke", "ci-bot", db=db).returncode == 0
        wait_until(lambda: httpx.get(server.url + "/v1/runs", headers=auth(token)).status_code == 401, 5,
                   "the revoked token to be refused")
    assert _cli("tokens", "revoke", "ci-bot", db=db).returncode == 2


def test_insecure_no_auth_only_on_loopback(tmp_path):
    db = str(tmp_path / "i.db")
    refused = _cli("serve", "--insecure-no-auth", "--host", "0.0.0.0", "--port", "1", db=db, timeout=30)
    assert refused.returncode == 2 and "only allowed on 127.0.0.1" in refused.stderr
    assert "Traceback" not in refused.stderr
    with Server(db, extra=("--insecure-no-auth",), log_dir=tmp_path) as server:
        assert httpx.get(server.url + "/v1/runs").status_code == 200
        assert httpx.get(server.url + "/openapi.json").status_code == 200


def test_body_cap_refuses_large_bodies_declared_or_streamed(tmp_path):
    db = str(tmp_path / "b.db")
    token = make_token(db, "t", "admin")
    with Server(db, extra=("--max-body-mb", "0.01"), log_dir=tmp_path) as server:  # ~10 KB
        big = b'{"name": "' + b"x" * 20_000 + b'"}'
        r = httpx.post(server.url + "/v1/snapshots", content=big,
                       headers={**auth(token), "content-type": "application/json"})
        assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")

        def chunks():
            for _ in range(20):
                yield b" " * 1000

        r = httpx.post(server.url + "/v1/snapshots", content=chunks(),
                       headers={**auth(token), "content-type": "application/json"})
        assert r.status_code == 413, r.text
        ok = httpx.post(server.url + "/v1/snapshots", json=toy_snapshot(), headers=auth(token))
        assert ok.status_code == 201, ok.text
        assert "Traceback" not in server.log()


def test_queue_quota_per_token_is_429_with_retry_after(tmp_path):
    db = str(tmp_path / "q.db")
    alice, bob = make_token(db, "alice", "submit", "read"), make_token(db, "bob", "submit")
    with Server(db, extra=("--queue-quota", "2"), log_dir=tmp_path) as server:  # no workers: runs stay queued
        with httpx.Client(base_url=server.url, timeout=30) as c:
            assert c.post("/v1/snapshots", json=toy_snapshot(), headers=auth(alice)).status_code == 201
            ids = [c.post("/v1/runs", json={"kind": "maintenance"}, headers=auth(alice)).json()["id"] for _ in range(2)]
            third = c.post("/v1/runs", json={"kind": "maintenance"}, headers=auth(alice))
            assert third.status_code == 429 and int(third.headers["retry-after"]) > 0
            assert third.json()["quota"] == 2 and third.json()["queued"] == 2
            # A replay of an existing key is not a new run, and another token has its own quota.
            assert c.post("/v1/runs", json={"kind": "maintenance"}, headers=auth(bob)).status_code == 202
            c.post(f"/v1/runs/{ids[0]}/cancel", headers=auth(alice))
            assert c.post("/v1/runs", json={"kind": "maintenance"}, headers=auth(alice)).status_code == 202
            assert c.get("/readyz", headers=auth(alice)).status_code == 503  # no live worker


def test_serve_workers_die_with_the_server_even_on_kill_9(tmp_path):
    db = str(tmp_path / "w.db")
    server = Server(db, workers=2, log_dir=tmp_path).start()
    try:
        def worker_pids():
            out = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout
            return [int(p) for p in out.split()]

        pids = wait_until(lambda: len(worker_pids()) == 2 and worker_pids(), 30, "two worker children")
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)

        def gone():
            return all(not os.path.exists(f"/proc/{p}") or _zombie(p) for p in pids)

        wait_until(gone, 30, "the workers to exit after the server was killed")
    finally:
        server.stop()


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True
