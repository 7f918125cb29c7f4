"""Execution state on the Gantt: which style each bar's action state takes, the "now" line, the legend.

The states come from console.ops.action_states (the application layer's rules); this module only draws.
"""

from __future__ import annotations

from typing import Optional

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from console.ops.action_states import ACTION_VIEW_STATES
from engine.execution.state import migrate_id, reboot_id
from engine.model import MaintenancePlan

# state -> (component class, legend label), for each of the application layer's states, in its order (the legend's)
STATE_CLASSES: dict[str, tuple[str, str]] = {state: (f"gantt--{state}", state) for state in ACTION_VIEW_STATES}

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


def now_cell_segment(seg: Segment, now_style: Style) -> Segment:
    """One cell of the now line: a rule in empty space, the bar's own character underlined on a bar."""
    if seg.text.strip() == "":
        return Segment("│", (seg.style or Style()) + now_style)
    return Segment(seg.text, (seg.style or Style()) + Style(underline=True, bold=True))


def now_in_segments(segs: list[Segment], cell: int, now_style: Style) -> list[Segment]:
    """`segs` (single-width characters, as the Gantt draws them) with the now line through `cell`:
    only the segment holding that cell is split, no Strip is cut and joined again."""
    pos = 0
    for k, seg in enumerate(segs):
        n = len(seg.text)
        if pos <= cell < pos + n:
            at = cell - pos
            parts = [Segment(seg.text[:at], seg.style)] if at else []
            parts.append(now_cell_segment(Segment(seg.text[at], seg.style), now_style))
            if at + 1 < n:
                parts.append(Segment(seg.text[at + 1:], seg.style))
            return segs[:k] + parts + segs[k + 1:]
        pos += n
    return segs


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
