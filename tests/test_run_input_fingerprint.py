"""A run's snapshot is stored in canonical form, keyed by its fingerprint (engine.fingerprint.sha256_of), so the
runner stamps that hash on the run's plan without hashing the whole fleet again."""

from __future__ import annotations

import hashlib
import json

import pytest

import engine.fingerprint as fingerprint
from console.runner.dispatch import RunInputs, solve_maintenance_run
from console.store.fleet_store import save_snapshot
from console.store.runs import enqueue_run, get_run, run_input, runs_engine
from engine.documents import parse_snapshot
from engine.model import Snapshot
from engine.progress import Cancellation
from tests.pg_support import store_url  # noqa: F401  (fixture: SQLite, then a throwaway PostgreSQL database)
from tests.runs_support import toy_limits, toy_snapshot


@pytest.fixture
def engine(store_url):  # noqa: F811
    e = runs_engine(store_url)
    yield e
    e.dispose()


def _hashes(engine, run_id):
    view = get_run(engine, run_id)
    _, body = run_input(engine, view.input_key)
    return view.provenance["snapshot_sha256"], hashlib.sha256(body.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("how", ["dict", "model", "stored version"])
def test_the_run_row_holds_the_snapshot_fingerprint_and_the_body_has_that_hash(engine, how):
    doc = toy_snapshot()
    want = fingerprint.sha256_of(parse_snapshot(doc))
    assert hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest() != want, \
        "the fixture should leave defaults out, so that the raw dict's hash is not the fingerprint"
    if how == "stored version":
        save_snapshot(engine, parse_snapshot(doc))
        run_id = enqueue_run(engine, "maintenance", limits=toy_limits())
    else:
        run_id = enqueue_run(engine, "maintenance", snapshot=doc if how == "dict" else parse_snapshot(doc),
                             limits=toy_limits())
    assert _hashes(engine, run_id) == (want, want)


def test_a_dict_that_is_not_a_snapshot_is_refused_when_queued(engine):
    from engine.documents import DocumentError

    with pytest.raises(DocumentError):
        enqueue_run(engine, "maintenance", snapshot={"name": "x", "hosts": "none"})


def test_the_runner_stamps_the_stored_hash_without_hashing_the_fleet(engine, monkeypatch):
    run_id = enqueue_run(engine, "maintenance", snapshot=toy_snapshot(), limits=toy_limits(),
                         options={"solver": "heuristic"})
    view = get_run(engine, run_id)
    media, body = run_input(engine, view.input_key)
    inputs = RunInputs.of(view, media, body)
    hashed = []
    real = fingerprint.sha256_of
    monkeypatch.setattr(fingerprint, "sha256_of", lambda doc: hashed.append(type(doc)) or real(doc))
    plan = solve_maintenance_run(inputs, lambda _event: None, Cancellation())
    assert plan["inputs"]["snapshot_sha256"] == real(parse_snapshot(toy_snapshot()))
    assert Snapshot not in hashed
