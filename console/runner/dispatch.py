"""Run kinds → engine solve functions. Input: the stored documents; output: a plan dict.

Every plan is checked by the independent validator here, again, before the
executor may store it: a solver that skipped validation still cannot ship a bad
plan (`PlanRejected` → the run fails loudly with the violations).
"""

from __future__ import annotations

import os

import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

from console.store.run_tables import RUN_OPTIONS
from engine.progress import Cancellation, PlanCallback, ProgressCallback

OPTION_NAMES = RUN_OPTIONS


@dataclass(frozen=True)
class RunInputs:
    kind: str
    media: str
    body: str
    limits: Optional[dict]
    options: dict
    snapshot_id: Optional[int] = None  # the store's fleet version the run solved (stamped on its plan)
    # engine.fingerprint.sha256_of(the snapshot), kept by the store with the run's input (the store
    # keeps snapshot bodies in canonical form, keyed by this hash): not recomputed over the whole fleet.
    snapshot_sha256: Optional[str] = None

    @classmethod
    def of(cls, view, media: str, body: str) -> "RunInputs":
        """A claimed run's inputs (`view`: its RunView with provenance, `media`/`body`: its stored input)."""
        provenance = view.provenance or {}
        return cls(view.kind, media, body, view.limits, view.options, provenance.get("snapshot_id"),
                   provenance.get("snapshot_sha256") if media == "snapshot+json" else None)


def check_options(kind: str, options: dict) -> list[str]:
    """Problems with a run's options (unknown names, unknown solvers, objectives or phases), for a
    clear error at enqueue time rather than a run that fails later in the worker."""
    allowed = OPTION_NAMES.get(kind, ())
    out = [f"option {name!r} is not known for {kind} runs (known: {', '.join(allowed)})"
           for name in options if name not in allowed]
    choices = {"solver": _solver_names(kind)}
    if kind == "placement":
        choices["objective"] = ("min_hosts", "balance", "rebalance")
    if kind == "capacity":
        choices["phase"] = ("i", "ii", "1", "2")
    for name, known in choices.items():
        value = options.get(name)
        if value is not None and known and value not in known:
            out.append(f"unknown {kind} {name} {value!r}: choose one of {', '.join(known)}")
    return out


def _solver_names(kind: str) -> tuple[str, ...]:
    from engine.solver_names import BY_KIND

    return BY_KIND.get(kind, ())


def _kwargs(options: dict, names: tuple[str, ...]) -> dict[str, Any]:
    # Only options actually given: the engine's own defaults apply to the rest.
    return {n: options[n] for n in names if options.get(n) is not None}


def _snapshot_and_limits(inputs: RunInputs):
    from engine.documents import parse_model, parse_snapshot
    from engine.model import Limits

    snapshot = parse_snapshot(json.loads(inputs.body), "run snapshot")
    limits = parse_model(Limits, inputs.limits or {}, "run limits")
    return snapshot, limits


def _validated(snapshot, limits, plan, snapshot_id: Optional[int] = None, snapshot_sha256: Optional[str] = None,
               **kw):
    """The plan as a dict once the independent validator accepts it, stamped with its `inputs`.
    (For the plan its solve has just validated against these very documents, the validator answers from
    its receipt, see engine.validate._Receipt; any other plan is checked in full.)"""
    from engine.fingerprint import with_inputs
    from engine.violations import PlanRejected

    if plan.kind == "maintenance":
        from engine.validate import validate_maintenance

        problems = validate_maintenance(snapshot, limits, plan)
    else:
        from engine.validate_placement import validate_placement

        problems = validate_placement(snapshot, limits, plan, **kw)
    if problems:
        raise PlanRejected(plan.solver.name, problems)
    return with_inputs(plan, snapshot, limits, snapshot_id, snapshot_sha256).model_dump(mode="json", by_alias=True, exclude_none=True)


def solve_maintenance_run(inputs: RunInputs, on_progress: ProgressCallback, cancel: Cancellation,
                          on_plan: Optional[PlanCallback] = None) -> dict:
    """`on_plan` receives the engine's validated incumbents (the executor stores them on the run)."""
    from engine.maintenance.solve import solve_maintenance

    snapshot, limits = _snapshot_and_limits(inputs)
    # The run's own executor, else the worker's (`fleetctl worker --executor`, FLEETCTL_EXECUTOR), else local.
    executor = inputs.options.get("executor") or os.environ.get("FLEETCTL_EXECUTOR") or None
    plan = solve_maintenance(snapshot, limits, on_progress=on_progress, cancel=cancel, on_plan=on_plan,
                             executor=executor, **_kwargs(inputs.options, ("solver", "time_limit_s", "workers")))
    return _validated(snapshot, limits, plan, inputs.snapshot_id, inputs.snapshot_sha256)


def solve_placement_run(inputs: RunInputs, on_progress: ProgressCallback, cancel: Cancellation,
                        on_plan: Optional[PlanCallback] = None) -> dict:
    from engine.placement.solve import solve_placement

    snapshot, limits = _snapshot_and_limits(inputs)
    kw = _kwargs(inputs.options, ("solver", "objective", "time_limit_s", "workers", "max_moves"))
    plan = solve_placement(snapshot, limits, on_progress=on_progress, cancel=cancel, on_plan=on_plan, **kw)
    extra = {"max_moves": inputs.options.get("max_moves")} if plan.objective == "rebalance" else {}
    return _validated(snapshot, limits, plan, inputs.snapshot_id, inputs.snapshot_sha256, **extra)


def _problem_path(inputs: RunInputs):
    """A file holding exactly the stored problem text: the original file when it is
    unchanged (its relative workload CSVs then resolve), else a copy beside it."""
    import hashlib
    import tempfile
    from pathlib import Path

    original = Path(inputs.options["problem_file"]) if inputs.options.get("problem_file") else None
    if original is not None and original.is_file():
        if hashlib.sha256(original.read_bytes()).hexdigest() == hashlib.sha256(inputs.body.encode()).hexdigest():
            return original, None
    where = original.parent if original is not None and original.parent.is_dir() else Path(tempfile.gettempdir())
    fd, name = tempfile.mkstemp(suffix=".yaml", prefix=".fleetctl-run-", dir=where)
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(inputs.body)
    return Path(name), Path(name)


def solve_capacity_run(inputs: RunInputs, on_progress: ProgressCallback, cancel: Cancellation,
                       on_plan: Optional[PlanCallback] = None) -> dict:
    """Phase I (reserved counts), and with phase "ii" Phase II per slot on the `stwp` problem
    (default: the same problem). The phase functions validate their own solutions.
    (No incumbents: `on_plan` is accepted for a uniform signature and unused.)"""
    import time

    from engine.capacity.phase_i import solve_phase_i
    from engine.capacity.phase_ii import solve_phase_ii
    from engine.capacity.reader import read_problems
    from engine.progress import ProgressEvent

    started = time.monotonic()
    opts = inputs.options
    path, temporary = _problem_path(inputs)
    try:
        problems = read_problems(path, allow_outside_files=bool(opts.get("allow_outside_files")))
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    problem_id = opts.get("problem")
    if problem_id not in problems:
        from engine.documents import DocumentError

        raise DocumentError(str(path), [f"no problem with id {problem_id!r} (problems in the file: {', '.join(sorted(problems))})"])
    phase = str(opts.get("phase") or "i").lower()
    limit = opts.get("time_limit_s")
    sol1 = solve_phase_i(problems[problem_id], relaxed=bool(opts.get("relaxed")), time_limit=limit, cancellation=cancel)
    on_progress(ProgressEvent(time.monotonic() - started, objective=sol1.cost, bound=sol1.bound,
                              message=f"phase I {sol1.status}"))
    from engine.capacity.result import capacity_result

    sol2 = None
    if phase == "ii" and sol1.has_solution and not cancel.cancelled:
        stwp_id = opts.get("stwp") or problem_id
        if stwp_id not in problems:
            from engine.documents import DocumentError

            raise DocumentError(str(path), [f"no STWP problem with id {stwp_id!r}"])
        left = None if limit is None else max(0.1, limit - (time.monotonic() - started))  # the limit covers both phases
        sol2 = solve_phase_ii(problems[stwp_id], sol1, time_limit=left, cancellation=cancel)
        on_progress(ProgressEvent(time.monotonic() - started, objective=sol2.cost, message=f"phase II {sol2.status}"))
    # The same document as `fleetctl solve capacity --json` (one entry per slot in Phase II).
    plan = capacity_result(sol1, sol2, sol2.status if sol2 is not None else sol1.status,
                           "ii" if sol2 is not None else "i")
    plan.update(version=1, lower_bound=sol1.bound if sol2 is None else None,
                solver={"name": "highs", "wall_s": round(time.monotonic() - started, 3)})
    return plan


# solve(inputs, on_progress, cancel, on_plan=None) -> validated plan dict
SOLVE: dict[str, Callable[..., dict]] = {
    "maintenance": solve_maintenance_run,
    "placement": solve_placement_run,
    "capacity": solve_capacity_run,
}

# Kinds whose solver must start in a fresh interpreter: the capacity LPs may use
# HiGHS, which cannot live in a process that has imported OR-Tools (NOTES.md).
FRESH_INTERPRETER_KINDS = frozenset({"capacity"})


def outcome(plan: dict, cancelled: bool) -> tuple[str, Optional[str]]:
    """(run status, error) for a validated plan."""
    status = plan.get("status")
    if cancelled:
        kept = "the best plan found so far is kept" if status in ("optimal", "feasible") else "no plan had been found yet"
        return "cancelled", f"cancelled on request; {kept}"
    if status in ("optimal", "feasible", "overfull"):
        return "succeeded", None
    if status == "infeasible":
        return "infeasible", plan.get("explanation") or "the problem is infeasible"
    return "failed", plan.get("explanation") or f"no plan found within the time limit (solver status {status!r})"


def warm_imports() -> None:
    """Import the solvers once in the worker so forked executors start at once.
    (Not engine.capacity: its runs start in a fresh interpreter, see above.)"""
    import importlib
    import pkgutil

    for name in ("engine.documents", "engine.validate", "engine.validate_placement", "console.runner.executor",
                 "ortools.sat.python.cp_model"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    for package in ("engine.maintenance", "engine.placement"):
        try:
            pkg = importlib.import_module(package)
        except ImportError:
            continue
        for info in pkgutil.iter_modules(pkg.__path__, package + "."):
            try:
                importlib.import_module(info.name)
            except Exception:  # noqa: BLE001 - a module that cannot load now fails its run later, with a message
                pass
