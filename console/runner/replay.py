"""Re-solving stored runs: deterministic replay and acceptance checks before a model change ships.

    replay_run(engine, run_id) -> ReplayResult
        the run's stored inputs, limits and options, one search worker and its seed: does the new
        plan have the same hash (engine.fingerprint.plan_sha256) as the stored one?
    accept_run(engine, run_id, tolerance_pct) -> AcceptanceResult
        the stored inputs with the current engine and the run's options: is the plan valid, is
        its objective within `tolerance_pct` of the stored one, how long did it take?
    acceptance_runs(engine, run_ids=None, last=20) -> list[int]   which runs to check by default

Solving happens in this process (the CLI's, never the API's) through the same dispatch the
workers use, so the plan is checked by the independent validator the same way. Capacity runs
solve in a fresh interpreter: HiGHS and OR-Tools cannot share a process (NOTES.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Resolve:
    plan: Optional[dict]
    wall_s: float
    error: Optional[str]       # why no plan (invalid plan, solver error)
    invalid: bool              # the validator rejected the plan


@dataclass(frozen=True)
class ReplayResult:
    run_id: int
    kind: str
    stored_sha256: Optional[str]
    replay_sha256: Optional[str]
    wall_s: float
    error: Optional[str]

    @property
    def match(self) -> bool:
        return self.stored_sha256 is not None and self.stored_sha256 == self.replay_sha256

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "kind": self.kind, "match": self.match, "stored_sha256": self.stored_sha256,
                "replay_sha256": self.replay_sha256, "wall_s": round(self.wall_s, 3), "error": self.error}


@dataclass(frozen=True)
class AcceptanceResult:
    run_id: int
    kind: str
    valid: bool
    stored_objective: Optional[float]
    new_objective: Optional[float]
    stored_s: Optional[float]
    new_s: float
    tolerance_pct: float
    error: Optional[str]

    @property
    def delta_pct(self) -> Optional[float]:
        if self.stored_objective is None or self.new_objective is None:
            return None
        if self.stored_objective == 0:
            return 0.0 if self.new_objective == 0 else float("inf")
        return 100.0 * (self.new_objective - self.stored_objective) / abs(self.stored_objective)

    @property
    def passed(self) -> bool:
        """Valid, and not worse than the stored objective by more than the tolerance (all objectives are minimised)."""
        if not self.valid or self.error:
            return False
        if self.stored_objective is None:
            return True
        return self.delta_pct is not None and self.delta_pct <= self.tolerance_pct

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "kind": self.kind, "passed": self.passed, "valid": self.valid,
                "stored_objective": self.stored_objective, "new_objective": self.new_objective,
                "delta_pct": self.delta_pct, "stored_s": self.stored_s, "new_s": round(self.new_s, 3),
                "tolerance_pct": self.tolerance_pct, "error": self.error}


class NotReplayable(ValueError):
    """The run has no stored inputs (it failed before it was queued) or does not exist."""


def _inputs(engine, run_id: int, *, single_worker: bool):
    from console.ops.errors import NotFound
    from console.ops.runs import get_run
    from console.runner.dispatch import RunInputs
    from console.store.runs import run_input

    try:
        view = get_run(engine, run_id)
    except NotFound as exc:
        raise NotReplayable(str(exc)) from None
    if not view.input_key:
        raise NotReplayable(f"run {run_id} has no stored inputs (it failed before it was queued)")
    media, body = run_input(engine, view.input_key)
    options = dict(view.options)
    if single_worker and view.kind != "capacity":
        options["workers"] = 1  # with the run's seed (limits.solve.seed), CP-SAT's search is deterministic
    return view, RunInputs(view.kind, media, body, view.limits, options)


def _solve(inputs) -> Resolve:
    from console.runner.dispatch import SOLVE
    from engine.documents import DocumentError
    from engine.progress import Cancellation
    from engine.violations import PlanRejected

    started = time.monotonic()
    try:
        plan = SOLVE[inputs.kind](inputs, lambda _event: None, Cancellation())
        return Resolve(plan, time.monotonic() - started, None, False)
    except PlanRejected as exc:
        return Resolve(None, time.monotonic() - started, str(exc), True)
    except DocumentError as exc:
        return Resolve(None, time.monotonic() - started, str(exc), False)


def resolve(inputs) -> Resolve:
    from console.runner.dispatch import FRESH_INTERPRETER_KINDS

    if inputs.kind not in FRESH_INTERPRETER_KINDS:
        return _solve(inputs)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_solve, inputs).result()


def replay_run(engine, run_id: int) -> ReplayResult:
    from engine.fingerprint import plan_sha256

    view, inputs = _inputs(engine, run_id, single_worker=True)
    out = resolve(inputs)
    return ReplayResult(run_id, view.kind, None if view.plan is None else plan_sha256(view.plan),
                        None if out.plan is None else plan_sha256(out.plan), out.wall_s, out.error)


def accept_run(engine, run_id: int, tolerance_pct: float) -> AcceptanceResult:
    from console.store.run_worker import _plan_objective  # the objective column the run stored

    view, inputs = _inputs(engine, run_id, single_worker=False)
    out = resolve(inputs)
    stored_s = None if view.started_at is None or view.finished_at is None else round(view.finished_at - view.started_at, 3)
    return AcceptanceResult(run_id, view.kind, out.plan is not None and not out.invalid, view.objective,
                            None if out.plan is None else _plan_objective(out.plan), stored_s, out.wall_s,
                            tolerance_pct, out.error)


def acceptance_runs(engine, run_ids: Optional[list[int]] = None, last: int = 20) -> list[int]:
    """The given runs, or the `last` succeeded runs (newest first)."""
    if run_ids:
        return list(run_ids)
    from console.ops.runs import list_runs

    return [v.id for v in list_runs(engine, status="succeeded", limit=last)]
