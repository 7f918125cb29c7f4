"""Read Malloovia problem files (YAML) into `engine.capacity.model.Problem`s.

The file has the sections Limiting_sets, Instance_classes, Apps, Workloads,
Performances and Problems; entries refer to each other with YAML anchors and
aliases (`&ic1` ... `*ic1`), which safe loading turns into shared mappings. A
reference may also be an entry's id as a string. A workload gives its values
inline or names a CSV file (one number per line) relative to the YAML file,
which must lie inside the YAML file's folder unless the caller allows files
outside it (a problem file must not read /etc/shadow for whoever solves it).
Files are read through `engine.documents.read_input_text` (bounded, regular
files only) and a workload file's bad line is named by number, never echoed.

Every problem found is reported at once in a `CapacityInputError` (a
`DocumentError`), each naming the entry ("Instance_classes[1] 'ic2'") and field.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from engine.capacity.model import (
    TIME_UNITS,
    App,
    InstanceClass,
    LimitingSet,
    PerformanceSet,
    Problem,
    Workload,
)
from engine.documents import DocumentError, check_depth, read_input_text

SECTIONS = ("Limiting_sets", "Instance_classes", "Apps", "Workloads", "Performances", "Problems")
DISTRIBUTIONS = ("uniform", "poisson", "normal")
MAX_NUMBER = 1e15  # prices, counts, rates: far beyond any real one, far below what overflows a solver


class CapacityInputError(DocumentError):
    """A capacity problem file (or workload file) that cannot be accepted."""


def read_problems(path: str | Path, *, allow_outside_files: bool = False) -> dict[str, Problem]:
    """All problems of a Malloovia YAML file, by id. Raises CapacityInputError.

    `allow_outside_files`: workload files may lie outside the YAML file's folder (absolute paths,
    `..`, symlinks leading out); only on the operator's explicit request."""
    path = Path(path)
    data = _load_yaml(path)
    return _Reader(data, path, allow_outside_files).problems()


def read_problem(path: str | Path, problem_id: str, *, allow_outside_files: bool = False) -> Problem:
    problems = read_problems(path, allow_outside_files=allow_outside_files)
    if problem_id not in problems:
        known = ", ".join(sorted(problems)) or "none"
        raise CapacityInputError(str(path), [f"no problem with id {problem_id!r} (problems in the file: {known})"])
    return problems[problem_id]


def _load_yaml(path: Path) -> Any:
    try:
        text = read_input_text(path)
    except DocumentError as exc:
        raise CapacityInputError(exc.source, exc.problems) from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # safe either way; the C one reads a year 10× faster
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        check_depth(data, str(path))
        return data
    except DocumentError as exc:
        raise CapacityInputError(exc.source, exc.problems) from None
    except RecursionError:
        raise CapacityInputError(str(path), ["nested too deeply"]) from None
    except ValueError as exc:  # a number of more than 4,300 digits, a date like 2026-13-45
        what = "a number is too long (more than 4,300 digits)" if "digits" in str(exc) else str(exc)
        raise CapacityInputError(str(path), [f"invalid YAML: {what}"]) from None
    except yaml.composer.ComposerError as exc:
        if "undefined alias" in str(exc.problem):
            mark = exc.problem_mark
            where = f" at line {mark.line + 1}" if mark else ""
            what = str(exc.problem)
            if mark and "'" not in what:  # the C loader does not name the alias: read it off the line
                line = text.splitlines()[mark.line] if mark.line < len(text.splitlines()) else ""
                found = re.search(r"\*([^\s,\]\}]+)", line[max(0, mark.column - 2):])
                if found:
                    what = f"{what} '{found.group(1)}'"
            raise CapacityInputError(
                str(path),
                [
                    f"{what}{where}: the file refers to an anchor it never defines "
                    "(a Malloovia solutions file must contain, or be merged with, the problems it refers to)"
                ],
            ) from None
        raise CapacityInputError(str(path), [f"invalid YAML: {exc}"]) from None
    except yaml.YAMLError as exc:
        raise CapacityInputError(str(path), [f"invalid YAML: {exc}"]) from None


def _is_number(v: Any) -> bool:
    """A finite number within MAX_NUMBER (a huge int would overflow math.isfinite)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and -MAX_NUMBER <= v <= MAX_NUMBER


def _shown(v: Any) -> str:
    """A short description of a bad value: NaN and Infinity named, long values cut."""
    if isinstance(v, float) and math.isnan(v):
        return "NaN (not a number)"
    if isinstance(v, float) and math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) > MAX_NUMBER:
        return f"{float(v):.6g} (too large, at most {MAX_NUMBER:g})"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "…"


class _Reader:
    """Converts the loaded mapping, memoising each entry by identity (anchors are shared)."""

    def __init__(self, data: Any, path: Path, allow_outside_files: bool = False):
        self.data = data
        self.path = path
        self.allow_outside_files = allow_outside_files
        self.errors: list[str] = []
        self.labels: dict[int, str] = {}
        self.by_id: dict[str, dict[str, dict]] = {s: {} for s in SECTIONS}
        self.done: dict[tuple[str, int], Any] = {}

    # ------------------------------------------------------------------ plumbing
    def fail(self, label: str, message: str) -> None:
        self.errors.append(f"{label}: {message}")

    def label(self, entry: Any, fallback: str) -> str:
        return self.labels.get(id(entry), fallback)

    def problems(self) -> dict[str, Problem]:
        data = self.data
        if not isinstance(data, dict):
            raise CapacityInputError(str(self.path), ["expected a mapping with a Problems section at the top level"])
        if "Problems" not in data:
            hint = " (this looks like a solutions file)" if "Solutions" in data else ""
            raise CapacityInputError(str(self.path), [f"no Problems section{hint}"])
        for key in data:
            if key not in SECTIONS and key not in ("Solutions", "Problems_from_file"):
                self.fail(_shown(key), f"unknown section (expected one of {', '.join(SECTIONS)})")
        for section in SECTIONS:
            entries = data.get(section)
            if entries is None:
                continue
            if not isinstance(entries, list):
                self.fail(section, "must be a list")
                continue
            for i, entry in enumerate(entries):
                rid = entry.get("id") if isinstance(entry, dict) else None
                label = f"{section}[{i}]" + (f" {_shown(rid)}" if rid is not None else "")
                self.labels.setdefault(id(entry), label)
                if isinstance(rid, str):
                    if rid in self.by_id[section]:
                        self.fail(label, f"duplicate id {_shown(rid)} in {section}")
                    self.by_id[section][rid] = entry
        # Convert every entry of every section, so a bad unused entry is still reported.
        makers: dict[str, Callable[[Any, str], Any]] = {
            "Limiting_sets": self.limiting_set,
            "Instance_classes": self.instance_class,
            "Apps": self.app,
            "Workloads": self.workload,
            "Performances": self.performance_set,
        }
        for section, make in makers.items():
            for i, entry in enumerate(data.get(section) or [] if isinstance(data.get(section), list) else []):
                make(entry, self.label(entry, f"{section}[{i}]"))
        problems: dict[str, Problem] = {}
        plist = data["Problems"] if isinstance(data["Problems"], list) else []
        for i, entry in enumerate(plist):
            p = self.problem(entry, self.label(entry, f"Problems[{i}]"))
            if p is not None:
                problems[p.id] = p
        if isinstance(data["Problems"], list) and not data["Problems"]:
            self.fail("Problems", "is empty")
        if self.errors:
            raise CapacityInputError(str(self.path), self.errors)
        return problems

    def resolve(self, ref: Any, section: str, where: str) -> Optional[dict]:
        """A reference is a mapping (alias or inline entry) or the id of an entry of `section`."""
        if isinstance(ref, dict):
            return ref
        if isinstance(ref, str):
            if ref in self.by_id[section]:
                return self.by_id[section][ref]
            self.fail(where, f"refers to {_shown(ref)}, which is not in {section}")
            return None
        self.fail(where, f"must be a reference to an entry of {section} (an alias like *name, or an id), got {_shown(ref)}")
        return None

    def memo(self, kind: str, entry: Any, build: Callable[[], Any]) -> Any:
        key = (kind, id(entry))
        if key not in self.done:
            self.done[key] = None  # guards against cycles
            self.done[key] = build()
        return self.done[key]

    def fields(self, entry: Any, label: str, required: tuple[str, ...], optional: tuple[str, ...]) -> bool:
        if not isinstance(entry, dict):
            self.fail(label, f"must be a mapping, got {type(entry).__name__}")
            return False
        ok = True
        for key in entry:
            if key not in required and key not in optional:
                self.fail(label, f"unknown field {_shown(key)}")
                ok = False
        for key in required:
            if key not in entry:
                self.fail(label, f"required field {key!r} is missing")
                ok = False
        return ok

    def text(self, entry: dict, key: str, label: str, default: Optional[str] = None) -> Optional[str]:
        if key not in entry:
            return default
        value = entry[key]
        if not isinstance(value, str) or not value:
            kind = "a number" if _is_number(value) else _shown(value)
            hint = " (quote it: ids and names must be strings)" if _is_number(value) else ""
            self.fail(label, f"field {key!r} must be a non-empty string, got {kind}{hint}")
            return None
        return value

    def number(self, entry: dict, key: str, label: str, default: Optional[float] = None, positive: bool = False) -> Optional[float]:
        if key not in entry:
            return default
        value = entry[key]
        if isinstance(value, float) and math.isnan(value):
            self.fail(label, f"field {key!r} is not a number (NaN)")
            return None
        if not _is_number(value) or value < 0 or (positive and value == 0):
            need = "a positive number" if positive else "a number ≥ 0"
            self.fail(label, f"field {key!r} must be {need}, got {_shown(value)}")
            return None
        return float(value)

    def unit(self, entry: dict, label: str) -> Optional[str]:
        value = entry.get("time_unit")
        if value not in TIME_UNITS:
            self.fail(label, f"field 'time_unit' must be one of {', '.join(TIME_UNITS)}, got {_shown(value)}")
            return None
        return value

    # ------------------------------------------------------------------ entries
    def limiting_set(self, entry: Any, label: str) -> Optional[LimitingSet]:
        def build():
            if not self.fields(entry, label, ("id",), ("name", "max_vms", "max_cores")):
                return None
            rid = self.text(entry, "id", label)
            name = self.text(entry, "name", label, default=rid)
            max_vms = self.number(entry, "max_vms", label, default=0)
            max_cores = self.number(entry, "max_cores", label, default=0)
            if None in (rid, name, max_vms, max_cores):
                return None
            return LimitingSet(rid, name, max_vms, max_cores)

        return self.memo("ls", entry, build)

    def instance_class(self, entry: Any, label: str) -> Optional[InstanceClass]:
        def build():
            required = ("id", "limiting_sets", "max_vms", "price", "time_unit", "is_reserved")
            if not self.fields(entry, label, required, ("name", "cores", "is_private")):
                return None
            rid = self.text(entry, "id", label)
            name = self.text(entry, "name", label, default=rid)
            max_vms = self.number(entry, "max_vms", label)
            price = self.number(entry, "price", label)
            cores = self.number(entry, "cores", label, default=1, positive=True)
            unit = self.unit(entry, label)
            flags = {}
            for key in ("is_reserved", "is_private"):
                value = entry.get(key, False)
                if not isinstance(value, bool):
                    self.fail(label, f"field {key!r} must be true or false, got {_shown(value)}")
                    return None
                flags[key] = value
            sets = entry["limiting_sets"]
            if not isinstance(sets, list):
                self.fail(label, "field 'limiting_sets' must be a list")
                return None
            resolved = []
            for j, ref in enumerate(sets):
                ls_entry = self.resolve(ref, "Limiting_sets", f"{label} limiting_sets[{j}]")
                if ls_entry is not None:
                    resolved.append(self.limiting_set(ls_entry, self.label(ls_entry, f"{label} limiting_sets[{j}]")))
            if None in (rid, name, max_vms, price, cores, unit) or None in resolved or len(resolved) != len(sets):
                return None
            return InstanceClass(rid, name, tuple(resolved), max_vms, price, unit, flags["is_reserved"], cores, flags["is_private"])

        return self.memo("ic", entry, build)

    def app(self, entry: Any, label: str) -> Optional[App]:
        def build():
            if not self.fields(entry, label, ("id",), ("name",)):
                return None
            rid = self.text(entry, "id", label)
            name = self.text(entry, "name", label, default=rid)
            if rid is None or name is None:
                return None
            return App(rid, name)

        return self.memo("app", entry, build)

    def workload(self, entry: Any, label: str) -> Optional[Workload]:
        def build():
            optional = ("description", "values", "filename", "intra_slot_distribution")
            if not self.fields(entry, label, ("id", "app", "time_unit"), optional):
                return None
            rid = self.text(entry, "id", label)
            unit = self.unit(entry, label)
            description = entry.get("description", "")
            dist = entry.get("intra_slot_distribution", "uniform")
            if dist not in DISTRIBUTIONS:
                self.fail(label, f"field 'intra_slot_distribution' must be one of {', '.join(DISTRIBUTIONS)}, got {_shown(dist)}")
                dist = None
            app_entry = self.resolve(entry["app"], "Apps", f"{label} app")
            app = self.app(app_entry, self.label(app_entry, f"{label} app")) if app_entry is not None else None
            has_values, has_file = "values" in entry, "filename" in entry
            values = None
            filename = None
            if has_values == has_file:
                self.fail(label, "give exactly one of 'values' or 'filename'")
            elif has_values:
                values = self.values(entry["values"], label)
            else:
                filename = self.text(entry, "filename", label)
                if filename is not None:
                    values = self.csv_values(filename, label)
            if None in (rid, unit, dist, app, values):
                return None
            return Workload(rid, app, values, unit, str(description), dist, filename)

        return self.memo("wl", entry, build)

    def values(self, raw: Any, label: str) -> Optional[tuple[float, ...]]:
        if not isinstance(raw, list) or not raw:
            self.fail(label, "field 'values' must be a non-empty list of numbers")
            return None
        bad = [i for i, v in enumerate(raw) if not _is_number(v) or v < 0]
        if bad:
            shown = ", ".join(f"[{i}]={_shown(raw[i])}" for i in bad[:5])
            self.fail(label, f"field 'values' must hold numbers ≥ 0; bad: {shown}" + (" …" if len(bad) > 5 else ""))
            return None
        return tuple(float(v) for v in raw)

    def csv_values(self, filename: str, label: str) -> Optional[tuple[float, ...]]:
        """One number per line (the first cell of a CSV row). A bad line is named by its number
        only: the file's contents never reach a message, a log or the runs table."""
        path = self.workload_path(filename, label)
        if path is None:
            return None
        try:
            lines = read_input_text(path).splitlines()
        except DocumentError as exc:
            self.fail(label, f"cannot read workload file {filename!r}: " + "; ".join(exc.problems))
            return None
        values: list[float] = []
        for n, line in enumerate(lines, start=1):
            cell = line.strip().split(",")[0].strip()
            if not cell:
                continue
            try:
                v = float(cell)
            except ValueError:
                self.fail(label, f"workload file {filename!r} line {n}: not a number")
                return None
            if not math.isfinite(v) or not 0 <= v <= MAX_NUMBER:
                what = "not a number (NaN)" if math.isnan(v) else "not a finite number ≥ 0" if not math.isfinite(v) or v < 0 \
                    else f"too large (at most {MAX_NUMBER:g})"
                self.fail(label, f"workload file {filename!r} line {n}: {what}")
                return None
            values.append(v)
        if not values:
            self.fail(label, f"workload file {filename!r} holds no values")
            return None
        return tuple(values)

    def workload_path(self, filename: str, label: str) -> Optional[Path]:
        """`filename` relative to the YAML file's folder, refused when it leads out of that folder
        (absolute, `..`, or through a symlink) unless files outside were allowed."""
        folder = self.path.parent
        path = folder / filename
        if self.allow_outside_files:
            return path
        try:
            inside = Path(filename).is_absolute() is False and path.resolve().is_relative_to(folder.resolve())
        except (OSError, RuntimeError):  # a symlink loop
            inside = False
        if not inside:
            self.fail(label, f"workload file {filename!r} is outside the problem file's folder; refused "
                             "(pass --allow-outside-files to read files outside it)")
            return None
        return path

    def performance_set(self, entry: Any, label: str) -> Optional[PerformanceSet]:
        def build():
            if not self.fields(entry, label, ("id", "time_unit", "values"), ()):
                return None
            rid = self.text(entry, "id", label)
            unit = self.unit(entry, label)
            raw = entry["values"]
            if not isinstance(raw, list):
                self.fail(label, "field 'values' must be a list")
                return None
            values: dict[tuple[str, str], float] = {}
            ok = True
            for j, item in enumerate(raw):
                where = f"{label} values[{j}]"
                if not self.fields(item, where, ("instance_class", "app", "value"), ()):
                    ok = False
                    continue
                ic_entry = self.resolve(item["instance_class"], "Instance_classes", f"{where} instance_class")
                app_entry = self.resolve(item["app"], "Apps", f"{where} app")
                ic = self.instance_class(ic_entry, self.label(ic_entry, where)) if ic_entry is not None else None
                app = self.app(app_entry, self.label(app_entry, where)) if app_entry is not None else None
                value = self.number(item, "value", where)
                if ic is None or app is None or value is None:
                    ok = False
                    continue
                if (ic.id, app.id) in values:
                    self.fail(where, f"second performance for instance class {ic.id!r} and app {app.id!r}")
                    ok = False
                values[(ic.id, app.id)] = value
            if not ok or rid is None or unit is None:
                return None
            return PerformanceSet(rid, unit, values)

        return self.memo("perf", entry, build)

    def problem(self, entry: Any, label: str) -> Optional[Problem]:
        if not self.fields(entry, label, ("id", "workloads", "instance_classes", "performances"), ("name", "description")):
            return None
        rid = self.text(entry, "id", label)
        name = self.text(entry, "name", label, default=rid)
        lists = {}
        for key, section, make in (
            ("workloads", "Workloads", self.workload),
            ("instance_classes", "Instance_classes", self.instance_class),
        ):
            refs = entry[key]
            if not isinstance(refs, list) or not refs:
                self.fail(label, f"field {key!r} must be a non-empty list of references to {section}")
                lists[key] = None
                continue
            items = []
            for j, ref in enumerate(refs):
                e = self.resolve(ref, section, f"{label} {key}[{j}]")
                items.append(make(e, self.label(e, f"{label} {key}[{j}]")) if e is not None else None)
            lists[key] = None if None in items else tuple(items)
        perf_entry = self.resolve(entry["performances"], "Performances", f"{label} performances")
        perfs = self.performance_set(perf_entry, self.label(perf_entry, f"{label} performances")) if perf_entry is not None else None
        workloads, classes = lists["workloads"], lists["instance_classes"]
        if None in (rid, name, workloads, classes, perfs):
            return None
        ok = True
        if len({w.app.id for w in workloads}) != len(workloads):
            self.fail(label, "two workloads belong to the same app (give one workload per app)")
            ok = False
        if len({ic.id for ic in classes}) != len(classes):
            self.fail(label, "an instance class is listed twice")
            ok = False
        lengths = {len(w.values) for w in workloads}
        if len(lengths) > 1:
            shown = ", ".join(f"{w.id}: {len(w.values)}" for w in workloads)
            self.fail(label, f"workloads have different lengths ({shown})")
            ok = False
        units = {w.time_unit for w in workloads}
        if len(units) > 1:
            self.fail(label, f"workloads use different time units ({', '.join(sorted(units))})")
            ok = False
        missing = [f"({ic.id}, {w.app.id})" for ic in classes for w in workloads if (ic.id, w.app.id) not in perfs.values]
        if missing:
            self.fail(label, f"performance {perfs.id!r} lacks a value for " + ", ".join(missing[:10]) + (" …" if len(missing) > 10 else ""))
            ok = False
        if not ok:
            return None
        return Problem(rid, name, workloads, classes, perfs, str(entry.get("description", "")))
