"""The worker's cancel path (issue 12 item 9): a child whose search has stopped gets time to validate and store
the plan it keeps instead of being killed at the plain cancel grace, and the kill path itself runs when the
worker is started as `python -m console.runner.worker` (it raised NameError there and the worker hung)."""

from __future__ import annotations

import ast
import multiprocessing
import time
from pathlib import Path

from console.runner import worker as worker_module
from console.runner.worker import CANCEL_GRACE_S, STORE_GRACE_S, Worker, _Child


class _Process:
    def __init__(self):
        self.killed = False

    def is_alive(self):
        return not self.killed

    def kill(self):
        self.killed = True


def _child(stopped: bool, cancel_age_s: float) -> _Child:
    event = multiprocessing.get_context("fork").Event()
    if stopped:
        event.set()
    now = time.monotonic()
    return _Child(1, "maintenance", _Process(), now - 100, now + 1000, cancel_seen_at=now - cancel_age_s, stopped=event)


def test_a_child_whose_search_stopped_is_given_time_to_store_its_plan(tmp_path):
    worker = Worker(str(tmp_path / "runs.db"))
    late = CANCEL_GRACE_S + 1
    worker.children = {1: _child(stopped=True, cancel_age_s=late)}
    worker._police()
    assert not worker.children[1].process.killed  # storing the plan it keeps
    worker.children = {1: _child(stopped=False, cancel_age_s=late)}
    worker._police()
    assert worker.children[1].process.killed and worker.children[1].killed_reason[0] == "cancelled"
    worker.children = {1: _child(stopped=True, cancel_age_s=CANCEL_GRACE_S + STORE_GRACE_S + 1)}
    worker._police()
    assert worker.children[1].process.killed  # the longer grace is still a deadline


def test_the_main_guard_comes_last_so_every_helper_exists_when_the_worker_runs_as_a_module():
    tree = ast.parse(Path(worker_module.__file__).read_text())
    last = tree.body[-1]
    assert isinstance(last, ast.If) and "__main__" in ast.unparse(last.test)
    assert not any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) for node in tree.body[:-1])
