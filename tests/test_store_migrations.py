"""Schema migrations: `fleetctl db upgrade` brings a database made by today's main (before
migrations) to the current schema keeping fleet, limits, runs and plans; the migrated schema is
exactly the models'; a database newer than the code is refused by every command (exit 2); new
databases are created at head. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from console.cli.main import app
from console.store.migrate import PRE_MIGRATION, current, script_heads, upgrade
from console.store.schema import BASELINE, HEAD
from tests.pg_support import pg_url, store_url  # noqa: F401  (fixtures)
from tests.runs_support import FIXTURES

OLD_MAIN_DB = Path(__file__).resolve().parent / "data" / "main-2026-12-02.sqlite"  # made by commit 32e2e02


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _schema_diffs(engine) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from console.store.schema import store_metadata

    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), store_metadata())
    return [d for d in diffs if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")]


def test_head_is_the_migrations_head():
    assert script_heads() == (HEAD,)


def _old_rows(path: Path) -> dict:
    con = sqlite3.connect(path)
    try:
        return {
            "vms": con.execute("SELECT id, host, customer, cpu, memory_gb FROM vms ORDER BY seq").fetchall(),
            "limits": con.execute("SELECT name, body FROM limit_sets").fetchall(),
            "runs": con.execute("SELECT id, kind, status, plan_json, limits_json, input_key FROM runs ORDER BY id").fetchall(),
            "schedules": con.execute("SELECT id, kind, every_s, limits_name, options_json FROM run_schedules").fetchall(),
        }
    finally:
        con.close()


def test_a_database_made_by_todays_main_is_refused_then_upgraded_keeping_its_data(tmp_path):
    db = tmp_path / "old.sqlite"
    shutil.copy(OLD_MAIN_DB, db)
    before = _old_rows(db)
    assert len(before["runs"]) == 3 and all(r[3] for r in before["runs"]) and before["limits"]
    refused = run("fleet", "--db", db)
    assert refused.exit_code == 2 and "fleetctl db upgrade" in refused.output
    console = run("console", "--db", db)  # refused before the UI starts
    assert console.exit_code == 2 and "fleetctl db upgrade" in console.output
    assert run("db", "current", "--db", db).exit_code == 2

    up = run("db", "upgrade", "--db", db)
    assert up.exit_code == 0 and f"upgraded {PRE_MIGRATION} -> {HEAD}" in up.output, up.output
    assert _old_rows(db) == before  # fleet, limits, runs with their plans, schedules: all kept
    assert run("db", "current", "--db", db).stdout.strip() == f"{HEAD} (head)"
    assert run("db", "upgrade", "--db", db).exit_code == 0  # idempotent

    from console.ops.store import open_store
    from console.store.runs import RUNS, read

    engine = open_store(db)
    try:
        assert _schema_diffs(engine) == []
        rows = read(engine, lambda c: c.execute(RUNS.select().order_by(RUNS.c.id)).all())
        assert [r.snapshot_sha256 for r in rows] == [r[5] for r in before["runs"]]  # backfilled from the stored inputs
        assert all(r.termination in ("optimal", "feasible") for r in rows)
    finally:
        engine.dispose()
    fleet = run("fleet", "--json", "--db", db)
    assert fleet.exit_code == 0 and json.loads(fleet.stdout)["vms"] == len(before["vms"])
    shown = run("runs", "show", "1", "--json", "--db", db)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["plan"] == json.loads(before["runs"][0][3])
    assert run("limits", "show", "night", "--db", db).exit_code == 0
    assert run("load", FIXTURES / "toy.json", "--db", db, "--replace").exit_code == 0  # and it works on


def test_postgresql_database_of_the_baseline_schema_upgrades_keeping_data(pg_url):  # noqa: F811
    from console.store.db import open_engine

    engine = open_engine(pg_url, create=False)
    try:
        assert upgrade(engine, BASELINE) == (None, BASELINE)
        with engine.begin() as conn:  # a row of each kind, as the old code wrote them; then forget the version
            conn.execute(text("INSERT INTO limit_sets (name, body, saved_at) VALUES ('night', '{}', now())"))
            conn.execute(text("INSERT INTO runs (kind, status, options_json, created_at, limits_json, input_key, "
                              "plan_json, plan_status, cancel_requested) VALUES ('maintenance', 'succeeded', '{}', 1.0, "
                              ":limits, 'abc', :plan, 'optimal', false)"), {"limits": '{"a":1}', "plan": '{"status": "optimal"}'})
            conn.execute(text("DROP TABLE alembic_version"))
        assert upgrade(engine) == (PRE_MIGRATION, HEAD)
        assert _schema_diffs(engine) == [] and current(engine) == HEAD
        with engine.connect() as conn:
            run_row = conn.execute(text("SELECT plan_json, snapshot_sha256, limits_sha256, termination FROM runs")).one()
            assert conn.execute(text("SELECT body FROM limit_sets WHERE name = 'night'")).scalar() == "{}"
        import hashlib

        assert run_row == ('{"status": "optimal"}', "abc", hashlib.sha256(b'{"a":1}').hexdigest(), "optimal")
    finally:
        engine.dispose()


def test_new_databases_are_created_at_head(store_url):  # noqa: F811
    from console.ops.store import open_store

    engine = open_store(store_url)
    try:
        assert current(engine) == HEAD and _schema_diffs(engine) == []
    finally:
        engine.dispose()


def test_a_database_newer_than_the_code_is_refused_by_every_command(store_url, tmp_path):  # noqa: F811
    from console.ops.errors import SchemaMismatch
    from console.ops.store import open_store

    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    with pytest.raises(SchemaMismatch, match="newer"):
        open_store(store_url)
    db = store_url.replace("postgresql+psycopg://", "postgresql://").replace("sqlite:///", "")
    for args in (("fleet",), ("runs", "list"), ("load", FIXTURES / "toy.json", "--replace"), ("limits", "list"),
                 ("db", "upgrade"), ("db", "current"), ("schedule", "list"), ("export",), ("console",)):
        r = run(*args, "--db", db)
        assert r.exit_code == 2 and "newer" in r.output, (args, r.output)


# --------------------------------------------------------------------------- 0004: the API's tables


PREVIOUS = "0003_plan_lifecycle"


def _db_arg(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://").replace("sqlite:///", "")


@pytest.mark.parametrize("api_used", [True, False], ids=["api-tables-made-on-first-use", "no-api-tables"])
def test_a_0003_database_upgrades_to_0004_keeping_its_api_tokens_and_submissions(store_url, api_used):  # noqa: F811
    """A database at 0003, with the API tables as the API used to create them on first use (and
    rows in them), or without them: refused until `fleetctl db upgrade`, then at HEAD with the
    models' exact schema, its tokens still authenticating and its submissions still replaying."""
    from sqlmodel import SQLModel

    from console.ops.errors import SchemaMismatch
    from console.ops.store import open_store
    from console.store.db import open_engine
    from console.store.submissions import SUBMISSIONS, submitted_by
    from console.store.tokens import TOKENS, authenticate, token_hash

    engine = open_engine(store_url, create=False)
    try:
        assert upgrade(engine, PREVIOUS) == (None, PREVIOUS)
        if api_used:
            SQLModel.metadata.create_all(engine, tables=[TOKENS, SUBMISSIONS])  # what the 0003 code did
            with engine.begin() as conn:
                conn.execute(TOKENS.insert().values(name="ci", token_sha256=token_hash("fct_old-secret"),
                                                    scopes='["submit"]', created_at=1.0))
                conn.execute(SUBMISSIONS.insert().values(token_id=1, idem_key="k1", request_sha256="r", run_id=7,
                                                         created_at=2.0, owner_pid=1, owner_host="h", owner_boot="b"))
    finally:
        engine.dispose()
    with pytest.raises(SchemaMismatch, match=f"at schema revision {PREVIOUS}"):
        open_store(store_url)
    refused = run("tokens", "list", "--db", _db_arg(store_url))
    assert refused.exit_code == 2 and "fleetctl db upgrade" in refused.output, refused.output

    up = run("db", "upgrade", "--db", _db_arg(store_url))
    assert up.exit_code == 0 and f"upgraded {PREVIOUS} -> {HEAD}" in up.output, up.output
    engine = open_store(store_url)
    try:
        assert current(engine) == HEAD and _schema_diffs(engine) == []
        if api_used:
            assert authenticate(engine, "fct_old-secret").name == "ci" and submitted_by(engine, 7) == 1
        else:
            assert authenticate(engine, "fct_old-secret") is None and submitted_by(engine, 7) is None
    finally:
        engine.dispose()
    assert run("db", "upgrade", "--db", _db_arg(store_url)).exit_code == 0  # idempotent
    created = run("tokens", "create", "ops", "--scope", "read", "--db", _db_arg(store_url))
    assert created.exit_code == 0, created.output


def test_the_api_tables_are_made_by_the_schema_not_on_first_use(store_url):  # noqa: F811
    """A new database has the API tables from the start (stamped HEAD); opening the token and
    submission modules creates nothing."""
    from sqlalchemy import inspect

    from console.ops.store import open_store

    engine = open_store(store_url)
    try:
        assert {"api_tokens", "api_submissions"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    import console.store.submissions as submissions
    import console.store.tokens as tokens

    assert not hasattr(tokens, "_ready") and not hasattr(submissions, "ensure_submission_tables")
