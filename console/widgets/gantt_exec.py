"""Execution state on the Gantt: which style each bar's action state takes, the "now" line, the legend.

The states come from console.ops.plan_view (the application layer's rules); this module only draws.
"""

from __future__ import annotations

from typing import Optional

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from engine.execution.state import migrate_id, reboot_id
from engine.model import MaintenancePlan

# state -> (component class, legend label); the order is the legend's
STATE_CLASSES: dict[str, tuple[str, str]] = {
    "done": ("gantt--done", "done"),
    "running": ("gantt--running", "running"),
    "late": ("gantt--late", "late"),
    "failed": ("gantt--failed", "failed"),
    "pending": ("gantt--pending", "pending"),
    "skipped": ("gantt--skipped", "skipped"),
}

EXEC_CSS = """
Gantt > .gantt--done { background: $success-darken-2; color: $text; }
Gantt > .gantt--running { background: $primary; color: $text; text-style: bold; }
Gantt > .gantt--late { background: $warning-darken-1; color: $background; text-style: bold; }
Gantt > .gantt--failed { background: $error; color: $text; text-style: bold; }
Gantt > .gantt--pending { background: $surface-lighten-2; color: $text-muted; }
Gantt > .gantt--skipped { background: $surface-lighten-1; color: $text-disabled; text-style: strike; }
Gantt > .gantt--now { color: $accent; text-style: bold; }
"""


def states_by_index(plan: Optional[MaintenancePlan], actions: Optional[dict[str, str]]
                    ) -> tuple[Optional[list[str]], Optional[list[str]]]:
    """Each migration's and reboot's view state, aligned with plan.migrations / plan.reboots."""
    if plan is None or actions is None:
        return None, None
    return ([actions.get(migrate_id(m.vm), "pending") for m in plan.migrations],
            [actions.get(reboot_id(r.host), "pending") for r in plan.reboots])


def overlay_now(strip: Strip, cell: int, now_style: Style) -> Strip:
    """The "now" line through one cell: a rule in empty space, the bar's own text re-styled on a bar."""
    if not 0 <= cell < strip.cell_length:
        return strip
    left, mid, right = strip.divide([cell, cell + 1, strip.cell_length])
    text = mid.text
    segs = list(mid)
    on_bar = bool(segs) and segs[0].style is not None and segs[0].style.bgcolor is not None and text.strip() != ""
    if text.strip() == "":
        new = Segment("│", (segs[0].style if segs else Style()) + now_style)
    elif on_bar:
        new = Segment(text, (segs[0].style or Style()) + Style(underline=True, bold=True))
    else:
        new = Segment(text, segs[0].style if segs else None)
    return Strip.join([left, Strip([new], 1), right])


def legend(styles: dict[str, Style], now: Optional[int], fmt) -> Text:
    """The execution legend: one swatch per state, then where the now line is."""
    text = Text("execution: ")
    for state, (_cls, label) in STATE_CLASSES.items():
        if state == "skipped":
            continue
        text.append(f" {label} ", style=styles.get(state, Style()))
        text.append(" ")
    if now is not None:
        text.append("│", style=styles.get("now", Style()))
        text.append(f" now (minute {now}, {fmt(now)})")
    return text
