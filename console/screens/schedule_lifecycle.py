"""The Schedule screen's lifecycle lines: the plan's state (who approved it, when, what it continues
or what superseded it) and its execution's progress, from a console.ops.plan_view.PlanView."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Optional

from rich.text import Text

from console.ops.plan_view import PlanView

STATE_STYLE = {"draft": "cyan", "approved": "bold green", "executing": "bold blue", "completed": "green",
               "failed": "bold red", "cancelled": "yellow", "superseded": "dim"}


def utc(ts: Optional[float]) -> str:
    return "–" if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def lifecycle_text(view: PlanView, fmt: Callable[[float], str]) -> Text:
    st = view.state
    text = Text("plan ")
    text.append(st.state, style=STATE_STYLE.get(st.state, ""))
    if st.approved_by:
        text.append(f" · approved by {st.approved_by} {utc(st.approved_at)}")
        if st.note:
            text.append(f" ({st.note})", style="dim")
    if st.parent_run_id is not None:
        text.append(f" · replan of run {st.parent_run_id} (execution {st.execution_id})")
        if st.state != "draft":  # approving a replan superseded the plan it continues
            text.append(f", run {st.parent_run_id} superseded")
    if view.successor is not None:
        text.append(f" · execution continues on run {view.successor} (l: latest run)", style="bold")
    if st.state == "draft":
        hint = (f" — a: approve to continue execution {st.execution_id} on it (run {st.parent_run_id} is then "
                "superseded)" if st.parent_run_id is not None else " — a: approve")
        text.append(hint, style="dim")
    elif st.state == "approved" and view.execution is None:
        text.append(f" — start it: fleetctl exec start {view.run_id}", style="dim")
    if view.execution is None or view.status is None:
        return text
    s, row = view.status, view.execution
    total = sum(s.counts.values())
    text.append(f"\nexecution {row.id} {row.state}", style="bold")
    text.append(f" at minute {s.now} ({fmt(s.now)}): ")
    text.append(f"{s.counts['done']}/{total} done", style="green")
    text.append(f" · {s.counts['in_progress']} in progress")
    text.append(f" · {len(s.late)} late", style="bold yellow" if s.late else "")
    text.append(f" · {s.counts['failed']} failed", style="bold red" if s.counts["failed"] else "")
    text.append(f" · {s.counts['pending']} pending")
    if s.counts.get("skipped"):
        text.append(f" · {s.counts['skipped']} skipped")
    ends = "ended" if row.state != "executing" else "projected end"
    text.append(f" · {ends} {fmt(s.projected_end)} (planned {fmt(s.planned_end)})",
                style="bold yellow" if s.projected_end > s.planned_end else "")
    if row.state == "executing":
        text.append(" — r: replan", style="dim")
    return text
