"""`fleetctl check SNAPSHOT LIMITS PLAN`: the independent validator on files.

Exit 0 when the plan is valid, 1 when it violates a rule (each violation on
stdout, or a JSON list with --json), 2 when a document cannot be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from console.cli.apps import app
from console.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, emit_json, fail, user_errors


@app.command("check")
def check(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot file (JSON or YAML).")],
    limits: Annotated[Path, typer.Argument(help="Limits file (JSON or YAML).")],
    plan: Annotated[Path, typer.Argument(help="Plan file (maintenance or placement).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the violations as a JSON list.")] = False,
) -> None:
    """Check a plan against a snapshot and limits, rule by rule (FORMATS.md)."""
    from engine.documents import load_limits, load_plan, load_snapshot
    from engine.validate import validate_plan

    with user_errors():
        snap = load_snapshot(snapshot)
        lim = load_limits(limits)
        doc = load_plan(plan)
    try:
        violations = validate_plan(snap, lim, doc)
    except NotImplementedError as exc:
        fail(str(exc), code=EXIT_USAGE)
    if as_json:
        emit_json([v.to_dict() for v in violations])
    elif violations:
        typer.echo(f"invalid: {len(violations)} violation(s)")
        for v in violations:
            ents = f"  ({', '.join(v.entities)})" if v.entities else ""
            typer.echo(f"  - {v}{ents}")
    else:
        typer.echo(f"valid: {_summary(doc)}{_infeasible_claim(snap, lim, doc)}")
    raise typer.Exit(EXIT_ERROR if violations else EXIT_OK)


def _infeasible_claim(snap, lim, doc) -> str:
    """An `infeasible` plan is a claim, not a schedule: say whether a cheap proof backs it here (an
    infeasible plan checked against other limits than it was solved with is otherwise "valid")."""
    if doc.kind != "maintenance" or doc.status != "infeasible":
        return ""
    from engine.maintenance.explain import precheck

    if precheck(snap, lim):
        return " (confirmed: a cheap proof of infeasibility holds for these limits)"
    return (" (not confirmed: no cheap proof of infeasibility holds for these limits; "
            "`fleetctl solve maintenance` decides)")


def _summary(doc) -> str:
    if doc.kind == "maintenance":
        if not doc.migrations and not doc.reboots and doc.status in ("infeasible", "unknown"):
            return f"{doc.status} plan without a schedule"
        return f"{len(doc.migrations)} migration(s), {len(doc.reboots)} reboot(s), makespan {doc.makespan}"
    return f"{len(doc.assignments)} assignment(s), {doc.objective} = {doc.value}"
