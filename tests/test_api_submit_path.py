"""POST /v1/runs costs the store as little as it can (its p99 on PostgreSQL was 190 ms under load):
three short transactions, of which only the run's insert waits for a durable (flushed) commit
on PostgreSQL, and no read-back of the run the answer does not need. Both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.pg_support import pg_url, store_url  # noqa: F401  (fixtures)
from tests.service_support import auth, make_token, toy_snapshot

TINY = {"kind": "maintenance", "options": {"time_limit_s": 10, "workers": 1}}


@pytest.fixture
def client(store_url):  # noqa: F811
    from fastapi.testclient import TestClient

    from console.api.app import create_app
    from console.api.settings import ServiceSettings

    token = make_token(store_url, "ci", "admin")
    app = create_app(ServiceSettings(db=store_url, queue_quota=1000))
    with TestClient(app, headers=auth(token)) as c:
        c.post("/v1/snapshots", json=toy_snapshot()).raise_for_status()
        c.post("/v1/runs", json=TINY).raise_for_status()  # the token is cached, statements compiled
        yield c, app.state.engine


def _watch(engine) -> dict:
    seen = {"statements": [], "commits": 0}
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, st, *_a: seen["statements"].append(st))
    event.listen(engine, "commit", lambda _c: seen.__setitem__("commits", seen["commits"] + 1))
    return seen


def test_a_post_is_three_transactions_with_one_flushed_commit(client):
    c, engine = client
    seen = _watch(engine)
    r = c.post("/v1/runs", json=TINY)
    assert r.status_code == 202, r.text
    assert seen["commits"] == 3  # reservation, the run, the reservation's run id
    unflushed = [s for s in seen["statements"] if "synchronous_commit" in s]
    assert len(unflushed) == (2 if engine.dialect.name == "postgresql" else 0)
    runs_reads = [s for s in seen["statements"] if s.lstrip().upper().startswith("SELECT") and "run_progress" in s]
    assert runs_reads == []  # the run is not read back (its view's progress queries)
    data = [s for s in seen["statements"] if not s.startswith(("BEGIN", "SET LOCAL"))]
    assert len(data) <= 7, data  # token lock, quota, reservation, key check, snapshot, run, run id (was 12)


def test_posts_stay_exactly_once_per_key_and_within_the_quota(client):
    """The unflushed commits change durability only: replays, quota and run ids are as before."""
    c, engine = client
    first = c.post("/v1/runs", json=TINY, headers={"Idempotency-Key": "k1"})
    again = c.post("/v1/runs", json=TINY, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
    from console.store.submissions import submitted_by

    assert submitted_by(engine, first.json()["id"]) is not None
    listed = c.get("/v1/runs").json()
    ids = [r["id"] for r in (listed["items"] if isinstance(listed, dict) else listed)]
    assert first.json()["id"] in ids
