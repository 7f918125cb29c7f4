"""Screen 2 — Limits: every limit of FORMATS.md, validated through engine.model.Limits as you type.

A valid form becomes the app's current limits at once (Solve uses them); an
invalid field is outlined and its message shown beside it. Limit sets are
saved and loaded by name in the store.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Select, Static

from console.actions import bindings_for
from console.screens.base import ConsoleScreen
from console.screens.ask import AskScreen
from console.screens.confirm import ConfirmScreen
from console.widgets.typed_input import TypedInput
from engine.model import Limits

# (path in the limits document, label, kind): kind is "num" (blank = default / no limit), "bool",
# "choice:<a>|<b>", or "map" (customer=limit, …).
SECTIONS: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    ("Capacity", (
        ("capacity.headroom.cpu", "headroom cpu (0–1)", "num"),
        ("capacity.headroom.memory_gb", "headroom memory (0–1)", "num"),
        ("capacity.headroom.disk_gb", "headroom disk (0–1)", "num"),
        ("capacity.rolling", "rolling: rebooted hosts receive", "bool"),
    )),
    ("Concurrency (blank = no limit)", (
        ("concurrency.per_source_host", "per source host", "num"),
        ("concurrency.per_target_host", "per target host", "num"),
        ("concurrency.per_rack", "per rack", "num"),
        ("concurrency.per_datacenter", "per datacenter", "num"),
        ("concurrency.global", "fleet-wide", "num"),
        ("concurrency.max_hosts_down_per_rack", "hosts down per rack", "num"),
    )),
    ("Customer conflict", (
        ("conflict.per_customer", "per customer (default)", "num"),
        ("conflict.per_customer_fraction", "fraction of its VMs (0–1)", "num"),
        ("conflict.overrides", "overrides: acme=3, beta=1", "map"),
    )),
    ("Migration", (
        ("migration.gb_per_minute", "GB per minute", "num"),
        ("migration.default_gbps", "default Gbps per VM", "num"),
    )),
    ("Placement", (
        ("placement.objective", "objective", "choice:min_hosts|balance"),
        ("placement.max_vms_per_customer_per_host", "VMs per customer per host", "num"),
    )),
    ("Solve", (
        ("solve.time_limit_s", "time limit (s)", "num"),
        ("solve.workers", "workers (blank = all cores)", "num"),
        ("solve.seed", "seed", "num"),
    )),
)
FIELDS = [f for _, fields in SECTIONS for f in fields]


def field_id(path: str) -> str:
    return "lim-" + path.replace(".", "-")


def _get(doc: dict, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _set(doc: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        doc = doc.setdefault(part, {})
    doc[parts[-1]] = value


def display_value(value: Any, kind: str) -> Any:
    if kind == "bool":
        return bool(value)
    if kind == "map":
        return ", ".join(f"{k}={v}" for k, v in (value or {}).items())
    if kind.startswith("choice:"):
        return value
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def parse_map(text: str) -> tuple[dict[str, str], list[str]]:
    out, problems = {}, []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        if "=" not in part:
            problems.append(f"{part!r}: write customer=limit")
            continue
        key, value = (s.strip() for s in part.split("=", 1))
        if not key:
            problems.append(f"{part!r}: the customer id is empty")
        else:
            out[key] = value
    return out, problems


def number_or_text(text: str) -> Any:
    """Typed text → int or float as JSON would hold it; anything else stays text for the model to reject."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def problem_field(problem: str) -> tuple[str, str]:
    """"concurrency field per_datacenter: too large" → ("concurrency.per_datacenter", "too large"):
    the form field a problem of `engine.documents.parse_limits` is about (its longest known prefix)."""
    where, _, message = problem.partition(": ")
    parts = where.replace(" field ", ".").split(".")
    known = {f[0] for f in FIELDS}
    for n in range(len(parts), 0, -1):
        path = ".".join(parts[:n])
        if path in known:
            rest = ".".join(parts[n:])
            return path, message + (f" ({rest})" if rest else "")
    return FIELDS[0][0], problem


def validate_form(values: dict[str, Any]) -> tuple[Optional[Limits], dict[str, str]]:
    """Form values (by path) → (Limits or None, {path: message}), through the same
    `engine.documents.parse_limits` the CLI uses for limits files and saved sets."""
    from engine.documents import DocumentError, parse_limits

    doc: dict = {}
    errors: dict[str, str] = {}
    for path, _label, kind in FIELDS:
        value = values.get(path)
        if kind == "map":
            mapping, problems = parse_map(value or "")
            if problems:
                errors[path] = "; ".join(problems)
            _set(doc, path, {k: number_or_text(v) for k, v in mapping.items()})
        elif kind == "num":
            text = (value or "").strip()
            if text:
                _set(doc, path, number_or_text(text))
        else:
            _set(doc, path, value)
    try:
        limits = parse_limits(doc, "limits form")
    except DocumentError as exc:
        for problem in exc.problems:
            path, message = problem_field(problem)
            errors.setdefault(path, message)
        return None, errors
    return (None if errors else limits), errors


class PickScreen(ModalScreen[Optional[str]]):
    DEFAULT_CSS = """
    PickScreen { align: center middle; }
    PickScreen > Vertical { width: 56; height: auto; max-height: 80%; border: thick $accent; background: $surface; padding: 1 2; }
    PickScreen OptionList { height: auto; max-height: 20; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, names: list[str]) -> None:
        super().__init__()
        self.title_text, self.names = title, names

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text)
            yield OptionList(*self.names, id="pick-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.names[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


def placeholder(path: str, kind: str) -> str:
    """What a blank field means: the default that will be used (never "no limit" for a default of 30 s)."""
    if kind != "num":
        return ""
    default = _get(Limits().to_json_dict(), path)
    if default is None:
        return "all cores" if path == "solve.workers" else "no limit"
    return f"{display_value(default, kind)} (default)"


class LimitsScreen(ConsoleScreen):
    SCOPE = "limits"
    BINDINGS = bindings_for("limits")

    def __init__(self) -> None:
        super().__init__()
        self._filling = False
        self._shown_errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        with Horizontal(id="limits-body"):
            with VerticalScroll(id="limits-form"):
                for title, fields in SECTIONS:
                    yield Static(title, classes="limits-section")
                    for path, label, kind in fields:
                        with Horizontal(classes="limit-row"):
                            yield Static(label, classes="limit-label")
                            wid = field_id(path)
                            if kind == "bool":
                                yield Select([("yes", True), ("no", False)], allow_blank=False, id=wid,
                                             compact=True)
                            elif kind.startswith("choice:"):
                                options = kind.split(":", 1)[1].split("|")
                                yield Select([(o, o) for o in options], allow_blank=False, id=wid, compact=True)
                            else:
                                yield TypedInput(id=wid, placeholder=placeholder(path, kind), compact=True)
                            yield Static("", classes="limit-error", id=wid + "-error")
            with Vertical(id="limits-side"):
                yield Static("", id="limits-status")
                yield Static("", id="limits-json")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.fill(self.app.limits)
        self.watch(self.app, "limits_version", self._limits_changed, init=False)

    def _limits_changed(self, _v: int) -> None:
        """Limits set outside the form (a set loaded at start-up) are shown. Changes the form made
        itself never refill it: a refill between two keystrokes would put back a value the operator
        had just deleted (issue 12, defect 1)."""
        if self.app.limits_problems or validate_form(self.form_values())[0] == self.app.limits:
            self._show_status(self.app.limits if not self.app.limits_problems else None, self._shown_errors)
            return
        if not self.app.limits_from_form:
            self.fill(self.app.limits)

    # ------------------------------------------------------------------ form

    def fill(self, limits: Limits) -> None:
        doc = limits.to_json_dict()
        self._filling = True
        try:
            for path, _label, kind in FIELDS:
                widget = self.query_one(f"#{field_id(path)}")
                widget.value = display_value(_get(doc, path), kind)
        finally:
            self._filling = False
        self.call_after_refresh(self.revalidate)

    def form_values(self) -> dict[str, Any]:
        return {path: self.query_one(f"#{field_id(path)}").value for path, _l, _k in FIELDS}

    def revalidate(self) -> Optional[Limits]:
        """Validate what is on screen now; valid or not, the app's limits follow the form at once."""
        limits, errors = validate_form(self.form_values())
        for path, _label, kind in FIELDS:
            wid = field_id(path)
            message = errors.get(path, "")
            self.query_one(f"#{wid}-error", Static).update(message)
            self.query_one(f"#{wid}").set_class(bool(message), "-invalid")
        labels = {path: label for path, label, _k in FIELDS}
        problems = [f"{labels.get(path, path)}: {message}" for path, message in errors.items()]
        self._shown_errors = errors
        if (limits is not None and limits != self.app.limits) or problems != self.app.limits_problems:
            self.app.form_limits(limits, problems)
        self._show_status(limits, errors)
        return limits

    def _show_status(self, limits: Optional[Limits], errors: dict[str, str]) -> None:
        status = self.query_one("#limits-status", Static)
        if limits is None:
            labels = {path: label for path, label, _k in FIELDS}
            text = Text(f"✗ {len(errors)} problem(s): Solve will not start until they are fixed", style="bold red")
            for path, message in errors.items():
                text.append(f"\n• {labels.get(path, path)}: ", style="bold")
                text.append(message, style="red")
            status.update(text)
        else:
            text = Text.assemble(("✓ valid", "bold green"), " — used by Solve as ",
                                 (f"limits {self.app.limits_label}", "bold yellow" if self.app.limits_modified else "bold"),
                                 "\nctrl+s save · ctrl+o load · ctrl+r defaults · esc leave field")
            unknown = self._unknown_customers(limits)
            if unknown:
                text.append(f"\n⚠ overrides name customers not in the fleet: {', '.join(unknown)}", style="yellow")
            status.update(text)
        shown = limits or self.app.limits
        self.query_one("#limits-json", Static).update(
            Syntax(json.dumps(shown.model_dump(mode="json", by_alias=True, exclude_defaults=True), indent=1),
                   "json", background_color="default", word_wrap=True))

    def _unknown_customers(self, limits: Limits) -> list[str]:
        snapshot = self.app.snapshot
        if snapshot is None:
            return []
        return sorted(c for c in limits.conflict.overrides if c not in snapshot.customer_by_id)

    def on_input_changed(self, event: Input.Changed) -> None:
        if not self._filling:
            self.revalidate()

    def on_select_changed(self, event: Select.Changed) -> None:
        if not self._filling:
            self.revalidate()

    # ------------------------------------------------------------------ actions

    def action_blur(self) -> None:
        if self.focused is not None:
            self.set_focus(None)
        else:
            self.app.action_back()

    def action_reset(self) -> None:
        if validate_form(self.form_values())[0] == Limits():
            self.notify("every limit is already at its default", timeout=2)
            return
        self.app.push_screen(
            ConfirmScreen("Reset every limit to its default?\nThe form's values are replaced "
                          f"(the saved set {self.app.limits_name!r} is not changed)." if self.app.limits_name
                          else "Reset every limit to its default?\nThe form's values are replaced.",
                          yes="Reset"),
            lambda yes: yes and self._reset())

    def _reset(self) -> None:
        self.fill(Limits())

    def action_save(self) -> None:
        limits = self.revalidate()
        if limits is None:
            self.notify("fix the limits first", severity="error")
            return

        def named(name: Optional[str]) -> None:
            if not name:
                return
            if name in self._known_sets:
                self.app.push_screen(ConfirmScreen(f"Replace the limit set {name!r}?", yes="Replace"),
                                     lambda yes: yes and self._save(name, limits))
            else:
                self._save(name, limits)

        self._known_sets: list[str] = []
        self._with_sets(lambda names: (setattr(self, "_known_sets", names),
                                       self.app.push_screen(AskScreen("Save these limits as:",
                                                                       self.app.limits_name or ""), named)))

    def action_load(self) -> None:
        def picked(name: Optional[str]) -> None:
            if not name:
                return
            if self.app.limits_modified:
                self.app.push_screen(ConfirmScreen(f"Load {name!r} over your unsaved edits?\n"
                                                   f"The form now differs from {self.app.limits_name or 'the defaults'}.",
                                                   yes="Load"), lambda yes: yes and self._load(name))
            else:
                self._load(name)

        def show(names: list[str]) -> None:
            if not names:
                self.notify("no saved limit sets yet (ctrl+s saves one)", severity="warning")
                return
            self.app.push_screen(PickScreen("Load a limit set:", names), picked)

        self._with_sets(show)

    @work(thread=True, group="limit-sets")
    def _with_sets(self, then) -> None:
        try:
            names = self.app.data.list_limit_sets()
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(then, names)

    @work(thread=True, group="limit-sets")
    def _save(self, name: str, limits: Limits) -> None:
        try:
            self.app.data.save_limits(name, limits)
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), title="not saved", severity="error")
            return
        self.app.call_from_thread(self.app.set_limits, limits, name)
        self.app.call_from_thread(self.notify, f"saved limit set {name!r}", timeout=3)
        self.app.call_from_thread(self.revalidate)

    def _loaded(self, limits: Limits, name: str) -> None:
        self.app.set_limits(limits, name)
        self.fill(limits)

    @work(thread=True, group="limit-sets")
    def _load(self, name: str) -> None:
        try:
            limits = self.app.data.load_limits(name)
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), title="not loaded", severity="error")
            return
        self.app.call_from_thread(self._loaded, limits, name)
        self.app.call_from_thread(self.notify, f"loaded limit set {name!r}", timeout=3)

    # ------------------------------------------------------------------ what-if

    def action_sweep(self) -> None:
        """w: solve this fleet for a range of one limit (background runs) and plot the makespan."""
        if self.app.limits_problems:
            self.notify("fix the limits first: a sweep starts from the form's limits", severity="error")
            return
        self.app.push_screen(AskScreen("What-if sweep — solve the fleet for each value of one limit:",
                                       "conflict.per_customer=1..4",
                                       hint="LIMIT=FROM..TO[:STEP], e.g. concurrency.per_rack=4..12:2 · "
                                            "enter queue the runs · esc cancel"), self._sweep_asked)

    def _sweep_asked(self, spec: Optional[str]) -> None:
        from console.screens.sweep import Sweep, limits_with, parse_sweep

        if not spec:
            return
        try:
            path, values = parse_sweep(spec)
            variants = [limits_with(self.app.limits, path, v) for v in values]
        except ValueError as exc:
            self.notify(str(exc).splitlines()[0], title="no sweep", severity="error", timeout=8)
            return
        self._queue_sweep(Sweep(path, values), variants, self.app.limits_label)

    @work(thread=True, group="sweep")
    def _queue_sweep(self, sweep, variants: list, label: str) -> None:
        from console.screens.sweep import SweepScreen

        options = {"solver": "cp-sat", "time_limit_s": self.app.limits.solve.time_limit_s}
        for value, limits in zip(sweep.values, variants):
            try:
                run_id = self.app.data.start_run("maintenance", limits, dict(options), None,
                                                 limits_name=f"{label} what-if {sweep.path}={value}")
            except Exception as exc:  # noqa: BLE001 - the screen says which values were not queued
                self.app.call_from_thread(self.notify, f"{sweep.path}={value}: {exc}", title="not queued",
                                          severity="error", timeout=8)
                run_id = None
            sweep.run_ids.append(run_id)
        self.app.call_from_thread(self.app.push_screen, SweepScreen(sweep))
