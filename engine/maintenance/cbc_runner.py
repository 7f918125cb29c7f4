"""Run CBC on a PuLP model under a real deadline, with progress and cancellation.

CBC's own time limit is not a deadline (it overshot a 60 s limit by 18 s on
this machine, NOTES.md) and PuLP gives no handle to stop it. So the model is
written as MPS and the bundled `cbc` runs as a child process we own: its log
goes to a file we read for progress (incumbents, best bound). CBC gets its
time limit a little early; at cancellation or at the hard deadline it is
killed. Measured here: CBC 2.10.3 ignores SIGINT (it ran on to its own limit)
and writes its solution only when it exits, so a killed run has no solution:
callers fall back to their warm start if they had one. Status comes from the
solution file through PuLP's reader, so a stop at the time limit with an
incumbent is `feasible`, never `optimal` (`prob.sol_status`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Optional

from engine.progress import Cancellation, ProgressCallback, ProgressEvent

_INCUMBENT = re.compile(r"Integer solution of (-?[\d.e+]+) found")
_NODES = re.compile(r"(-?[\d.e+]+) best solution, best possible (-?[\d.e+]+)")
_FINAL_BOUND = re.compile(r"^Lower bound:\s+(-?[\d.e+]+)", re.M)
_CONT = re.compile(r"Continuous objective value is (-?[\d.e+]+)")


@dataclass
class CbcOutcome:
    status: str                  # optimal | feasible | infeasible | unknown
    objective: Optional[float]
    bound: Optional[float]       # best proven lower bound (minimisation), when CBC printed one
    solve_s: float
    stopped_by: Optional[str]    # None, "time limit", "deadline", "cancelled"
    cpu_s: float = 0.0           # CPU seconds CBC used (fair under load, unlike wall time)


def import_pulp():
    """PuLP, imported after OR-Tools.

    PuLP 3 imports highspy eagerly when it is installed, and OR-Tools cannot be loaded
    after highspy in one process (undefined symbol; or-tools issue 5246, NOTES.md). The
    other order works (PuLP then finds HiGHS unavailable), so the CP-SAT library is loaded
    first; processes that run MIP maintenance models then keep CP-SAT usable.
    """
    import sys

    if "pulp" not in sys.modules and "highspy" not in sys.modules:
        try:
            from ortools.sat.python import cp_model  # noqa: F401
        except ImportError:
            pass
    import pulp

    return pulp


def _cbc_path() -> str:
    """The CBC bundled with PuLP (the deprecated PULP_CBC_CMD's binary), else `cbc` on PATH."""
    from pulp.apis import coin_api

    bundled = getattr(coin_api, "pulp_cbc_path", None)
    return bundled if bundled and os.path.exists(bundled) else "cbc"


def new_var(prob, name: str, low=None, up=None, cat: str = "Continuous"):
    """A variable of `prob` (PuLP 3's `add_variable`; plain LpVariable on older PuLP)."""
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, low, up, cat=cat)
    import pulp

    return pulp.LpVariable(name, low, up, cat)


def run_cbc(prob, *, time_limit_s: float, threads: int = 1, warm_start: bool = False,
            cancel: Optional[Cancellation] = None, on_progress: Optional[ProgressCallback] = None,
            grace_s: Optional[float] = None, clock_start: Optional[float] = None) -> CbcOutcome:
    """Solve `prob` (minimisation) in a child CBC; values land in the model's variables as PuLP does."""
    pulp = import_pulp()
    from pulp import constants

    solver = pulp.COIN_CMD(msg=False, warmStart=warm_start, path=_cbc_path())
    started = clock_start if clock_start is not None else time.monotonic()
    # CBC's own limit a little early, the hard deadline a little late: wall ≈ limit, never limit + 18 s
    grace = grace_s if grace_s is not None else max(1.5, 0.05 * time_limit_s)
    tmp = tempfile.mkdtemp(prefix="fleetctl-cbc-")
    try:
        mps, sol, mst, log = (os.path.join(tmp, n) for n in ("model.mps", "model.sol", "model.mst", "cbc.log"))
        vs, var_names, con_names, _ = prob.writeMPS(mps, rename=1)
        args = [solver.path, mps]
        if warm_start:
            solver.writesol(mst, prob, vs, var_names, con_names)
            args += ["-mips", mst]
        remaining = max(0.5, 0.9 * time_limit_s - (time.monotonic() - started))
        args += ["-sec", f"{remaining:.1f}", "-timeMode", "elapsed", "-threads", str(max(1, threads)),
                 "-solve", "-printingOptions", "all", "-solution", sol]
        cpu_before = _children_cpu()
        stopped_by = _watch(args, log, started, time_limit_s, grace, cancel, on_progress)
        cpu_s = _children_cpu() - cpu_before
        text = _read(log)
        if not os.path.exists(sol):
            return CbcOutcome("unknown", None, None, time.monotonic() - started, stopped_by, cpu_s)
        status, values, _, _, _, sol_status = solver.readsol_MPS(sol, prob, vs, var_names, con_names)
        prob.assignVarsVals(values)
        prob.assignStatus(status, sol_status)
        outcome = _status(sol_status, constants)
        objective = pulp.value(prob.objective) if outcome in ("optimal", "feasible") else None
        bound = objective if outcome == "optimal" else _final_bound(text)
        if stopped_by is None and "Stopped on time" in text:
            stopped_by = "time limit"
        return CbcOutcome(outcome, objective, bound, time.monotonic() - started, stopped_by, cpu_s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _status(sol_status: int, constants) -> str:
    return {constants.LpSolutionOptimal: "optimal", constants.LpSolutionIntegerFeasible: "feasible",
            constants.LpSolutionInfeasible: "infeasible"}.get(sol_status, "unknown")


def _watch(args, log_path, started, time_limit_s, grace, cancel, on_progress) -> Optional[str]:
    """Run CBC until it exits; kill it at cancellation or at the deadline. Returns why it was stopped."""
    stopped_by, last_event, seen = None, None, 0
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        while proc.poll() is None:
            time.sleep(0.1)
            if on_progress is not None:
                seen, last_event = _report(log_path, seen, started, on_progress, last_event)
            if cancel is not None and cancel.cancelled:
                stopped_by = "cancelled"
            elif time.monotonic() - started > time_limit_s + grace:
                stopped_by = "deadline"
            if stopped_by:
                proc.kill()
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return stopped_by


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
