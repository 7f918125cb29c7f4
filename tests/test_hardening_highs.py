"""The HiGHS worker's channel survives a noisy library, and every wait on it ends (issue 11, item 2).

highspy 1.16 prints a banner to fd 1 when `Highs()` is built; the worker used to answer on
stdout, so the parent read the banner as a length header and waited forever. These tests run
real worker processes with a fake `highspy` package in front of the real one that writes to
fd 1 at C level (libc `write`), through `os.write` and `print`, at import and in `Highs()`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from engine.capacity import highs_runner
from engine.capacity.linear import LinearModel

NOISE = 200_000  # bytes per burst: more than a pipe holds, so nobody can be waiting to drain fd 1

FAKE_INIT = '''
import ctypes, os, sys, time
_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEHAVIOUR = open(os.path.join(_here, "behaviour")).read().strip()


def _noise(tag):
    junk = (tag + " " + "x" * 99 + "\\n").encode() * ({noise} // 100)
    ctypes.CDLL(None).write(1, junk, len(junk))  # C level, as a native library's banner
    os.write(1, junk)
    print(tag, "via print", flush=True)


_noise("import")
sys.path.remove(_here)
del sys.modules["highspy"]
import highspy as _real  # the installed one
_Real = _real.Highs


class Highs(_Real):
    def __init__(self):
        _noise("Highs()")
        if BEHAVIOUR == "die":
            os._exit(3)
        if BEHAVIOUR == "hang":
            time.sleep(3600)
        super().__init__()


_real.Highs = Highs
sys.modules["highspy"] = _real
'''.format(noise=NOISE)

LAUNCHER = '''
import os, runpy, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake"))
sys.argv[0] = {worker!r}
runpy.run_path({worker!r}, run_name="__main__")
'''


@pytest.fixture
def noisy_worker(tmp_path, monkeypatch):
    """Point the runner at a launcher that puts the noisy fake highspy first; returns a setter
    for its behaviour ("ok", "die", "hang")."""
    (tmp_path / "fake" / "highspy").mkdir(parents=True)
    (tmp_path / "fake" / "highspy" / "__init__.py").write_text(FAKE_INIT)
    launcher = tmp_path / "launcher.py"
    launcher.write_text(LAUNCHER.format(worker=str(highs_runner.WORKER)))
    behaviour = tmp_path / "fake" / "behaviour"
    behaviour.write_text("ok")
    highs_runner.shutdown_workers()  # no pooled worker of the real kind
    monkeypatch.setattr(highs_runner, "WORKER", launcher)
    yield lambda text: behaviour.write_text(text)
    highs_runner.shutdown_workers()  # none of the fake kind left for other tests


def small_mip() -> LinearModel:
    """min 3x + 2y  s.t.  x + y ≥ 4,  x ≥ 1, integers: x = 1, y = 3, cost 9."""
    m = LinearModel.with_columns(2, integer=True)
    m.cost[:] = [3.0, 2.0]
    m.lower[0] = 1.0
    m.add_rows(np.array([0, 0]), np.array([0, 1]), np.array([1.0, 1.0]), np.array([4.0]), np.array([np.inf]))
    return m


def test_a_library_printing_to_fd1_does_not_corrupt_the_answer(noisy_worker):
    results = highs_runner.solve_models([small_mip(), small_mip()], time_limit=30)
    assert [r["status"] for r in results] == ["optimal", "optimal"]
    assert results[0]["objective"] == pytest.approx(9.0)
    assert list(np.round(results[0]["x"])) == [1.0, 3.0]
    # The same (pooled) worker answers a second job: its channel is still in step.
    again = highs_runner.solve_models([small_mip()])
    assert again[0]["objective"] == pytest.approx(9.0)


def test_the_real_highspy_banner_is_harmless():
    highs_runner.shutdown_workers()
    result = highs_runner.solve_models([small_mip()], time_limit=30)[0]
    assert result["status"] == "optimal" and result["objective"] == pytest.approx(9.0)


def test_a_worker_that_dies_is_a_solver_failure_not_a_hang(noisy_worker):
    noisy_worker("die")
    t0 = time.monotonic()
    with pytest.raises(highs_runner.SolverFailure, match="exited"):
        highs_runner.solve_models([small_mip()])  # no time limit: the liveness check ends the wait
    assert time.monotonic() - t0 < 30


def test_a_hung_worker_is_killed_at_its_deadline(noisy_worker, monkeypatch):
    noisy_worker("hang")
    monkeypatch.setattr(highs_runner, "GRACE_S", 0.5)
    t0 = time.monotonic()
    results = highs_runner.solve_models([small_mip()], time_limit=1.0)
    assert [r["status"] for r in results] == ["unknown"]
    assert time.monotonic() - t0 < 15
    assert not _children_running("launcher.py")


def test_a_solve_without_time_limit_still_has_a_deadline(noisy_worker, monkeypatch):
    noisy_worker("hang")
    monkeypatch.setattr(highs_runner, "NO_LIMIT_DEADLINE_S", 2.0)
    t0 = time.monotonic()
    results = highs_runner.solve_models([small_mip()], time_limit=None)
    assert [r["status"] for r in results] == ["unknown"]
    assert time.monotonic() - t0 < 15
    assert not _children_running("launcher.py")


def test_the_worker_dies_with_its_parent(noisy_worker, tmp_path):
    """A parent killed with SIGKILL (no cleanup at all) leaves no HiGHS worker running."""
    noisy_worker("hang")
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from engine.capacity import highs_runner
        highs_runner.WORKER = __import__("pathlib").Path({str(highs_runner.WORKER)!r})
        highs_runner.solve_models([__import__("tests.test_hardening_highs", fromlist=["x"]).small_mip()])
    """)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while not workers and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = _children_of(parent.pid)
        assert workers, "the parent never started a worker"
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers), "a HiGHS worker outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)


def _children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _children_running(marker: str) -> bool:
    return any(_alive(pid) and marker in _cmdline(pid) for pid in _children_of(os.getpid()))


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
