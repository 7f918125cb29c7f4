"""The whole store on SQLite and PostgreSQL (store_url: one SQLite file, one throwaway PostgreSQL
database): fleet versions, limit sets, runs, progress, schedules, workers, and the races —
claims by several processes, schedules fired by several processes, concurrent loads and
concurrent creation of a new database."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from console.ops import errors
from console.ops.limits import delete_limit_set, get_limit_set, limits_sha256, list_limit_sets, save_limit_set
from console.ops.runs import RunRequest, cancel_run, get_run, list_runs, run_events, run_plan, submit_run
from console.ops.snapshots import current_snapshot, get_snapshot, list_snapshots, load_snapshot, snapshot_document
from console.ops.store import open_store
from engine.fingerprint import sha256_of
from engine.model import Limits, Snapshot
from tests.pg_support import pg_url, store_url  # noqa: F401  (fixtures)
from tests.runs_support import demo_snapshot, toy_limits, toy_snapshot

FORK = multiprocessing.get_context("fork")


@pytest.fixture
def engine(store_url):  # noqa: F811
    e = open_store(store_url)
    yield e
    e.dispose()


def toy() -> Snapshot:
    return Snapshot.model_validate(toy_snapshot())


def test_snapshots_are_versions_with_a_content_hash_and_a_current_pointer(engine):
    assert current_snapshot(engine) is None
    a = load_snapshot(engine, toy(), source="toy.json")
    assert a.sha256 == sha256_of(toy()) and a.current and a.counts["vms"] == len(toy().vms)
    with pytest.raises(errors.Conflict, match="already holds"):
        load_snapshot(engine, Snapshot.model_validate(demo_snapshot()))
    demo = Snapshot.model_validate(demo_snapshot())
    b = load_snapshot(engine, demo, replace=True)
    assert b.id > a.id and current_snapshot(engine).id == b.id and not get_snapshot(engine, a.id).current
    # the old version is immutable and still readable, by id and hash
    assert snapshot_document(engine, a.id).model_dump() == toy().model_dump()
    assert snapshot_document(engine).model_dump(mode="json") == demo.model_dump(mode="json")
    assert [s.id for s in list_snapshots(engine)] == [b.id, a.id]
    with pytest.raises(errors.Conflict, match="changed"):
        load_snapshot(engine, toy(), replace=True, expect_current=a.id)
    with pytest.raises(errors.NotFound):
        get_snapshot(engine, 999)


def test_limit_sets_round_trip_with_hash(engine):
    limits = Limits.model_validate(toy_limits())
    ref = save_limit_set(engine, "night", limits)
    assert not ref.replaced and ref.sha256 == limits_sha256(limits)
    assert save_limit_set(engine, "night", limits).replaced
    assert get_limit_set(engine, "night") == limits and [s.name for s in list_limit_sets(engine)] == ["night"]
    delete_limit_set(engine, "night")
    with pytest.raises(errors.NotFound) as exc:
        get_limit_set(engine, "night")
    assert exc.value.problems[0].record == "limit set 'night'"


def test_runs_reference_the_snapshot_version_and_limits_hash(engine):
    ref = load_snapshot(engine, toy())
    limits = Limits.model_validate(toy_limits())
    view = submit_run(engine, RunRequest("maintenance", limits=limits, options={"solver": "heuristic"}), spawn_worker=False)
    assert view.status == "queued" and view.input_key == ref.sha256
    from console.store.runs import RUNS, read

    row = read(engine, lambda c: c.execute(RUNS.select().where(RUNS.c.id == view.id)).first())
    assert row.snapshot_id == ref.id and row.snapshot_sha256 == ref.sha256 and row.limits_sha256 == limits_sha256(limits)
    inline = submit_run(engine, RunRequest("placement", snapshot=demo_snapshot()), spawn_worker=False)
    assert inline.input_key == sha256_of(Snapshot.model_validate(demo_snapshot()))
    assert [r.id for r in list_runs(engine)] == [inline.id, view.id]
    assert [r.id for r in list_runs(engine, before_id=inline.id)] == [view.id]
    with pytest.raises(errors.InvalidInput) as bad:
        submit_run(engine, RunRequest("maintenance", options={"solver": "nope", "max_moves": 1}), spawn_worker=False)
    assert len(bad.value.problems) == 2
    with pytest.raises(errors.NotFound):
        submit_run(engine, RunRequest("maintenance", snapshot_id=999), spawn_worker=False)
    with pytest.raises(errors.NotFound, match="no plan yet"):
        run_plan(engine, view.id)
    assert cancel_run(engine, view.id).status == "cancelled"
    with pytest.raises(errors.NotFound):
        get_run(engine, 12345)


def test_idempotency_key_returns_the_same_run(engine):
    load_snapshot(engine, toy())
    a = submit_run(engine, RunRequest("maintenance", idempotency_key="k1"), spawn_worker=False)
    b = submit_run(engine, RunRequest("maintenance", idempotency_key="k1"), spawn_worker=False)
    c = submit_run(engine, RunRequest("maintenance", idempotency_key="k2"), spawn_worker=False)
    assert a.id == b.id != c.id


def test_progress_pump_and_finish_record_plan_and_provenance(engine):
    import os

    from console.store.runs import claim_next_run, finish_run, pump
    from engine.progress import ProgressEvent

    load_snapshot(engine, toy())
    run = submit_run(engine, RunRequest("maintenance"), spawn_worker=False)
    assert claim_next_run(engine, os.getpid()) == run.id
    assert claim_next_run(engine, os.getpid()) is None
    assert pump(engine, run.id, [ProgressEvent(elapsed_s=0.5, objective=10.0, bound=5.0, message="x")]) is False
    events = run_events(engine, run.id)
    assert [(e.objective, e.bound) for e in events] == [(10.0, 5.0)]
    plan = {"version": 1, "kind": "maintenance", "status": "optimal", "makespan": 7, "lower_bound": 7,
            "migrations": [], "reboots": [], "solver": {"name": "greedy", "wall_s": 0.1}}
    assert finish_run(engine, run.id, "succeeded", plan=plan, expect_pid=os.getpid())
    from engine.fingerprint import plan_sha256

    view = get_run(engine, run.id)
    assert view.status == "succeeded" and run_plan(engine, run.id)["makespan"] == 7
    prov = view.provenance
    assert prov["plan_sha256"] == plan_sha256(plan) and prov["solver_name"] == "greedy"
    assert prov["termination"] == "optimal" and prov["versions"]["python"] and "ortools" in prov["versions"]


# --------------------------------------------------------------------------- claims by several processes


def _claimer(url: str, pid: int, start, out) -> None:
    from console.store.runs import claim_next_run, count_runs, runs_engine

    engine = runs_engine(url)
    claimed, empty_while_queued = [], 0
    start.wait(30)
    while True:
        run_id = claim_next_run(engine, pid)
        if run_id is not None:
            claimed.append(run_id)
            continue
        time.sleep(0.2)  # let claims in flight commit, then there must be nothing left
        if count_runs(engine, ("queued",)) == 0:
            break
        empty_while_queued += 1
    engine.dispose()
    out.put((claimed, empty_while_queued))


@pytest.mark.parametrize("processes,runs", [(4, 120)])
def test_concurrent_claims_are_distinct_and_none_is_missed(store_url, processes, runs):  # noqa: F811
    from console.store.runs import enqueue_run, runs_engine

    engine = runs_engine(store_url)
    for _ in range(runs):
        enqueue_run(engine, "maintenance", snapshot=toy_snapshot())
    engine.dispose()
    start, out = FORK.Event(), FORK.Queue()
    procs = [FORK.Process(target=_claimer, args=(store_url, 1000 + i, start, out)) for i in range(processes)]
    for p in procs:
        p.start()
    t0 = time.perf_counter()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join(10)
    claimed = [r for c, _ in results for r in c]
    assert len(claimed) == runs and len(set(claimed)) == runs  # all distinct, none missed
    assert sum(e for _, e in results) == 0  # no None while a run was still queued
    print(f"\n{store_url.split(':')[0]}: {runs} claims by {processes} processes in {elapsed:.2f} s "
          f"({runs / elapsed:.0f} claims/s incl. a 0.2 s settle)")


# --------------------------------------------------------------------------- schedules fired by several processes


def _firer(url: str, now: float, start, out) -> None:
    from console.store.runs import runs_engine
    from console.store.schedules import fire_due_schedules

    engine = runs_engine(url)
    start.wait(30)
    fired = []
    for step in range(3):  # three slots: now, now + 60, now + 120
        fired += fire_due_schedules(engine, now=now + 60 * step)
    engine.dispose()
    out.put(fired)


def test_a_schedule_fires_once_per_slot_however_many_workers(store_url):  # noqa: F811
    from console.store.runs import list_runs as runs, runs_engine
    from console.store.schedules import add_schedule

    engine = runs_engine(store_url)
    load_snapshot(engine, toy())
    now = time.time()
    sid = add_schedule(engine, "maintenance", 60, start_at=now)
    engine.dispose()
    start, out = FORK.Event(), FORK.Queue()
    procs = [FORK.Process(target=_firer, args=(store_url, now, start, out)) for _ in range(6)]
    for p in procs:
        p.start()
    start.set()
    fired = [r for _ in procs for r in out.get(timeout=120)]
    for p in procs:
        p.join(10)
    engine = runs_engine(store_url)
    scheduled = [r for r in runs(engine) if r.schedule_id == sid]
    assert len(scheduled) == 3 and sorted(fired) == sorted(r.id for r in scheduled)
    assert all(r.status == "queued" for r in scheduled)
    engine.dispose()


# --------------------------------------------------------------------------- concurrent loads, concurrent creation


def _loader(url: str, start, out) -> None:
    from console.ops.errors import Conflict

    start.wait(30)
    try:
        engine = open_store(url)
        load_snapshot(engine, toy())
        out.put("ok")
    except Conflict as exc:
        out.put("conflict" if "already holds" in str(exc) else f"conflict? {exc}")
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out.put(f"{type(exc).__name__}: {exc}")


def _fresh_url(store_url: str, i: int) -> tuple[str, object]:  # noqa: F811
    """A new, empty database per round: another SQLite file, or another PostgreSQL database."""
    if store_url.startswith("sqlite"):
        return store_url.replace("store.db", f"round{i}.db"), None
    from tests.pg_support import create_database, require_server

    url = create_database(require_server())
    return url, url


def test_two_loads_into_an_empty_database_exactly_one_wins_20_rounds(store_url):  # noqa: F811
    from tests.pg_support import drop_database

    for i in range(20):
        url, to_drop = _fresh_url(store_url, i)
        try:
            start, out = FORK.Event(), FORK.Queue()
            procs = [FORK.Process(target=_loader, args=(url, start, out)) for _ in range(2)]
            for p in procs:
                p.start()
            start.set()
            results = sorted(out.get(timeout=60) for _ in procs)
            for p in procs:
                p.join(10)
            # the database did not exist before the round: creation raced too ("table … already exists" never)
            assert results == ["conflict", "ok"], f"round {i}: {results}"
            engine = open_store(url)
            assert len(list_snapshots(engine)) == 1
            engine.dispose()
        finally:
            if to_drop:
                drop_database(to_drop)


def _open_or_watch(url: str, create: bool) -> None:
    """A creating command (open_store), or a read-only one that opens the database the way the CLI
    does (no create, schema checked) again and again until it sees the schema, with a deadline."""
    from console.store.db import open_engine
    from console.store.migrate import current
    from console.store.schema import HEAD, check_schema

    if create:
        open_store(url).dispose()
        return
    engine = open_engine(url, create=False)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            check_schema(engine)  # caches only a HEAD verdict: each pass checks again until then
            if current(engine) == HEAD:
                return
    finally:
        engine.dispose()
    raise TimeoutError("the new database never reached HEAD")


def _opener(urls: list[str], create: bool, delay_s: float, barrier, out) -> None:
    """Open each new database in turn, every process starting a round together (then `delay_s` later)."""
    for i, url in enumerate(urls):
        try:
            barrier.wait(60)
        except Exception:  # noqa: BLE001 - a broken barrier: the test reports the missing results
            return
        time.sleep(delay_s)
        try:
            _open_or_watch(url, create)
            out.put((i, "ok"))
        except Exception as exc:  # noqa: BLE001
            out.put((i, f"{type(exc).__name__}: {exc}"))


CREATORS, WATCHERS = 4, 6
CREATION_ROUNDS = {"sqlite": 10, "postgresql": 6}


def test_commands_creating_a_new_database_at_once_never_fail(store_url):  # noqa: F811
    """Per round, four processes create one new database at once (their starts a few ms apart),
    while six read-only commands keep opening it until they see it created: some check always
    runs while the creation commits. Every command must succeed: a new database never looks
    "made by an older fleetctl" (as it did when the check read the version and the tables in
    two statements), and creating it twice never fails."""
    from tests.pg_support import drop_database

    backend = "sqlite" if store_url.startswith("sqlite") else "postgresql"
    open_store(store_url).dispose()  # the lazy imports, paid once here rather than in every child
    fresh = [_fresh_url(store_url, 100 + i) for i in range(CREATION_ROUNDS[backend])]
    urls = [url for url, _ in fresh]
    try:
        barrier, out = FORK.Barrier(CREATORS + WATCHERS), FORK.Queue()
        procs = [FORK.Process(target=_opener, args=(urls, j < CREATORS, 0.005 * j, barrier, out))
                 for j in range(CREATORS + WATCHERS)]
        for p in procs:
            p.start()
        results = [out.get(timeout=120) for _ in range(len(urls) * len(procs))]
        for p in procs:
            p.join(10)
        failed = sorted({f"round {i}: {r}" for i, r in results if r != "ok"})
        assert failed == [], f"{len(failed)} failure(s) in {len(urls)} rounds, e.g. {failed[:3]}"
    finally:
        for _, to_drop in fresh:
            if to_drop:
                drop_database(to_drop)


def test_a_schema_committed_between_the_checks_statements_is_seen_whole(store_url):  # noqa: F811
    """Deterministic form of the race above: another connection creates the schema just before
    the k-th statement of the opening check, for every k. The check must see either an empty
    database (and create it) or the created one, never "tables without a version"."""
    from sqlalchemy import event

    from console.store.db import open_engine
    from console.store.migrate import current
    from console.store.schema import HEAD, ensure_schema
    from console.store.tx import write
    from tests.pg_support import drop_database

    interleaved = 0
    for k in range(6):
        url, to_drop = _fresh_url(store_url, 300 + k)
        checker, creator = open_engine(url, create=False), open_engine(url, create=False)
        seen = {"statements": 0, "created": False, "locked": False}

        def before(_conn, _cursor, statement, *_args, seen=seen):
            # Once the checker takes the schema lock itself, a creator would wait for it forever.
            seen["locked"] |= statement.startswith("BEGIN IMMEDIATE") or "pg_advisory_xact_lock" in statement
            if seen["statements"] == k and not seen["created"] and not seen["locked"]:
                seen["created"] = True
                ensure_schema(creator)
            seen["statements"] += 1

        event.listen(checker, "before_cursor_execute", before)
        try:
            ensure_schema(checker)  # raised SchemaOutdated ("older fleetctl") when k fell between the two reads
            interleaved += seen["created"]
            assert current(checker) == HEAD and current(creator) == HEAD
            assert write(checker, lambda c: 1) == 1
        finally:
            checker.dispose()
            creator.dispose()
            if to_drop:
                drop_database(to_drop)
    assert interleaved >= 1  # the creation did land inside the check (before its reads)


# --------------------------------------------------------------------------- a worker end to end


def test_a_worker_executes_a_run_and_records_its_provenance(store_url, tmp_path):  # noqa: F811
    import os
    import subprocess
    import sys

    from engine.fingerprint import plan_sha256
    from tests.runs_support import ROOT, wait_until

    engine = open_store(store_url)
    load_snapshot(engine, toy())
    run = submit_run(engine, RunRequest("maintenance", limits=Limits.model_validate(toy_limits()),
                                        options={"solver": "heuristic", "time_limit_s": 5}), spawn_worker=False)
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "console.runner.worker", "--idle-exit", "60"], cwd=ROOT,
                              env={**os.environ, "FLEETCTL_DB": store_url}, stdout=log, stderr=log)
    log.close()
    try:
        view = wait_until(lambda: (v := get_run(engine, run.id)).terminal and v, timeout=120, what="the run to end")
    finally:
        worker.terminate()
        worker.wait(30)
    assert view.status == "succeeded", (tmp_path / "worker.log").read_text()
    prov = view.provenance
    assert prov["snapshot_sha256"] == sha256_of(toy()) and prov["limits_sha256"] == limits_sha256(toy_limits())
    assert prov["solver_name"] == view.plan["solver"]["name"] and prov["plan_sha256"] == plan_sha256(view.plan)
    assert prov["solver_params"] == {"solver": "heuristic", "time_limit_s": 5} and prov["seed"] == 0
    assert prov["worker_host"] and prov["termination"] in ("optimal", "feasible")
    assert set(prov["versions"]) == {"fleetctl", "ortools", "pulp", "highspy", "python"}
    assert view.plan["inputs"] == {"snapshot_id": current_snapshot(engine).id, "snapshot_sha256": sha256_of(toy()),
                                   "limits_sha256": limits_sha256(toy_limits())}
    from engine.documents import load_plan  # the stored plan, inputs included, is still a valid FORMATS.md plan

    plan_file = tmp_path / "plan.json"
    plan_file.write_text(__import__("json").dumps(view.plan))
    assert load_plan(plan_file).inputs.snapshot_sha256 == sha256_of(toy())
    engine.dispose()


def test_two_fleetctl_load_processes_into_an_empty_database_one_exits_2(store_url, tmp_path):  # noqa: F811
    """The same race through the real CLI (3 rounds: each process pays the CLI's start-up)."""
    import os
    import subprocess
    import sys

    from tests.pg_support import drop_database
    from tests.runs_support import FIXTURES, ROOT

    for i in range(3):
        url, to_drop = _fresh_url(store_url, 200 + i)
        db = url.replace("postgresql+psycopg://", "postgresql://").replace("sqlite:///", "")
        try:
            cmd = [sys.executable, "-c", "from console.cli.main import main; main()", "load", str(FIXTURES / "toy.json")]
            procs = [subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "FLEETCTL_DB": db}, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(2)]
            results = sorted((p.wait(120), p.stderr.read()) for p in procs)
            for p in procs:
                p.stdout.close()
                p.stderr.close()
            assert [code for code, _ in results] == [0, 2], results
            assert "already holds" in results[1][1] and "Traceback" not in results[1][1]
        finally:
            if to_drop:
                drop_database(to_drop)


def test_runbook_export_goes_through_the_one_runbook_writer(engine):
    """ops.run_runbook_csv hands the plan and its fleet version to console.runbook (the console
    helper's single writer); only maintenance runs have a runbook."""
    import importlib.util
    import os

    from console.store.runs import claim_next_run, finish_run

    load_snapshot(engine, toy())
    run = submit_run(engine, RunRequest("maintenance"), spawn_worker=False)
    other = submit_run(engine, RunRequest("placement"), spawn_worker=False)
    claim_next_run(engine, os.getpid())
    plan = {"version": 1, "kind": "maintenance", "status": "optimal", "makespan": 20, "lower_bound": 20,
            "migrations": [{"vm": "vm1", "source": "h1", "target": "h2", "start": 0, "end": 10}],
            "reboots": [{"host": "h1", "start": 10, "end": 20}], "solver": {"name": "heuristic", "wall_s": 0.1}}
    finish_run(engine, run.id, "succeeded", plan=plan)
    with pytest.raises(errors.Conflict, match="only maintenance"):
        from console.ops.runs import run_runbook_csv

        run_runbook_csv(engine, other.id)
    if importlib.util.find_spec("console.runbook") is None:
        with pytest.raises(errors.Conflict, match="console.runbook"):
            run_runbook_csv(engine, run.id)
    else:
        text = run_runbook_csv(engine, run.id)
        assert text.splitlines()[0].startswith("step,") and "vm1" in text and "reboot" in text
