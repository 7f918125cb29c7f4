"""`fleetctl runs replay ID` and `fleetctl acceptance`: re-solve stored runs (console.runner.replay)."""

from __future__ import annotations

import math
from typing import Annotated, Optional

import typer

from console.cli.apps import app, runs_app
from console.cli.common import EXIT_ERROR, DbOption, emit_json, err, existing_db, fail, store_session

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]


def _num(x: Optional[float], digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


@runs_app.command("replay")
def runs_replay(run_id: Annotated[int, typer.Argument(help="Run id.", min=1)], db: DbOption = None,
                json_out: JsonOpt = False) -> None:
    """Re-solve a run's stored inputs deterministically (one search worker, its seed) and report whether the
    plan hash matches the stored plan's. Exit 0 on a match, 1 otherwise."""
    from console.runner.replay import NotReplayable, replay_run

    with store_session(existing_db(db)) as engine:
        try:
            result = replay_run(engine, run_id)
        except NotReplayable as exc:
            fail(str(exc))
    if json_out:
        emit_json(result.to_dict())
    else:
        verdict = "MATCH" if result.match else "DIFFERENT"
        typer.echo(f"run {run_id} ({result.kind}): {verdict}\n  stored plan sha256 {result.stored_sha256 or '-'}\n"
                   f"  replay plan sha256 {result.replay_sha256 or '-'}\n  replay took {result.wall_s:.2f} s")
        if result.error:
            err(f"replay error: {result.error}")
        if result.stored_sha256 is None:
            err(f"run {run_id} has no stored plan to compare with")
    if not result.match:
        raise typer.Exit(EXIT_ERROR)


@app.command("acceptance")
def acceptance(
    runs: Annotated[Optional[list[int]], typer.Option("--runs", help="Run ids (repeat); default: the latest "
                                                      "succeeded runs.", min=1)] = None,
    last: Annotated[int, typer.Option("--last", help="Without --runs: how many recent succeeded runs.", min=1)] = 20,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Largest objective increase allowed, percent.",
                                             min=0)] = 1.0,
    db: DbOption = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-solve stored runs with the current engine: a pass/fail row per run (plan valid, objective within
    --tolerance % of the stored one, time). Run it before shipping a model change; exit 1 if any fails."""
    from console.runner.replay import NotReplayable, accept_run, acceptance_runs

    with store_session(existing_db(db)) as engine:
        ids = acceptance_runs(engine, runs, last)
        if not ids:
            fail("no succeeded run to check: pass --runs ID or run some first")
        results, problems = [], []
        for run_id in ids:
            try:
                results.append(accept_run(engine, run_id, tolerance))
            except NotReplayable as exc:
                problems.append(str(exc))
    if problems:
        fail(problems)
    if json_out:
        emit_json([r.to_dict() for r in results])
    else:
        from rich.console import Console
        from rich.table import Table

        failed = sum(not r.passed for r in results)
        table = Table(title=f"acceptance: {len(results) - failed} passed, {failed} failed (tolerance {tolerance:g}%)",
                      title_justify="left")
        for col in ("run", "kind", "verdict", "valid", "stored obj", "new obj", "delta %", "stored s", "new s"):
            table.add_column(col)
        for r in results:
            table.add_row(str(r.run_id), r.kind, "PASS" if r.passed else "FAIL", "yes" if r.valid else "no",
                          _num(r.stored_objective, 6), _num(r.new_objective, 6), _num(r.delta_pct),
                          _num(r.stored_s), _num(r.new_s))
        Console().print(table)
        for r in results:
            if r.error:
                err(f"run {r.run_id}: {r.error}")
    if any(not r.passed for r in results):
        raise typer.Exit(EXIT_ERROR)
