"""`fleetctl check SNAPSHOT LIMITS PLAN`: the independent validator on files.

Exit 0 when the plan is valid, 1 when it violates a rule (each violation on
stdout, or a JSON list with --json), 2 when a document cannot be read or the
options do not fit the plan.

A plan with an `execution` section (a replan's output) is checked as a continuation
(engine.validate_continuation). Whether its facts are what really happened needs the
history: `--against-execution EXEC --db DB` (the store's events up to the plan's `now`)
or `--previous PLAN --events FILE.jsonl` (the plan that was executing and its events).
Without either, the facts are those the plan claims: its own rules and "nothing new
before now" are checked, and the output says the facts were not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from console.cli.apps import app
from console.cli.common import DbOption, EXIT_ERROR, EXIT_OK, EXIT_USAGE, emit_json, fail, user_errors


@app.command("check")
def check(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot file (JSON or YAML).")],
    limits: Annotated[Path, typer.Argument(help="Limits file (JSON or YAML).")],
    plan: Annotated[Path, typer.Argument(help="Plan file (maintenance or placement).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the violations as a JSON list.")] = False,
    against_execution: Annotated[Optional[int], typer.Option(
        "--against-execution", min=1, help="A continuation: check its facts against this execution's events "
                                           "(in --db) up to the plan's `now`.")] = None,
    previous: Annotated[Optional[Path], typer.Option(
        "--previous", help="A continuation: the plan that was executing (with --events).")] = None,
    events: Annotated[Optional[Path], typer.Option(
        "--events", help="A continuation: the events reported on --previous, JSON Lines.")] = None,
    db: DbOption = None,
) -> None:
    """Check a plan against a snapshot and limits, rule by rule (FORMATS.md); a replanned plan as a continuation."""
    from engine.documents import load_limits, load_plan, load_snapshot
    from engine.validate import validate_plan

    _check_history_options(against_execution, previous, events, db)
    with user_errors():
        snap = load_snapshot(snapshot)
        lim = load_limits(limits)
        doc = load_plan(plan)
    continuation = doc.kind == "maintenance" and doc.execution is not None
    history = against_execution is not None or previous is not None
    if history and not continuation:
        fail(f"{plan}: the plan has no 'execution' section, so it is not a continuation (a replan's output); "
             "--against-execution / --previous --events check only continuations")
    source = ""
    if continuation:
        facts, violations, source = _continuation_facts(snap, doc, against_execution, previous, events, db)
        from engine.validate_continuation import validate_continuation

        violations += validate_continuation(snap, lim, doc, facts)
    else:
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
    if continuation and not as_json:
        typer.echo(source)
    raise typer.Exit(EXIT_ERROR if violations else EXIT_OK)


def _check_history_options(against_execution, previous, events, db) -> None:
    """Misuse of the continuation options: exit 2 before anything is read."""
    if against_execution is not None and (previous is not None or events is not None):
        fail("give the history once: --against-execution EXEC (with --db) or --previous PLAN --events FILE, not both")
    if (previous is None) != (events is None):
        fail("--previous PLAN and --events FILE go together: the plan that was executing and the events reported on it")
    if db is not None and against_execution is None:
        fail("--db is read only with --against-execution EXEC")


def _continuation_facts(snap, doc, against_execution, previous, events, db):
    """(facts, violations found reading them, one line saying where the facts come from)."""
    from engine.fingerprint import sha256_of
    from engine.validate_continuation import claimed_facts

    now = doc.execution.now
    if against_execution is not None:
        from console.cli.plan_cmds import lifecycle_store
        from console.ops.lifecycle import facts_at
        from engine.execution.state import EventRefused

        with lifecycle_store(db) as engine:
            try:
                inputs, facts = facts_at(engine, against_execution, now)
            except EventRefused as exc:
                fail(f"execution {against_execution} at minute {now}: {exc}")
        if sha256_of(snap) != inputs.snapshot_sha256:
            fail(f"the snapshot given is not the one execution {against_execution} runs on "
                 f"(run {inputs.run_id}): check against that fleet (fleetctl runs show {inputs.run_id})")
        return facts, [], (f"continuation at minute {now}: {len(facts.all())} fact(s) checked against "
                           f"execution {against_execution}'s events up to minute {now}")
    if previous is not None:
        from console.cli.exec_cmds import read_events_file
        from engine.documents import load_plan
        from engine.execution.state import EventRefused, Execution

        with user_errors():
            before = load_plan(previous)
        if before.kind != "maintenance":
            fail(f"--previous {previous}: a {before.kind} plan, not the maintenance plan that was executing")
        reported = [e for e in read_events_file(events) if e.at <= now]
        try:
            facts = Execution(before, reported, history=True).facts(now)
        except EventRefused as exc:
            fail(f"--events {events} on --previous {previous}: {exc}")
        return facts, [], (f"continuation at minute {now}: {len(facts.all())} fact(s) checked against "
                           f"{len(reported)} event(s) of {events} up to minute {now}")
    facts, violations = claimed_facts(doc)
    return facts, violations, (
        f"continuation at minute {now}: its {len(facts.all())} fact(s) are taken from the plan itself, not "
        "checked against what really happened (add --against-execution EXEC --db DB, or --previous PLAN "
        "--events FILE); a migration skipped during the execution counts as missing here")


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
