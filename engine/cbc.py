"""PuLP and CBC for every MIP of the engine: the import-order guard and a killable CBC run.

CBC's own time limit is not a deadline (it overshot a 60 s limit by 18 s, and
125 s for 1000 VMs × 200 hosts on this machine, NOTES.md) and PuLP gives no
handle to stop it. So PuLP only writes the model (MPS, plus the warm start)
and reads the answer back; the bundled `cbc` runs as a child process we own,
in its own session, its log in a file we read for progress (incumbents, best
bound). CBC gets its own limit a little before our hard deadline; at
cancellation or at the deadline it is killed, and it dies with this process
(PR_SET_PDEATHSIG); a work folder left by a killed process is swept by the next run
(its name holds the owner's pid). Measured here: CBC 2.10.3
ignores SIGINT and writes its solution only when it exits, so a killed run
has no solution and callers fall back to their warm start. The status comes
from the solution file's `sol_status`, so a stop at the time limit with an
incumbent is `feasible`, never `optimal`.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Optional

from engine.progress import Cancellation, ProgressCallback, ProgressEvent

_INCUMBENT = re.compile(r"Integer solution of (-?[\d.e+]+) found")
_NODES = re.compile(r"(-?[\d.e+]+) best solution, best possible (-?[\d.e+]+)")
_FINAL_BOUND = re.compile(r"^Lower bound:\s+(-?[\d.e+]+)", re.M)
_CONT = re.compile(r"Continuous objective value is (-?[\d.e+]+)")
POLL_S = 0.05
TEMP_PREFIX = "fleetctl-cbc-"   # + the owner's pid + "-": a folder whose owner died is swept
_OWNED = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-")


def import_pulp():
    """PuLP, imported after OR-Tools.

    PuLP 3 imports highspy eagerly when it is installed, and OR-Tools cannot be loaded
    after highspy in one process (undefined symbol; or-tools issue 5246, NOTES.md). The
    other order works (PuLP then finds HiGHS unavailable), so the CP-SAT library is loaded
    first; a process that has built a MIP keeps CP-SAT usable.
    """
    import sys

    if "pulp" not in sys.modules and "highspy" not in sys.modules:
        try:
            from ortools.sat.python import cp_model  # noqa: F401
        except ImportError:
            pass
    import pulp

    return pulp


def new_var(prob, name: str, low=None, up=None, cat: str = "Continuous"):
    """A variable of `prob` (PuLP 3's `add_variable`; plain LpVariable on older PuLP)."""
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, low, up, cat=cat)
    pulp = import_pulp()

    return pulp.LpVariable(name, low, up, cat)


@dataclass(frozen=True)
class CbcTiming:
    """When CBC stops by itself (`stop_at`) and when it is killed (`kill_at`), on `time.monotonic()`."""

    started: float   # the caller's clock: progress events count from here
    stop_at: float   # CBC's own limit ends here: it stops and writes its incumbent
    kill_at: float   # the hard deadline: CBC is killed, its incumbent lost

    @classmethod
    def budget(cls, time_limit_s: float, started: Optional[float] = None,
               grace_s: Optional[float] = None) -> "CbcTiming":
        """A time budget: CBC's limit a little early (90 %), the kill a little late, so wall ≈ budget."""
        started = time.monotonic() if started is None else started
        grace = grace_s if grace_s is not None else max(1.5, 0.05 * time_limit_s)
        return cls(started, started + 0.9 * time_limit_s, started + time_limit_s + grace)

    @classmethod
    def until(cls, deadline: float, margin_s: float = 1.0) -> "CbcTiming":
        """A hard deadline: CBC's limit ends `margin_s` before it, so it has time to write its answer."""
        now = time.monotonic()
        return cls(now, deadline - margin_s, deadline)


@dataclass
class CbcOutcome:
    status: str                  # optimal | feasible | infeasible | unknown
    objective: Optional[float]
    bound: Optional[float]       # best proven lower bound (minimisation), when CBC printed one
    solve_s: float
    stopped_by: Optional[str]    # None, "time limit", "deadline", "cancelled"
    cpu_s: float = 0.0           # CPU seconds CBC used (fair under load, unlike wall time)

    @property
    def solved(self) -> bool:
        """CBC returned a solution (its values are in the model's variables)."""
        return self.status in ("optimal", "feasible")


def run_cbc(prob, timing: CbcTiming, *, threads: int = 1, warm_start: bool = False,
            cancel: Optional[Cancellation] = None, on_progress: Optional[ProgressCallback] = None) -> CbcOutcome:
    """Solve `prob` (minimisation) in a child CBC; values land in the model's variables as PuLP does."""
    pulp = import_pulp()
    from pulp import constants

    if cancel is not None and cancel.cancelled:  # writing the model alone can take seconds
        return CbcOutcome("unknown", None, None, time.monotonic() - timing.started, "cancelled")
    solver = pulp.COIN_CMD(msg=False, warmStart=warm_start, path=_cbc_path())
    sweep_orphan_folders()
    tmp = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-")
    _live_folders.add(tmp)
    try:
        mps, sol, mst, log = (os.path.join(tmp, n) for n in ("model.mps", "model.sol", "model.mst", "cbc.log"))
        vs, var_names, con_names, _ = prob.writeMPS(mps, rename=1)
        args = [solver.path, mps]
        if warm_start:
            solver.writesol(mst, prob, vs, var_names, con_names)
            args += ["-mips", mst]
        if cancel is not None and cancel.cancelled:
            return CbcOutcome("unknown", None, None, time.monotonic() - timing.started, "cancelled")
        own_limit = max(0.5, timing.stop_at - time.monotonic())   # after writing: a big model takes a while
        args += ["-sec", f"{own_limit:.1f}", "-timeMode", "elapsed", "-threads", str(max(1, threads)),
                 "-solve", "-printingOptions", "all", "-solution", sol]
        cpu_before = _children_cpu()
        stopped_by, returncode = _watch(args, log, timing, cancel, on_progress)
        cpu_s = _children_cpu() - cpu_before
        solve_s = time.monotonic() - timing.started
        text = _read(log)
        if stopped_by is not None or returncode != 0 or not os.path.exists(sol):
            return CbcOutcome("unknown", None, None, solve_s, stopped_by, cpu_s)
        status, values, _, _, _, sol_status = solver.readsol_MPS(sol, prob, vs, var_names, con_names)
        prob.assignVarsVals(values)
        prob.assignStatus(status, sol_status)
        outcome = _status(sol_status, constants)
        objective = pulp.value(prob.objective) if outcome in ("optimal", "feasible") else None
        bound = objective if outcome == "optimal" else _final_bound(text)
        if "Stopped on time" in text:
            stopped_by = "time limit"
        return CbcOutcome(outcome, objective, bound, solve_s, stopped_by, cpu_s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _live_folders.discard(tmp)


_live_folders: set[str] = set()


@atexit.register
def _remove_live_folders() -> None:
    """A process exiting while a solve thread still runs CBC (e.g. it gave up waiting after a
    signal) removes that run's folder; CBC itself dies with the process (PR_SET_PDEATHSIG)."""
    for folder in list(_live_folders):
        shutil.rmtree(folder, ignore_errors=True)


def _cbc_path() -> str:
    """The CBC bundled with PuLP (the deprecated PULP_CBC_CMD's binary), else `cbc` on PATH."""
    from pulp.apis import coin_api

    bundled = getattr(coin_api, "pulp_cbc_path", None)
    return bundled if bundled and os.path.exists(bundled) else "cbc"


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _status(sol_status: int, constants) -> str:
    return {constants.LpSolutionOptimal: "optimal", constants.LpSolutionIntegerFeasible: "feasible",
            constants.LpSolutionInfeasible: "infeasible"}.get(sol_status, "unknown")


def _watch(args, log_path, timing: CbcTiming, cancel, on_progress) -> tuple[Optional[str], Optional[int]]:
    """Run CBC until it exits; kill it (its whole session) at cancellation or at the deadline.

    Returns why it was stopped (None if it exited by itself) and its exit code."""
    stopped_by, last_event, seen = None, None, 0
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_die_with(os.getpid()))
    try:
        while proc.poll() is None:
            time.sleep(POLL_S)
            if on_progress is not None:
                seen, last_event = _report(log_path, seen, timing.started, on_progress, last_event)
            if cancel is not None and cancel.cancelled:
                stopped_by = "cancelled"
            elif time.monotonic() > timing.kill_at:
                stopped_by = "deadline"
            if stopped_by:
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=10)  # SIGKILL: only a process stuck in the kernel outlives this
        except subprocess.TimeoutExpired:
            pass
    return stopped_by, proc.returncode


def _die_with(parent_pid: int):
    """preexec_fn: CBC gets SIGKILL when the thread that started it dies, i.e. when this process
    dies, however it dies (its own session keeps it out of our process group's signals).

    That thread waits in `_watch` for CBC's whole life, so the thread rule of PR_SET_PDEATHSIG
    never kills a CBC that is still wanted."""
    prctl = None
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            prctl = None

    def in_child() -> None:
        if prctl is not None:
            prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(70)
    return in_child


def sweep_orphan_folders() -> list[str]:
    """Remove CBC work folders whose owner process is gone (killed before its cleanup ran).

    Returns the folders removed. A folder of a live process, or of an unknown owner, is kept."""
    removed = []
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return removed
    for name in names:
        m = _OWNED.match(name)
        if m is None or _pid_alive(int(m.group(1))):
            continue
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        removed.append(name)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purpose: its cleanup will never run
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _report(log_path, seen, started, on_progress, last_event):
    text = _read(log_path)
    if len(text) == seen:
        return seen, last_event
    new = text[seen:]
    objective = bound = None
    for m in _INCUMBENT.finditer(new):
        objective = float(m.group(1))
    for m in _NODES.finditer(new):
        objective, bound = float(m.group(1)), float(m.group(2))
    event = (objective, bound)
    if (objective is not None or bound is not None) and event != last_event:
        on_progress(ProgressEvent(elapsed_s=time.monotonic() - started, objective=objective, bound=bound))
        last_event = event
    return len(text), last_event


def _final_bound(text: str) -> Optional[float]:
    m = _FINAL_BOUND.search(text)
    if m:
        return float(m.group(1))
    nodes = _NODES.findall(text)
    if nodes:
        return float(nodes[-1][1])
    cont = _CONT.findall(text)
    return float(cont[-1]) if cont else None


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""
