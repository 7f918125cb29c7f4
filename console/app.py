"""The fleetctl operations console (Textual).

State lives here and only the UI thread changes it: thread workers read the
store and hand results back with `call_from_thread`; screens watch the app's
version counters (`fleet_version`, `plan_version`, `progress_version`, …) and
redraw. Solves never run in this process: `start_run` queues a run in the runs
store and a worker process executes it; this app polls its progress at most
five times a second, one poll at a time.
"""

from __future__ import annotations

import gc
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Iterable, Optional

from textual import work
from textual.app import App, SystemCommand
from textual.reactive import reactive
from textual.screen import Screen

from console.actions import SCREENS, bindings_for, default_keymap_paths, load_keymap
from console.console_data import ConsoleData, MemoryData, StoreData, host_rows, plan_from_dict
from engine.model import Limits, MaintenancePlan

POLL_INTERVAL_S = 0.2  # ≤ 5 progress polls per second
BIG_FLEET_VMS = 20_000  # from here the fleet is read with the cyclic GC paused (see no_cyclic_gc)
THEMES = ("textual-dark", "nord", "gruvbox", "tokyo-night", "textual-light")


class FleetConsole(App):
    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "fleetctl"
    BINDINGS = bindings_for("app")
    COMMAND_PALETTE_BINDING = "ctrl+p"

    fleet_version: reactive[int] = reactive(0, init=False)
    limits_version: reactive[int] = reactive(0, init=False)
    plan_version: reactive[int] = reactive(0, init=False)
    runs_version: reactive[int] = reactive(0, init=False)
    progress_version: reactive[int] = reactive(0, init=False)
    origin_version: reactive[int] = reactive(0, init=False)
    hosts_version: reactive[int] = reactive(0, init=False)  # a host summary arrived before the snapshot  # the fleet's hash is known / the shown plan changed

    def __init__(self, data: Optional[ConsoleData] = None, *, db_path: Optional[Path] = None,
                 keymap_path: Optional[Path] = None, start_mode: str = "fleet",
                 poll_interval: float = POLL_INTERVAL_S, limits_name: Optional[str] = None,
                 settings_path: Optional[Path] = None) -> None:
        super().__init__()
        self._settings_path = settings_path  # None: nothing is remembered (tests, embedding)
        self.settings: dict = {}  # the user's console settings (theme, default executor), when a path is given
        if data is None:
            data = StoreData(db_path) if db_path is not None else MemoryData()
        self.data = data
        self.snapshot = None
        self.load_error: Optional[str] = None
        self.limits = Limits()  # what Solve uses: always exactly the Limits form when the form is valid
        self.limits_name: Optional[str] = None
        self.limits_base = Limits()  # the named set as saved (defaults when none): "modified" is relative to it
        self.limits_problems: list[str] = []  # the form's problems: Solve refuses to start while there are some
        self.limits_from_form = False  # the last change came from the Limits form itself (never refill it)
        self.shown_plan: Any = None
        self.shown_label = "no run"
        self.shown_run_id: Optional[int] = None
        self.shown_input_key: Optional[str] = None  # the shown run's snapshot hash (plans without `inputs`)
        self.fleet_sha256: Optional[str] = None  # engine.fingerprint hash of the fleet loaded now
        self.host_summary: Optional[list] = None  # hosts with their load, while the snapshot still loads
        self.fleet_hosts: Optional[list] = None  # host_rows(self.snapshot) when the loader computed them
        self.host_summary_painted: Optional[threading.Event] = None  # set when the summary's table is painted
        self.active_run_id: Optional[int] = None
        self.active_run = None
        self.active_events: list = []
        self.poll_interval = poll_interval
        self._polling = False
        self._last_poll = 0.0
        self._poll_backoff_until = 0.0
        self._shown_plan_key: Any = None
        self._mode_history: list[str] = []
        self._start_mode = start_mode
        self.keymap: dict[str, str] = {}
        self._keymap_path = keymap_path
        self.first_frame_at: Optional[float] = None
        self._initial_limits = limits_name

    # ------------------------------------------------------------------ lifecycle

    def get_default_screen(self) -> Screen:
        from textual.screen import Screen as Blank

        return Blank()

    def on_mount(self) -> None:
        for mode, _key, _title in SCREENS:
            self.add_mode(mode, _screen_factory(mode))
        self._apply_keymap()
        self._apply_settings()
        self.switch_mode(self._start_mode)
        self.call_after_refresh(self.load_fleet)  # paint the first frame before reading the fleet
        if self._initial_limits:
            self._load_initial_limits(self._initial_limits)
        self.set_interval(self.poll_interval, self._poll_tick)
        self.call_after_refresh(self._mark_first_frame)

    def _mark_first_frame(self) -> None:
        if self.first_frame_at is None:
            self.first_frame_at = time.perf_counter()

    def _apply_keymap(self) -> None:
        paths = [self._keymap_path] if self._keymap_path else default_keymap_paths()
        problems: list[str] = []
        for path in paths:
            keymap, bad = load_keymap(path)
            self.keymap.update(keymap)
            problems += bad
        if self.keymap:
            self.set_keymap(self.keymap)
        for p in problems:
            self.notify(p, title="keymap", severity="warning", timeout=8)

    def _apply_settings(self) -> None:
        """The theme the operator chose last time (user config, beside keymap.toml)."""
        from console.settings import load_settings

        if self._settings_path is None:
            return
        settings, problem = load_settings(self._settings_path)
        self.settings = settings
        if problem:
            self.notify(problem, title="settings", severity="warning", timeout=8)
        if settings.get("theme") in self.available_themes:
            self.theme = settings["theme"]
        self.theme_changed_signal.subscribe(self, self._theme_chosen)

    def _theme_chosen(self, theme) -> None:
        from console.settings import save_settings

        problem = save_settings(self._settings_path, {"theme": theme.name})
        if problem:
            self.notify(problem, title="theme not remembered", severity="warning", timeout=6)

    @property
    def context_line(self) -> str:
        parts = [self.data.label]
        if self.snapshot is not None:
            parts.append(f"{self.snapshot.name or 'fleet'}: {len(self.snapshot.hosts)} hosts, {len(self.snapshot.vms)} VMs")
        parts.append(f"limits {self.limits_label}")
        if self.active_run is not None:
            parts.append(f"run {self.active_run.id} {self.active_run.status}")
        return " · ".join(p for p in parts if p)

    def refresh_context(self) -> None:
        from console.widgets.nav_bar import NavBar

        for bar in self.screen.query(NavBar):
            bar.update_context(self.context_line)

    # ------------------------------------------------------------------ fleet

    def load_fleet(self) -> None:
        self._load_fleet()

    @work(thread=True, exclusive=True, group="fleet")
    def _load_fleet(self) -> None:
        hosts = None
        if self.snapshot is None:  # first load: the host table first, from a cheap summary
            try:
                hosts = self.data.host_summaries()
            except Exception:  # noqa: BLE001 - the full read below reports what is wrong
                hosts = None
            if hosts:
                painted = threading.Event()
                self.call_from_thread(self._hosts_summarised, hosts, painted)
                # The whole snapshot is pure-Python work that holds the GIL: start it once the
                # table is on screen, not while the UI thread is painting it (bounded wait).
                painted.wait(timeout=2.0)
        big = self.snapshot is not None and len(self.snapshot.vms) >= BIG_FLEET_VMS or \
            sum(h.vms for h in hosts or ()) >= BIG_FLEET_VMS
        with no_cyclic_gc() if big else nullcontext():
            try:
                snapshot, error = self.data.snapshot(), None
                rows = None
                if snapshot is not None:  # here, not on the UI thread: 1.5 s at 100k VMs
                    rows = host_rows(snapshot)
                    snapshot.vms_by_host, snapshot.host_by_id, snapshot.vm_by_id  # noqa: B018 - warm the cached indexes screens read
            except Exception as exc:  # an unreadable database must not kill the console
                snapshot, error, rows = None, f"cannot read the fleet: {exc}", None
        self.call_from_thread(self._fleet_loaded, snapshot, error, rows)
        if snapshot is not None:  # after the first paint: 2 s at 100k VMs on a busy 2-core machine
            sha = self.fleet_sha256 or self.data.fleet_sha256(snapshot)  # the same snapshot: known already
            self.call_from_thread(self._fleet_fingerprinted, snapshot, sha)
            self._reopen_latest(sha)
        else:
            self._reopen_latest(None)

    def _reopen_latest(self, fleet_sha: Optional[str]) -> None:
        """Worker thread, at start and after a reload: a run in progress is followed; otherwise the
        latest run of this fleet is shown again on Solve / Schedule /
        Allocation, as it was when the console closed."""
        try:
            runs = self.data.list_runs(limit=50)
            live = [r for r in runs if r.status in ("running", "queued")]
            if live:
                self.call_from_thread(self.follow_existing, max(r.id for r in live))
                return
            latest = next((r for r in runs if fleet_sha is not None and run_input_key(r) == fleet_sha), None)
            if latest is None:
                return
            run = self.data.get_run(latest.id)
            events = self.data.run_progress(latest.id)
            plan = plan_from_dict(run.plan) if run is not None else None
        except Exception:  # noqa: BLE001 - an unreadable runs store shows up on Runs, with its message
            return
        if run is not None:
            self.call_from_thread(self._reopened, run, events, plan)

    def _reopened(self, run, events: list, plan) -> None:
        if self.active_run_id is not None or self.active_run is not None:
            return  # the operator started or opened something meanwhile
        self.active_run, self.active_events = run, list(events)
        self.progress_version += 1
        if plan is not None and self.shown_plan is None:
            self.show_plan(plan, f"run {run.id} ({run.kind}, {run.status})", run.id, run_input_key(run))
        self.refresh_context()

    def follow_existing(self, run_id: int) -> None:
        if self.active_run_id is None and (self.active_run is None or self.active_run.terminal):
            self.watch_run(run_id)

    def _hosts_summarised(self, hosts: list, painted: Optional[threading.Event] = None) -> None:
        """The Fleet screen sets `painted` once its table with these hosts is on screen (another
        start screen: at once) — the loader holds the snapshot read until then."""
        self.host_summary_painted = painted
        self.host_summary = hosts
        self.hosts_version += 1
        if painted is not None and self.current_mode != "fleet":
            painted.set()

    def _fleet_loaded(self, snapshot, error: Optional[str], rows: Optional[list] = None) -> None:
        if snapshot is not self.snapshot:
            self.fleet_sha256 = None  # unknown until hashed: no screen claims a match meanwhile
        self.snapshot, self.load_error = snapshot, error
        self.fleet_hosts = rows  # host_rows(snapshot), computed by the loader off the UI thread
        self.fleet_version += 1
        self.origin_version += 1
        self.refresh_context()

    def _fleet_fingerprinted(self, snapshot, sha: str) -> None:
        if snapshot is self.snapshot:
            self.fleet_sha256 = sha
            self.origin_version += 1

    def plan_origin_problem(self, plan: Any = None, input_key: Optional[str] = None) -> Optional[str]:
        """Why `plan` (default: the shown plan) must not be taken for a plan of the fleet loaded now,
        or None when it was made for this fleet or cannot be checked (no fleet, a capacity plan)."""
        if plan is None:
            plan, input_key = self.shown_plan, self.shown_input_key
        if plan is None or self.snapshot is None:
            return None
        inputs = getattr(plan, "inputs", None)
        made_for = inputs.snapshot_sha256 if inputs is not None and inputs.snapshot_sha256 else input_key
        if made_for is None:
            return None
        if self.fleet_sha256 is None:
            return "checking that this plan was made for the fleet loaded now…"
        if made_for == self.fleet_sha256:
            return None
        return (f"MADE FOR ANOTHER FLEET: this plan's snapshot ({made_for[:12]}) is not the fleet loaded now "
                f"({self.fleet_sha256[:12]}, {self.snapshot.name or 'fleet'}). Its hosts, VMs and customers may "
                f"not exist: do not run it. l opens the latest run of this fleet.")

    def plan_snapshot(self, plan: Any = None, input_key: Optional[str] = None) -> Any:
        """The fleet to read `plan`'s VMs and customers from (default: the shown plan): the fleet
        loaded now when the plan was made for it or cannot be checked, else None (another fleet, or
        not yet checked) — numbers such as per-customer peaks must then say they are unavailable."""
        return self.snapshot if self.plan_origin_problem(plan, input_key) is None else None

    @work(thread=True, group="limits")
    def _load_initial_limits(self, name: str) -> None:
        try:
            limits = self.data.load_limits(name)
        except Exception as exc:
            self.call_from_thread(self.notify, f"limit set {name!r}: {exc}", severity="error", timeout=8)
            return
        self.call_from_thread(self._initial_limits_loaded, limits, name)

    def _initial_limits_loaded(self, limits: Limits, name: str) -> None:
        self.set_limits(limits, name)

    def set_limits(self, limits: Limits, name: Optional[str] = None) -> None:
        """Limits from outside the form (a set loaded or saved, defaults): the new named base."""
        self.limits = self.limits_base = limits
        self.limits_name = name
        self.limits_problems = []
        self.limits_from_form = False
        self.limits_version += 1
        self.refresh_context()

    def form_limits(self, limits: Optional[Limits], problems: list[str]) -> None:
        """The Limits form changed: valid → these are the limits in use; invalid → none are
        (Solve refuses until the form is fixed, so a solve never uses numbers not on screen)."""
        if limits is not None:
            self.limits = limits
        self.limits_problems = list(problems)
        self.limits_from_form = True
        self.limits_version += 1
        self.refresh_context()

    @property
    def limits_modified(self) -> bool:
        return bool(self.limits_problems) or self.limits != self.limits_base

    @property
    def limits_label(self) -> str:
        """What the header and Solve call the limits in use: the set's name, and whether the form differs."""
        name = self.limits_name or "defaults"
        if self.limits_problems:
            return f"{name} (invalid edits)"
        return f"{name} (modified)" if self.limits_modified else name

    # ------------------------------------------------------------------ navigation

    def action_open_screen(self, mode: str) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if mode != self.current_mode:
            self._mode_history.append(self.current_mode)
            del self._mode_history[:-20]
            self.switch_mode(mode)

    def action_back(self) -> None:
        """esc: first close what has the keyboard (a filter or find bar, a form field), then go back.
        Focus never stays in a field that would swallow the screen's keys (s, c, …)."""
        from textual.widgets import Input

        from console.widgets.filter_bar import FilterBar

        focused = self.focused
        if isinstance(focused, FilterBar):
            focused.action_clear_filter()
            return
        if isinstance(focused, Input):
            self.screen.set_focus(None)
            return
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self._mode_history:
            self.switch_mode(self._mode_history.pop())

    def action_help(self) -> None:
        from console.screens.help import HelpScreen

        scope = getattr(self.screen, "SCOPE", "") or (self.current_mode or "")
        self.push_screen(HelpScreen(scope, self.keymap))

    async def action_quit(self) -> None:
        """q: quitting with edited, unsaved limits asks first (the edits would be lost)."""
        if not self.limits_modified:
            self.exit()
            return
        from console.screens.confirm import ConfirmScreen

        self.push_screen(ConfirmScreen(f"Quit with unsaved limit edits ({self.limits_label})?\n"
                                       "ctrl+s on Limits (2) saves them as a set.", yes="Quit"),
                         lambda yes: yes and self.exit())

    def action_next_theme(self) -> None:
        current = self.theme if self.theme in THEMES else THEMES[-1]
        self.theme = THEMES[(THEMES.index(current) + 1) % len(THEMES)]
        self.notify(f"theme {self.theme}", timeout=1.5)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette lists the registry's actions for the app and this screen."""
        from functools import partial

        from console.actions import display_keys, palette_entries

        scope = getattr(screen, "SCOPE", "")
        for spec in palette_entries(scope):
            action = spec.action
            if spec.scope == "app" or action.startswith("app."):
                target, action = self, action.removeprefix("app.")
            else:
                target = screen
            title = spec.description
            if spec.id.startswith("app.screen_"):
                title = f"Go to {spec.description}"
            yield SystemCommand(title, f"{display_keys(spec, self.keymap)}  ·  {spec.id}",
                                partial(self.run_action, action, target))
        for command in super().get_system_commands(screen):
            if command.title in ("Theme", "Keys"):
                yield command
        yield SystemCommand("Screenshot", "Save an SVG of this screen in the working directory",
                            self.action_save_screenshot)

    def action_save_screenshot(self) -> None:
        """Palette "Screenshot": an SVG in the working directory, or the reason it could not be written."""
        from console.screens.export import default_runbook_path

        path = default_runbook_path(self.snapshot.name if self.snapshot else None, None, "screenshot")
        path = path.with_suffix(".svg")
        try:
            from console.output_files import write_atomic

            write_atomic(path, self.export_screenshot())
        except OSError as exc:
            self.notify(f"no screenshot: {exc}", severity="error", timeout=8)
            return
        self.notify(f"screenshot saved to {path}", timeout=6)

    # ------------------------------------------------------------------ plans shown

    def show_plan(self, plan: Any, label: str, run_id: Optional[int] = None, input_key: Optional[str] = None) -> None:
        self.shown_plan = plan
        self.shown_label = label
        self.shown_run_id = run_id
        self.shown_input_key = input_key
        self.plan_version += 1
        self.origin_version += 1

    def open_run(self, run_id: int) -> None:
        self._open_run(run_id)

    @work(thread=True, group="open-run")
    def _open_run(self, run_id: int) -> None:
        try:
            run = self.data.get_run(run_id)
            plan = plan_from_dict(run.plan) if run is not None else None
        except Exception as exc:  # the store is busy or broken: tell the operator, keep the console
            self.call_from_thread(self.notify, f"cannot open run {run_id}: {exc}", severity="error")
            return
        self.call_from_thread(self._run_opened, run_id, run, plan)

    def _run_opened(self, run_id: int, run, plan) -> None:
        if run is None:
            self.notify(f"run {run_id} not found", severity="error")
            return
        if plan is None:
            self.notify(f"run {run_id} ({run.status}) has no plan yet", severity="warning")
            if run.status in ("queued", "running"):
                self.watch_run(run_id)
                self.action_open_screen("solve")
            return
        self.show_plan(plan, f"run {run_id} ({run.kind}, {run.status})", run_id, run_input_key(run))
        self.action_open_screen("schedule" if isinstance(plan, MaintenancePlan) else "allocation")

    def show_latest_run(self, kind: str) -> None:
        self._latest_run(kind)

    @work(thread=True, group="open-run")
    def _latest_run(self, kind: str) -> None:
        try:
            self._find_latest(kind)
        except Exception as exc:
            self.call_from_thread(self.notify, f"cannot read the runs: {exc}", severity="error")

    def _find_latest(self, kind: str) -> None:
        for run in self.data.list_runs(limit=50):
            if run.kind == kind and (run.objective is not None or run.status in ("succeeded", "cancelled")):
                full = self.data.get_run(run.id)
                plan = plan_from_dict(full.plan) if full is not None else None
                if plan is not None:
                    self.call_from_thread(self.show_plan, plan, f"run {run.id} ({run.kind}, {run.status})", run.id,
                                          run_input_key(run))
                    return
        self.call_from_thread(self.notify, f"no {kind} run with a plan yet", severity="warning")

    # ------------------------------------------------------------------ runs

    def start_run(self, kind: str, options: dict, problem_path: Optional[str] = None) -> None:
        if self.limits_problems:
            self.notify("; ".join(self.limits_problems), title="fix the limits first", severity="error", timeout=8)
            return
        self._start_run(kind, self.limits, dict(options), problem_path, self.limits_label)

    @work(thread=True, group="start-run")
    def _start_run(self, kind: str, limits: Limits, options: dict, problem_path: Optional[str],
                   limits_name: Optional[str] = None) -> None:
        try:
            run_id = self.data.start_run(kind, limits, options, problem_path, limits_name=limits_name)
        except Exception as exc:  # refused by the store: show why, change nothing
            self.call_from_thread(self.notify, str(exc), title="cannot start", severity="error", timeout=8)
            return
        self.call_from_thread(self.watch_run, run_id)

    def watch_run(self, run_id: int) -> None:
        """Follow `run_id`: progress on Solve, its plan on Schedule / Allocation."""
        self.active_run_id = run_id
        self.active_run = None
        self.active_events = []
        self._polling = False
        self.progress_version += 1
        self.runs_version += 1
        self.refresh_context()

    def cancel_run(self, run_id: int) -> None:
        self._cancel_run(run_id)

    @work(thread=True, group="cancel-run")
    def _cancel_run(self, run_id: int) -> None:
        try:
            self.data.cancel_run(run_id)
        except Exception as exc:
            self.call_from_thread(self.notify, str(exc), title="cannot cancel", severity="error")
            return
        self.call_from_thread(self.notify, f"cancel requested for run {run_id}", timeout=3)
        self.call_from_thread(self._after_cancel)

    def _after_cancel(self) -> None:
        self.runs_version += 1

    def _poll_tick(self) -> None:
        """Timer: at most one poll in flight (Dolphie-style), at most 1 / poll_interval."""
        if self.active_run_id is None or self._polling or time.monotonic() < self._poll_backoff_until:
            return
        self._polling = True
        since = self.active_events[-1].id if self.active_events else 0
        self._poll(self.active_run_id, since, self._shown_plan_key)

    @work(thread=True, group="poll")
    def _poll(self, run_id: int, since_id: int, shown_key) -> None:
        plan = key = None
        try:
            run = self.data.get_run(run_id)
            events = self.data.run_progress(run_id, since_id)
            if run is not None and run.plan is not None:
                key = plan_key(run.id, run.plan)
                if key != shown_key:  # a new or better plan (final, or an incumbent the store kept)
                    plan = plan_from_dict(run.plan)
        except Exception as exc:
            self.call_from_thread(self._poll_failed, str(exc))
            return
        self.call_from_thread(self._poll_done, run_id, run, events, plan, key)

    def _poll_failed(self, message: str) -> None:
        self._polling = False
        now = time.monotonic()
        if now - self._last_poll > 5:  # one notice per failure streak, not five a second
            self.notify(message, title="runs store", severity="error")
        self._last_poll = now
        self._poll_backoff_until = now + 2.0

    def _poll_done(self, run_id: int, run, events: list, plan, key=None) -> None:
        self._polling = False
        if run_id != self.active_run_id or run is None:
            return
        changed_status = self.active_run is None or self.active_run.status != run.status
        self.active_run = run
        if events:
            self.active_events.extend(events)
        self.progress_version += 1  # elapsed time moves on even without new events
        if plan is not None:
            self._shown_plan_key = key
            self.show_plan(plan, f"run {run.id} ({run.kind}, {run.status})", run.id, run_input_key(run))
        elif changed_status and self.shown_run_id == run.id and self.shown_plan is not None:
            # the final plan is the incumbent already shown: only its run's status changed — say so
            self.shown_label = f"run {run.id} ({run.kind}, {run.status})"
            self.plan_version += 1
        if changed_status:
            self.runs_version += 1
            self.refresh_context()
        if run.terminal:
            self.active_run_id = None
            from console.screens.details import headline

            self.notify(f"run {run.id} {run.status}" + (f": {headline(run.error)}" if run.error else ""),
                        severity="error" if run.status == "failed" else "information", timeout=5)
            self.refresh_context()


@contextmanager
def no_cyclic_gc():
    """Reading a big fleet allocates millions of objects and no reference cycles; CPython's cyclic
    collector would walk the growing heap again and again meanwhile (0.2–0.4 s full collections
    that stall the UI thread too, freeing nothing: 100k VMs shown after 4.8 s instead of 9–11 s
    on a loaded 2-core machine). Paused for the read; then what was read is moved out of the
    collector's generations (gc.freeze) — re-enabling alone costs a 0.5 s young-generation pass
    and a 1.7 s full one over the new objects. A replaced fleet is still freed by refcount (its
    models hold no cycles); only cyclic garbage that exists at that moment is kept."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


# Each screen's module is imported the first time its screen opens: only the start screen's
# imports stand between launch and the first frame (the others cost ~0.15 s more on 2 cores).
SCREEN_CLASSES = {"fleet": ("console.screens.fleet", "FleetScreen"),
                  "limits": ("console.screens.limits", "LimitsScreen"),
                  "solve": ("console.screens.solve", "SolveScreen"),
                  "schedule": ("console.screens.schedule", "ScheduleScreen"),
                  "allocation": ("console.screens.allocation", "AllocationScreen"),
                  "runs": ("console.screens.runs", "RunsScreen")}


def _screen_factory(mode: str):
    def make() -> Screen:
        import importlib

        module, name = SCREEN_CLASSES[mode]
        return getattr(importlib.import_module(module), name)()

    return make


def run_input_key(run) -> Optional[str]:
    """The hash of the snapshot a maintenance / placement run solved (the runs store keys inputs by
    the sha256 of their canonical JSON, the same as engine.fingerprint.sha256_of the snapshot)."""
    return getattr(run, "input_key", None) if getattr(run, "kind", None) in ("maintenance", "placement") else None


def plan_key(run_id: int, plan: dict) -> tuple:
    """Cheap identity of a stored plan: parse it again only when this changes."""
    solver = plan.get("solver") or {}
    return (run_id, plan.get("status"), plan.get("makespan"), plan.get("value"), plan.get("cost"),
            plan.get("lower_bound"), len(plan.get("migrations") or plan.get("assignments") or []),
            solver.get("wall_s") if isinstance(solver, dict) else None)


def run_console(data: ConsoleData | Path | None, limits_name: Optional[str] = None) -> None:
    import multiprocessing.resource_tracker

    # Spawning a worker process from inside the app fails once Textual has replaced stderr
    # (fileno -1): start the resource tracker now, before the app takes the terminal.
    multiprocessing.resource_tracker.ensure_running()
    if not isinstance(data, ConsoleData):
        data = StoreData(data) if data is not None else MemoryData()
    from console.settings import default_settings_path

    FleetConsole(data, limits_name=limits_name, settings_path=default_settings_path()).run()
