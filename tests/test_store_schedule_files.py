"""A capacity schedule re-reads its problem file at each firing through the bounded reader: a
FIFO, a device or an over-limit file fails that firing at once with a message naming the file
and the reason (recorded as a failed run), never hangs the worker or reads without end."""

from __future__ import annotations

import os
import threading
import time

import pytest

from console.store.runs import runs_engine
from console.store.schedules import add_schedule, fire_due_schedules

MALLOOVIA = "Problems:\n  p1: {}\n"


def _fire(engine) -> list[int]:
    """fire_due_schedules with a deadline: a reader blocked on a FIFO must fail the test, not hang it."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(fire_due_schedules(engine, now=time.time() + 1)), daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "firing the schedule hung reading its problem file"
    assert out, "firing the schedule raised (see the thread's traceback above)"
    return out[0]


def _error_of(engine, run_id: int) -> str:
    from console.store.runs import RUNS, read

    row = read(engine, lambda c: c.execute(RUNS.select().where(RUNS.c.id == run_id)).one())
    assert row.status == "failed"
    return row.error


@pytest.fixture
def engine(tmp_path):
    e = runs_engine(tmp_path / "store.db")
    yield e
    e.dispose()


def test_a_fifo_problem_file_fails_the_firing_at_once(engine, tmp_path):
    fifo = tmp_path / "problem.yaml"
    os.mkfifo(fifo)
    add_schedule(engine, "capacity", 3600, options={"problem_file": str(fifo)})
    [run_id] = _fire(engine)
    error = _error_of(engine, run_id)
    assert str(fifo) in error and "not a regular file" in error


def test_an_over_limit_problem_file_fails_the_firing_naming_the_limit(engine, tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_text(MALLOOVIA + "#" * 5000)
    monkeypatch.setenv("FLEETCTL_MAX_INPUT_BYTES", "1000")
    add_schedule(engine, "capacity", 3600, options={"problem_file": str(big)})
    [run_id] = _fire(engine)
    error = _error_of(engine, run_id)
    assert str(big) in error and "over the input limit of 1,000 bytes" in error


def test_a_binary_problem_file_fails_the_firing_saying_it_is_not_utf8(engine, tmp_path):
    binary = tmp_path / "p.yaml"
    binary.write_bytes(b"Problems:\n\xff\xfe")
    add_schedule(engine, "capacity", 3600, options={"problem_file": str(binary)})
    [run_id] = _fire(engine)
    assert "not UTF-8 text" in _error_of(engine, run_id)


def test_a_regular_problem_file_is_queued_with_its_exact_text(engine, tmp_path):
    good = tmp_path / "p.yaml"
    good.write_bytes(("\ufeff" + MALLOOVIA).encode("utf-8"))  # a BOM is kept: the stored text is the file's
    add_schedule(engine, "capacity", 3600, options={"problem_file": str(good)})
    [run_id] = _fire(engine)
    from console.store.runs import RUNS, read

    row = read(engine, lambda c: c.execute(RUNS.select().where(RUNS.c.id == run_id)).one())
    assert row.status == "queued", row.error
