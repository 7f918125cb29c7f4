"""The one action registry: bindings, the command palette and the help screen all read it.

Each action has a stable id (`scope.name`), default keys, a description and a
scope: "app" (everywhere) or the id of a screen. Operators can rebind keys in
`keymap.toml` (or `keymap.json`) in the config directory:

    [keys]
    "fleet.filter" = "f"
    "schedule.zoom_in" = "plus,i"

Ids that do not exist are reported, never silently ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

SCREENS: tuple[tuple[str, str, str], ...] = (
    # (mode id, key, title)
    ("fleet", "1", "Fleet"),
    ("limits", "2", "Limits"),
    ("solve", "3", "Solve"),
    ("schedule", "4", "Schedule"),
    ("allocation", "5", "Allocation"),
    ("runs", "6", "Runs"),
)


@dataclass(frozen=True)
class ActionSpec:
    id: str  # "scope.name", also the Binding id (keymap overrides use it)
    keys: str  # Textual key list, comma separated
    description: str
    action: str  # Textual action string, run in the scope's namespace
    scope: str = "app"
    show: bool = True  # shown in the footer
    palette: bool = True  # offered in the command palette
    key_display: Optional[str] = None
    priority: bool = False
    # When the footer is too narrow for all of a screen's keys, the lowest `footer_keep` hide first
    # (ties: the later in this registry first): a screen's main actions stay at 80 columns.
    footer_keep: int = 0


def _screen_switches() -> list[ActionSpec]:
    return [
        ActionSpec(f"app.screen_{mode}", key, title, f"app.open_screen('{mode}')", show=False)
        for mode, key, title in SCREENS
    ]


ACTIONS: tuple[ActionSpec, ...] = (
    *_screen_switches(),
    ActionSpec("app.help", "question_mark", "Help", "app.help", key_display="?"),
    ActionSpec("app.palette", "colon,ctrl+p", "Commands", "app.command_palette", key_display=": ctrl+p",
               palette=False, show=False),
    ActionSpec("app.back", "escape", "Back", "app.back", show=False),
    ActionSpec("app.theme", "ctrl+t", "Theme", "app.next_theme", show=False),
    ActionSpec("app.quit", "q", "Quit", "app.quit"),
    # Fleet
    ActionSpec("fleet.filter", "slash", "Filter", "filter", scope="fleet", key_display="/", priority=True),
    ActionSpec("fleet.sort", "s", "Sort", "sort_next", scope="fleet"),
    ActionSpec("fleet.reverse", "r", "Reverse", "sort_reverse", scope="fleet"),
    ActionSpec("fleet.reload", "f5", "Reload", "reload", scope="fleet"),
    ActionSpec("fleet.clear", "escape", "Clear filter, else back", "clear_filter", scope="fleet", show=False),
    # Limits
    ActionSpec("limits.save", "ctrl+s", "Save set", "save", scope="limits"),
    ActionSpec("limits.load", "ctrl+o", "Load set", "load", scope="limits"),
    ActionSpec("limits.reset", "ctrl+r", "Defaults", "reset", scope="limits"),
    ActionSpec("limits.sweep", "w", "What-if sweep", "sweep", scope="limits"),
    ActionSpec("limits.blur", "escape", "Leave field", "blur", scope="limits", show=False),
    # Priority: the focus moves before the next key is routed, so fast typing after tab lands in the
    # new field (a plain binding runs after the key bubbles up, and keys typed meanwhile overtook it).
    ActionSpec("limits.next_field", "tab", "Next field", "app.focus_next", scope="limits", show=False,
               palette=False, priority=True),
    ActionSpec("limits.previous_field", "shift+tab", "Previous field", "app.focus_previous", scope="limits",
               show=False, palette=False, priority=True),
    # Solve
    ActionSpec("solve.start", "s", "Start solve", "start", scope="solve"),
    ActionSpec("solve.cancel", "c", "Cancel run", "cancel", scope="solve"),
    ActionSpec("solve.kind", "k", "Kind", "cycle_kind", scope="solve"),
    ActionSpec("solve.solver", "v", "Solver", "cycle_solver", scope="solve"),
    ActionSpec("solve.schedule", "g", "Gantt", "app.open_screen('schedule')", scope="solve"),
    ActionSpec("solve.details", "d", "Error details", "details", scope="solve"),
    ActionSpec("solve.problem", "p", "Problem file", "pick_problem", scope="solve"),
    ActionSpec("solve.executor", "x", "Executor", "edit_executor", scope="solve", show=False),  # labelled on the panel
    ActionSpec("solve.next_field", "tab", "Next field", "app.focus_next", scope="solve", show=False,
               palette=False, priority=True),
    ActionSpec("solve.previous_field", "shift+tab", "Previous field", "app.focus_previous", scope="solve",
               show=False, palette=False, priority=True),
    # Schedule
    ActionSpec("schedule.zoom_in", "plus,equals_sign", "Zoom in", "zoom(-1)", scope="schedule", key_display="+"),
    ActionSpec("schedule.zoom_out", "minus", "Zoom out", "zoom(1)", scope="schedule", key_display="-"),
    ActionSpec("schedule.fit", "0", "Fit", "fit", scope="schedule"),
    ActionSpec("schedule.group", "g", "Group by", "cycle_group", scope="schedule"),
    ActionSpec("schedule.filter", "slash", "Find VM", "filter", scope="schedule", key_display="/", priority=True),
    ActionSpec("schedule.live", "l", "Latest run", "follow_latest", scope="schedule"),
    ActionSpec("schedule.export", "e", "Export CSV", "export_csv", scope="schedule"),
    ActionSpec("schedule.approve", "a", "Approve plan", "approve_plan", scope="schedule", footer_keep=1),
    ActionSpec("schedule.replan", "r", "Replan execution", "replan_execution", scope="schedule", footer_keep=1),
    # Allocation
    ActionSpec("allocation.view", "tab", "Switch table", "cycle_view", scope="allocation", show=True),
    ActionSpec("allocation.filter", "slash", "Filter", "filter", scope="allocation", key_display="/", priority=True),
    ActionSpec("allocation.sort", "s", "Sort", "sort_next", scope="allocation"),
    ActionSpec("allocation.export", "e", "Export moves", "export_moves", scope="allocation"),
    ActionSpec("allocation.clear", "escape", "Clear filter, else back", "clear_filter", scope="allocation",
               show=False),
    # Runs
    ActionSpec("runs.open", "enter", "Open", "open_run", scope="runs"),
    ActionSpec("runs.mark", "space", "Mark", "mark", scope="runs"),
    ActionSpec("runs.compare", "c", "Compare", "compare", scope="runs"),
    ActionSpec("runs.cancel", "x", "Cancel run", "cancel_run", scope="runs"),
    ActionSpec("runs.details", "d", "Error details", "details", scope="runs"),
    ActionSpec("runs.filter", "slash", "Filter", "filter", scope="runs", key_display="/", priority=True),
    ActionSpec("runs.sort", "s", "Sort", "sort_next", scope="runs"),
    ActionSpec("runs.refresh", "f5", "Refresh", "refresh_runs", scope="runs"),
    ActionSpec("runs.clear", "escape", "Clear filter, else back", "clear_filter", scope="runs", show=False),
)

# Keys handled inside widgets: listed on the help screen, not rebindable here.
WIDGET_KEYS: tuple[tuple[str, str, str], ...] = (
    ("tables", "↑ ↓ PgUp PgDn Home End", "move the cursor; click a header to sort"),
    ("tables", "enter", "open the row"),
    ("schedule", "← →", "previous / next bar in the lane"),
    ("schedule", "↑ ↓", "bar in the lane above / below"),
    ("schedule", "shift+← shift+→", "scroll time"),
    ("filter", "enter / esc", "keep the filter / clear it"),
)


def by_id() -> dict[str, ActionSpec]:
    return {a.id: a for a in ACTIONS}


def actions_for(scope: str) -> list[ActionSpec]:
    return [a for a in ACTIONS if a.scope == scope]


def bindings_for(scope: str) -> list:
    """Textual Bindings of one scope (ids make them rebindable through the keymap)."""
    from textual.binding import Binding

    return [Binding(a.keys, _bound_action(a), a.description, show=a.show, key_display=a.key_display,
                    id=a.id, priority=a.priority) for a in actions_for(scope)]


def _bound_action(spec: ActionSpec) -> str:
    """The action string a Binding runs: a screen keeps an explicit `app.`; the app's own drop it."""
    if spec.scope == "app" and spec.action.startswith("app."):
        return spec.action[4:]
    return spec.action


def footer_keep(scope: str) -> dict[str, int]:
    """{bound action: footer_keep} of a screen's keys and the app's (how the footer knows them)."""
    return {_bound_action(a): a.footer_keep for a in ACTIONS if a.scope in ("app", scope)}


def display_keys(spec: ActionSpec, keymap: Optional[dict[str, str]] = None) -> str:
    keys = (keymap or {}).get(spec.id, spec.keys)
    if spec.key_display and spec.id not in (keymap or {}):
        return spec.key_display
    names = {"question_mark": "?", "colon": ":", "slash": "/", "plus": "+", "minus": "-",
             "equals_sign": "=", "escape": "esc", "space": "space"}
    return " ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))


def load_keymap(path: Path) -> tuple[dict[str, str], list[str]]:
    """Read overrides from TOML or JSON: ({id: keys}, [problems])."""
    if not path.exists():
        return {}, []
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            import tomllib

            data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        return {}, [f"{path}: {exc}"]
    table = data.get("keys", data) if isinstance(data, dict) else {}
    known = by_id()
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for action_id, keys in table.items():
        if action_id not in known:
            problems.append(f"{path}: unknown action id {action_id!r}")
        elif not isinstance(keys, str) or not keys.strip():
            problems.append(f"{path}: {action_id}: keys must be a non-empty string")
        else:
            keymap[action_id] = keys
    return keymap, problems


def default_keymap_paths() -> list[Path]:
    from platformdirs import user_config_dir

    base = Path(user_config_dir("fleetctl"))
    return [base / "keymap.toml", base / "keymap.json"]


def palette_entries(screen_scope: Optional[str]) -> Iterable[ActionSpec]:
    for a in ACTIONS:
        if a.palette and (a.scope == "app" or a.scope == screen_scope):
            yield a
