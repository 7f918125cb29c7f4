"""Solver process: reads pickled `LinearModel.rowwise()` jobs from one pipe, solves each
with HiGHS, writes pickled results to another (both passed as file descriptors).

Runs as a script in its own process because highspy and ortools cannot share one
(NOTES.md). It imports only numpy and highspy. stdout is never the channel: fd 1 is
pointed at /dev/null before anything is imported (highspy 1.16 prints a banner there,
NOTES.md). HiGHS logging is off and no log file is written. Every model shares one
deadline: models not reached in time come back with status "unknown".

    python -I highs_worker.py JOB_FD REPLY_FD PARENT_PID
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before any import that might print
    _null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(_null, 1)
    os.close(_null)

import pickle  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

WATCH_S = 0.5  # how often the worker checks that its parent is alive


def _status(h, highspy) -> tuple[str, bool]:
    """(fleetctl status, has a primal solution)."""
    ms = h.getModelStatus()
    S = highspy.HighsModelStatus
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if ms == S.kOptimal:
        return "optimal", True
    if ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
        # Costs are ≥ 0 and variables ≥ 0, so "unbounded or infeasible" is infeasible.
        return "infeasible", False
    if ms == S.kUnbounded:
        return "unbounded", has_solution
    return ("feasible" if has_solution else "unknown"), has_solution


def _solve(m: dict, time_left: float, mip_rel_gap: float, threads: int, highspy) -> dict:
    t0 = time.perf_counter()
    inf = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    if np.isfinite(time_left):
        h.setOptionValue("time_limit", max(time_left, 0.01))
    h.setOptionValue("mip_rel_gap", mip_rel_gap)
    h.setOptionValue("mip_abs_gap", 1e-7)
    if threads:
        h.setOptionValue("threads", threads)

    def build(cost, maximize, extra_row=None):
        return _to_lp(m, cost, maximize, highspy, extra_row)

    h.passModel(build(m["cost"], m["maximize"]))
    h.run()
    status, has = _status(h, highspy)
    result = {"status": status, "x": None, "objective": None, "bound": None}
    if has:
        result["x"] = np.array(h.getSolution().col_value)
        result["objective"] = float(h.getInfo().objective_function_value)
        if m["integer"].any():
            result["bound"] = float(h.getInfo().mip_dual_bound)
        else:
            result["bound"] = result["objective"] if status == "optimal" else None
    if status == "optimal" and m.get("then_minimize") is not None:
        # Lexicographic second stage: keep the first objective at its optimum, minimise the second.
        first = result["objective"]
        tol = max(m["lex_tolerance"] * abs(first), 1e-7)
        nz = np.flatnonzero(m["cost"])
        row = (nz, m["cost"][nz], first - tol, inf) if m["maximize"] else (nz, m["cost"][nz], -inf, first + tol)
        h2 = highspy.Highs()
        for key in ("output_flag", "log_to_console"):
            h2.setOptionValue(key, False)
        stage1 = time.perf_counter() - t0
        left2 = time_left - stage1
        # The second stage only breaks ties: by default it gets at most twice stage 1's time.
        cap = m.get("lex_time_limit")
        left2 = min(left2, cap if cap is not None else max(1.0, 2.0 * stage1))
        if np.isfinite(left2):
            h2.setOptionValue("time_limit", max(left2, 0.01))
        h2.setOptionValue("mip_rel_gap", mip_rel_gap)
        h2.setOptionValue("mip_abs_gap", 1e-7)
        if threads:
            h2.setOptionValue("threads", threads)
        h2.passModel(build(m["then_minimize"], False, row))
        h2.setSolution(h.getSolution())  # stage 1's optimum is feasible: a warm start
        h2.run()
        status2, has2 = _status(h2, highspy)
        if has2:
            result["x"] = np.array(h2.getSolution().col_value)
            result["second_objective"] = float(h2.getInfo().objective_function_value)
        # The first stage's answer still stands if the second stage ran out of time.
        result["second_status"] = status2
    result["seconds"] = time.perf_counter() - t0
    return result


def _solve_rhs_batch(batch: dict, deadline, mip_rel_gap: float, threads: int, highspy) -> list[dict]:
    """One model, many right-hand sides (Phase II slots): pass it once, re-solve per variant."""
    m = batch["model"]
    rows = np.asarray(batch["rows"], dtype=np.int32)
    results = []
    h = None
    for lower, upper in zip(batch["lower"], batch["upper"]):
        left = (deadline - time.perf_counter()) if deadline else float("inf")
        if left <= 0:
            results.append({"status": "unknown", "x": None, "objective": None, "bound": None, "seconds": 0.0})
            continue
        t0 = time.perf_counter()
        if h is None:
            h = _make_highs(m, mip_rel_gap, threads, highspy)
        h.clearSolver()
        if np.isfinite(left):
            h.setOptionValue("time_limit", max(left, 0.01))
        inf = highspy.kHighsInf
        lo = np.where(np.isinf(lower), -inf, lower)
        up = np.where(np.isinf(upper), inf, upper)
        h.changeRowsBounds(len(rows), rows, lo, up)
        h.run()
        status, has = _status(h, highspy)
        res = {"status": status, "x": None, "objective": None, "bound": None}
        if has:
            res["x"] = np.array(h.getSolution().col_value)
            res["objective"] = float(h.getInfo().objective_function_value)
        res["seconds"] = time.perf_counter() - t0
        results.append(res)
    return results


def _make_highs(m: dict, mip_rel_gap: float, threads: int, highspy):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("mip_rel_gap", mip_rel_gap)
    h.setOptionValue("mip_abs_gap", 1e-7)
    if threads:
        h.setOptionValue("threads", threads)
    h.passModel(_to_lp(m, m["cost"], m["maximize"], highspy))
    return h


def _to_lp(m: dict, cost, maximize: bool, highspy, extra_row=None):
    inf = highspy.kHighsInf
    n = len(m["cost"])
    lp = highspy.HighsLp()
    start, index, value = m["start"], m["index"], m["value"]
    row_lower, row_upper = m["row_lower"], m["row_upper"]
    if extra_row is not None:
        idx, val, lo, up = extra_row
        index = np.concatenate([index, idx])
        value = np.concatenate([value, val])
        start = np.concatenate([start, [start[-1] + len(idx)]])
        row_lower = np.concatenate([row_lower, [lo]])
        row_upper = np.concatenate([row_upper, [up]])
    lp.num_col_ = n
    lp.num_row_ = len(row_lower)
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.asarray(m["lower"], dtype=float)
    lp.col_upper_ = np.where(np.isinf(m["upper"]), inf, m["upper"])
    lp.row_lower_ = np.where(np.isinf(row_lower), -inf, row_lower)
    lp.row_upper_ = np.where(np.isinf(row_upper), inf, row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = len(row_lower)
    lp.a_matrix_.start_ = np.asarray(start, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(value, dtype=float)
    if m["integer"].any():
        kinds = np.where(m["integer"], int(highspy.HighsVarType.kInteger), int(highspy.HighsVarType.kContinuous))
        lp.integrality_ = [highspy.HighsVarType(int(k)) for k in kinds]
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    return lp


def run_job(job: dict, highspy) -> list[dict]:
    deadline = time.perf_counter() + job["time_limit"] if job.get("time_limit") else None
    gap, threads = job.get("mip_rel_gap", 0.0), job.get("threads", 0)
    if "rhs_batch" in job:
        return _solve_rhs_batch(job["rhs_batch"], deadline, gap, threads, highspy)
    results = []
    for m in job["models"]:
        left = (deadline - time.perf_counter()) if deadline else float("inf")
        if deadline and left <= 0:
            results.append({"status": "unknown", "x": None, "objective": None, "bound": None, "seconds": 0.0})
            continue
        results.append(_solve(m, left, gap, threads, highspy))
    return results


def _read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _watch_parent(parent_pid: int) -> None:
    """Exit when the parent dies, even mid-solve (HiGHS releases the GIL while it runs).

    Not PR_SET_PDEATHSIG: that fires when the *thread* that started the worker ends, and
    workers are pooled across a process's threads."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCH_S)
        os._exit(0)

    if os.getppid() != parent_pid:
        os._exit(0)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str]) -> None:
    """Serve jobs until the job pipe closes: each message is an 8-byte length then a pickle."""
    job_fd, reply_fd, parent_pid = (int(a) for a in argv[:3])
    _watch_parent(parent_pid)
    sys.stdout = sys.stderr  # a stray print() must not reach fd 1 either (it is /dev/null anyway)
    import highspy

    while True:
        try:
            head = _read_exact(job_fd, 8)
            job = pickle.loads(_read_exact(job_fd, int.from_bytes(head, "little")))
        except EOFError:
            return
        try:
            reply = {"results": run_job(job, highspy)}
        except Exception as exc:  # noqa: BLE001 - reported to the caller as a solver failure
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            _write_all(reply_fd, len(data).to_bytes(8, "little") + data)
        except BrokenPipeError:
            return


if __name__ == "__main__":
    main(sys.argv[1:])
