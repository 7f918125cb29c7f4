"""Plan lifecycle commands.

    fleetctl plan approve RUN_ID [--by NAME] [--note TEXT]
    fleetctl plan margins RUN_ID [--json]
    fleetctl plan history RUN_ID [--json]

A refusal (plan not valid, run solved for another fleet, plan already approved or
superseded, a replan the execution has moved past) is one line and exit 2.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated, Iterator, Optional

import typer

from console.cli.apps import plan_app
from console.cli.common import DbOption, emit_json, fail, reading_store

RunId = Annotated[int, typer.Argument(help="Run id (see `fleetctl runs list`).", min=1)]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
ByOption = Annotated[Optional[str], typer.Option("--by", help="Who does it (default: the login name).")]


def actor(by: Optional[str]) -> str:
    if by is not None and not by.strip():
        fail("--by must name someone")
    if by:
        return by.strip()
    from console.ops.lifecycle import default_actor

    return default_actor()


@contextmanager
def lifecycle_store(db) -> Iterator:
    """The store of an existing --db; a `Refused` from the application layer is exit 2."""
    from console.ops.lifecycle import Refused

    with reading_store(db) as engine:
        try:
            yield engine
        except Refused as exc:
            lines = exc.lines()
            fail(lines if len(lines) > 1 else lines[0])


@plan_app.command("approve")
def plan_approve(
    run_id: RunId,
    by: ByOption = None,
    note: Annotated[Optional[str], typer.Option("--note", help="Why, ticket, change window…")] = None,
    db: DbOption = None,
) -> None:
    """Approve a run's plan: bound to the hashes of its snapshot, limits and plan (refused: exit 2)."""
    from console.ops.lifecycle import approve

    who = actor(by)
    with lifecycle_store(db) as engine:
        state = approve(engine, run_id, by=who, note=note)
    typer.echo(f"run {run_id}: plan {state.state} by {state.approved_by} "
               f"(snapshot {state.snapshot_id}, snapshot sha256 {state.snapshot_sha256[:12]}…, "
               f"plan sha256 {state.plan_sha256[:12]}…)")
    if state.state == "approved":
        typer.echo(f"start it with: fleetctl exec start {run_id}")
    else:
        typer.echo(f"execution {state.execution_id} continues on this plan (run {state.parent_run_id} superseded)")


@plan_app.command("margins")
def plan_margins_cmd(run_id: RunId, db: DbOption = None, json_out: JsonOption = False) -> None:
    """Dry run: per limit family, the plan's peak use against the limit, where and when, and which limit binds."""
    from console.ops.lifecycle import margins

    with lifecycle_store(db) as engine:
        report = margins(engine, run_id)
    if json_out:
        emit_json(report.to_dict())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"run {run_id}: margins of a {report.makespan}-minute plan", title_justify="left")
    for col in ("limit family", "limit", "peak", "use", "where", "minute", "minutes at limit"):
        table.add_column(col, justify="right" if col in ("limit", "peak", "use", "minute", "minutes at limit") else "left",
                         no_wrap=col == "limit family")
    for m in report.margins:
        table.add_row(m.family, "-" if m.limit is None else f"{m.limit:g}", f"{m.peak:g}",
                      "-" if m.ratio is None else f"{m.ratio:.0%}", m.where, "-" if m.minute is None else str(m.minute),
                      str(m.saturated_minutes))
    out = Console(highlight=False, soft_wrap=True)
    out.print(table)
    out.print(f"binds the makespan: {report.binding or 'no limit reached'}"
              + (f"; proven by the {report.proven_by} bound" if report.proven_by else ""))


@plan_app.command("history")
def plan_history_cmd(run_id: RunId, db: DbOption = None, json_out: JsonOption = False) -> None:
    """A plan's state and every transition (append-only: who, when, why)."""
    from console.ops.lifecycle import plan_history
    from console.store.runs import iso

    with lifecycle_store(db) as engine:
        state, events = plan_history(engine, run_id)
    if json_out:
        emit_json({"state": state.to_dict(), "events": [e.to_dict() for e in events]})
        return
    typer.echo(f"run {run_id}: plan {state.state}")
    for e in events:
        typer.echo(f"  {iso(e.at)}  {e.from_state} → {e.to_state}  by {e.actor}" + (f": {e.reason}" if e.reason else ""))
