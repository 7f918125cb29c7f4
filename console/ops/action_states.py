"""The state a plan's action shows in (the Gantt, `fleetctl exec status`): the engine's states, with
"late" split out. Light on purpose (no store, no SQL): the console's widgets read the names here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.execution.state import Execution

ACTION_VIEW_STATES = ("done", "running", "late", "failed", "pending", "skipped")


def action_view_state(ex: "Execution", action_id: str, now: int) -> str:
    """done / failed / skipped as recorded; late by the engine's rule (Execution.is_late); else running or pending."""
    state = ex.actions[action_id].state
    if state in ("done", "failed", "skipped"):
        return state
    if ex.is_late(action_id, now):
        return "late"
    return "running" if state == "in_progress" else "pending"
