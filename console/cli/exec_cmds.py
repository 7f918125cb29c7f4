"""Executing an approved plan: start, report, status, next, replan, apply, cancel.

    fleetctl exec start RUN_ID [--at ISO-TIME] [--by NAME]
    fleetctl exec report EXEC ACTION started|done|failed|skipped [--at MINUTE] [--reason TEXT]
    fleetctl exec report EXEC --events FILE.jsonl
    fleetctl exec status EXEC [--now MINUTE] [--json]
    fleetctl exec next EXEC [--now MINUTE] [--json]
    fleetctl exec replan EXEC [--now MINUTE] [--time-limit S] [--out plan.json] [--json]
    fleetctl exec apply EXEC [--partial]
    fleetctl exec cancel EXEC --reason TEXT

Minutes count from the execution's start. Refusals are one line (or one per bad event) and exit 2.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from console.cli.apps import exec_app
from console.cli.common import DbOption, check_output_path, check_time_limit, check_workers, emit_json, err, fail
from console.cli.plan_cmds import ByOption, JsonOption, RunId, actor, lifecycle_store

ExecId = Annotated[int, typer.Argument(help="Execution id (printed by `fleetctl exec start`).", min=1)]
NowOption = Annotated[Optional[int], typer.Option("--now", help="Minute since the execution started "
                                                  "(default: the clock, never before the latest event).", min=0)]


@exec_app.command("start")
def exec_start(
    run_id: RunId,
    at: Annotated[Optional[str], typer.Option("--at", help="Minute 0 as an ISO 8601 time (default: now).")] = None,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Start executing an approved plan (minute 0 = now, or --at)."""
    from console.ops.lifecycle import start_execution

    when = None
    if at is not None:
        try:
            stamp = datetime.fromisoformat(at)
        except ValueError:
            fail(f"--at {at!r} is not an ISO 8601 time (e.g. 2026-12-02T06:00:00Z)")
        if stamp.tzinfo is None:
            fail(f"--at {at!r} needs a time zone (e.g. Z or +01:00)")
        when = stamp.timestamp()
    who = actor(by)
    with lifecycle_store(db) as engine:
        exec_id = start_execution(engine, run_id, by=who, at=when)
    typer.echo(f"execution {exec_id} started on run {run_id}")
    typer.echo(f"what may start now: fleetctl exec next {exec_id}")


def read_events_file(path: Path) -> list:
    from engine.execution.state import EventRefused, parse_event

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        fail(f"--events {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"--events {path}: not UTF-8 text")
    events, problems = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(parse_event(json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{n}: not JSON ({exc.msg})")
        except EventRefused as exc:
            problems.append(f"{path}:{n}: {exc}")
    if problems:
        fail(problems)
    if not events:
        fail(f"--events {path}: no events in the file")
    return events


@exec_app.command("report")
def exec_report(
    execution_id: ExecId,
    action: Annotated[Optional[str], typer.Argument(help="migrate:<vm> or reboot:<host>.")] = None,
    state: Annotated[Optional[str], typer.Argument(help="started, done, failed or skipped.")] = None,
    at: Annotated[Optional[int], typer.Option("--at", help="Minute since the start (default: the clock).", min=0)] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (a failure's cause…).")] = None,
    events_file: Annotated[Optional[Path], typer.Option("--events", help="JSON Lines file, one event per line.")] = None,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Record what happened: one event, or a file of events (all or none; already recorded ones skipped)."""
    from console.ops.lifecycle import load_execution, report
    from engine.execution.state import EventRefused, parse_event

    if events_file is not None and (action or state):
        fail("give either ACTION STATE or --events FILE, not both")
    who = actor(by)
    with lifecycle_store(db) as engine:
        if events_file is not None:
            events = read_events_file(events_file)
        else:
            if not action or not state:
                fail("give ACTION and STATE (e.g. migrate:vm-0001 started), or --events FILE")
            if at is None:
                at = load_execution(engine, execution_id).now
            try:
                events = [parse_event({"action": action, "state": state, "at": at, "reason": reason})]
            except EventRefused as exc:
                fail(str(exc))
        rec = report(engine, execution_id, events, actor=who)
    typer.echo(f"execution {execution_id}: {rec.applied} event(s) recorded"
               + (f", {rec.duplicates} already recorded (skipped)" if rec.duplicates else "")
               + ("; every action is over: execution completed" if rec.completed else ""))


@exec_app.command("status")
def exec_status(execution_id: ExecId, now: NowOption = None, db: DbOption = None, json_out: JsonOption = False) -> None:
    """Progress, late actions and the projected end."""
    from console.ops.lifecycle import status

    with lifecycle_store(db) as engine:
        view = status(engine, execution_id, now)
    if json_out:
        emit_json(view.to_dict())
        return
    c = view.counts
    total = sum(c.values())
    typer.echo(f"execution {view.execution_id} (run {view.run_id}) {view.state} at minute {view.now}: "
               f"{c['done']}/{total} done, {c['in_progress']} in progress, {c['failed']} failed, "
               f"{c['pending']} pending" + (f", {c['skipped']} skipped" if c["skipped"] else ""))
    typer.echo(f"planned end minute {view.planned_end}, projected end minute {view.projected_end}")
    if view.late:
        typer.echo(f"{len(view.late)} late action(s):")
        for d in view.late[:20]:
            what = (f"running {d['late_by']} min past its planned end {d['planned_end']}" if d["state"] == "in_progress"
                    else f"due since minute {d['planned_start']} ({d['late_by']} min), {d['state']}")
            typer.echo(f"  {d['action']}: {what}")
        if len(view.late) > 20:
            typer.echo(f"  … and {len(view.late) - 20} more (--json lists all)")


@exec_app.command("next")
def exec_next(execution_id: ExecId, now: NowOption = None, db: DbOption = None, json_out: JsonOption = False) -> None:
    """The actions that may start now without breaking a limit, given what really runs; the others held back with why."""
    from console.ops.lifecycle import next_actions

    with lifecycle_store(db) as engine:
        rep = next_actions(engine, execution_id, now)
    if json_out:
        emit_json(rep.to_dict())
        return
    typer.echo(f"minute {rep.now}: {len(rep.may_start)} action(s) may start, {len(rep.held_back)} held back, "
               f"{rep.not_due} not due yet")
    for a in rep.may_start:
        where = f"{a.source} → {a.target}" if a.kind == "migrate" else a.subject
        typer.echo(f"  start  {a.id}  {where}  ({a.minutes} min{', retry' if a.retry else ''})")
    for h in rep.held_back:
        typer.echo(f"  hold   {h.id}: {'; '.join(h.reasons)}")


@exec_app.command("replan")
def exec_replan(
    execution_id: ExecId,
    now: NowOption = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds for the solver.")] = 10.0,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Solver threads (default 2).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the plan (JSON) here.")] = None,
    by: ByOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Replan the rest from what really happened (facts kept); stored as a new run to approve."""
    from console.ops.lifecycle import replan

    check_time_limit(time_limit)
    check_workers(workers)
    check_output_path(out)
    who = actor(by)
    with lifecycle_store(db) as engine:
        res = replan(engine, execution_id, now=now, time_limit_s=time_limit, workers=workers, by=who)
    body = res.plan.model_dump(mode="json", by_alias=True, exclude_none=True)
    if out is not None:
        from console.output_files import write_atomic

        try:
            write_atomic(out, json.dumps(body, indent=2) + "\n")
        except OSError as exc:
            fail(f"cannot write --out {out}: {exc}", code=1)
    summary = {"run": res.run_id, "now": res.plan.execution.now, "makespan": res.plan.makespan,
               "old_makespan": res.old_makespan, "changed": res.changed, "pending": res.pending,
               "wall_s": round(res.wall_s, 2), "status": res.plan.status}
    if json_out:
        emit_json(summary)
    else:
        typer.echo(f"replan at minute {summary['now']}: run {res.run_id}, makespan {res.plan.makespan} "
                   f"(was {res.old_makespan}), {res.changed} of {res.pending} pending action(s) changed, "
                   f"{res.wall_s:.1f} s")
        typer.echo(f"approve it to continue execution {execution_id} on it: fleetctl plan approve {res.run_id}")


@exec_app.command("apply")
def exec_apply(
    execution_id: ExecId,
    partial: Annotated[bool, typer.Option("--partial", help="Write the fleet even with actions left (ends the execution).")] = False,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Write the fleet as it now is (VMs on their new hosts, rebooted hosts active) as a new snapshot."""
    from console.ops.lifecycle import apply_execution

    who = actor(by)
    with lifecycle_store(db) as engine:
        snap_id = apply_execution(engine, execution_id, by=who, partial=partial)
    typer.echo(f"execution {execution_id} applied: the current fleet is now snapshot {snap_id}")


@exec_app.command("cancel")
def exec_cancel(
    execution_id: ExecId,
    reason: Annotated[str, typer.Option("--reason", help="Why it stops.")],
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Stop an execution (its plan becomes cancelled); what was done stays recorded."""
    from console.ops.lifecycle import cancel_execution

    if not reason.strip():
        fail("--reason must say why")
    who = actor(by)
    with lifecycle_store(db) as engine:
        cancel_execution(engine, execution_id, by=who, reason=reason)
    err(f"execution {execution_id} cancelled")
