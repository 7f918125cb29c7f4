"""Database URLs everywhere (--db and FLEETCTL_DB), passwords never shown, private files.

Issue 13: `--db postgresql://…` used to become a local SQLite file named `postgresql:/…`.
Issue 11 item 7: databases, WAL/SHM files and worker logs are created 0600 in 0700 folders.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli.main import app
from console.store.urls import DbTargetError, mask_url, parse_db_target
from tests.pg_support import pg_url  # noqa: F401  (fixture)
from tests.runs_support import FIXTURES, kill_spawned_workers, wait_until

TOY = FIXTURES / "toy.json"


def run(*args, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def test_targets_resolve_in_one_place(tmp_path):
    pg = parse_db_target("postgresql://ops:s3cret@db.example:5433/fleet")
    assert pg.backend == "postgresql" and pg.url == "postgresql+psycopg://ops:s3cret@db.example:5433/fleet"
    assert "s3cret" not in str(pg) and "s3cret" not in f"{pg}" and pg.path is None
    assert parse_db_target("postgres://u@h/d").url == "postgresql+psycopg://u@h/d"
    f = parse_db_target(f"sqlite:///{tmp_path}/a.db")
    assert f.backend == "sqlite" and f.path == tmp_path / "a.db"
    assert parse_db_target(str(tmp_path / "b.db")).path == tmp_path / "b.db"
    assert parse_db_target(":memory:").memory
    for bad in ("mysql://u@h/d", "postgresql:/squashed/by/path", "sqlite://relative", "postgresql+psycopg2://u@h/d"):
        with pytest.raises(DbTargetError):
            parse_db_target(bad)
    with pytest.raises(DbTargetError) as exc:
        parse_db_target("redis://u:hunter2@h/0")
    assert "hunter2" not in str(exc.value)
    assert mask_url("see postgresql://a:b@c/d and x") == "see postgresql://a:***@c/d and x"


def test_unknown_scheme_exits_2_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("load", TOY, "--db", "mysql://root:pw@127.0.0.1/fleet")
    assert r.exit_code == 2 and "unknown database URL scheme 'mysql'" in r.output and "pw@" not in r.output
    r = run("fleet", env={"FLEETCTL_DB": "oracle://x/y"})
    assert r.exit_code == 2 and "unknown database URL scheme" in r.output
    assert list(tmp_path.rglob("*")) == []


def test_every_command_reaches_postgresql_and_no_file_appears(pg_url, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    url = pg_url.replace("postgresql+psycopg://", "postgresql://")
    r = run("load", TOY, "--db", url)
    assert r.exit_code == 0, r.output
    r = run("fleet", "--json", env={"FLEETCTL_DB": url})
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["vms"] == len(json.loads(TOY.read_text())["vms"])
    out = tmp_path / "export.json"
    assert run("export", "--db", url, "--out", out).exit_code == 0
    assert json.loads(out.read_text())["name"] == json.loads(TOY.read_text())["name"]
    again = run("load", TOY, "--db", url)
    assert again.exit_code == 2 and "already holds" in again.output
    assert run("limits", "save", "night", FIXTURES / "toy-limits.json", "--db", url).exit_code == 0
    assert "night" in run("limits", "list", "--json", "--db", url).stdout
    assert run("runs", "list", "--db", url).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json"]  # no 'postgresql:' file or folder


def test_a_password_never_reaches_messages_or_a_workers_argv(pg_url, tmp_path):  # noqa: F811
    bad = "postgresql://root:s3cret-pw@127.0.0.1:1/nowhere"  # nothing listens on port 1
    r = run("fleet", "--db", bad)
    assert r.exit_code == 1 and "s3cret-pw" not in r.output and "***" in r.output
    # trust auth ignores the password: a URL with one works, and the spawned worker gets it by environment
    url = pg_url.replace("postgresql+psycopg://root@", "postgresql://root:s3cret-pw@")
    url = url.replace("postgresql+psycopg://postgres@", "postgresql://postgres:s3cret-pw@")
    assert "s3cret-pw" in url
    from console.ops.store import open_store
    from console.runner import ensure_worker
    from console.runner.submit import worker_log_path

    engine = open_store(url)
    try:
        pid = ensure_worker(url, idle_exit_s=30)
        assert pid is not None
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert not any(b"s3cret" in a for a in argv) and not any(b"postgresql" in a for a in argv)
        log = worker_log_path(url)
        wait_until(lambda: log.exists() and b"serving" in log.read_bytes(), timeout=60, what="the worker's log")
        assert b"s3cret" not in log.read_bytes()
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
    finally:
        kill_spawned_workers(engine)
        engine.dispose()


def test_sqlite_files_and_folders_are_private(tmp_path):
    from console.store.db import open_engine

    db = tmp_path / "new" / "deeper" / "fleet.db"
    old_umask = os.umask(0o022)
    try:
        engine = open_engine(db)
        with engine.connect() as conn:  # WAL and SHM exist while a connection is open
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.commit()
            files = [db, db.with_name("fleet.db-wal"), db.with_name("fleet.db-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
        engine.dispose()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "deeper").stat().st_mode) == 0o700


def test_cli_load_makes_a_private_database_and_worker_log(tmp_path):
    db = tmp_path / "data" / "fleet.db"
    assert run("load", TOY, "--db", db).exit_code == 0
    assert stat.S_IMODE(db.stat().st_mode) == 0o600 and stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    from console.ops.store import open_store
    from console.runner import ensure_worker
    from console.runner.submit import worker_log_path

    engine = open_store(db)
    try:
        assert ensure_worker(db, idle_exit_s=10) is not None
        time.sleep(0.2)
        assert stat.S_IMODE(worker_log_path(db).stat().st_mode) == 0o600
    finally:
        kill_spawned_workers(engine)
        engine.dispose()


def test_a_missing_postgresql_server_fails_under_ci_and_skips_elsewhere(monkeypatch):
    import tests.pg_support as pg

    monkeypatch.setattr(pg, "PG_SERVER", "postgresql://root@127.0.0.1:1")  # nothing listens there
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no PostgreSQL server"):
        pg.require_server()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="docker run"):
        pg.require_server()
