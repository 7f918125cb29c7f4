"""The short-term workload prediction (STWP) that Phase II serves, slot by slot.

Without one, Phase II serves the problem's own workloads (the long-term prediction,
"STWP = LTWP"). Otherwise it comes from:
- a CSV file: a header row of app ids, then one row per slot (a single-app problem
  may omit the header: one number per line);
- a Malloovia YAML file: the problem with the given id (default: the Phase I
  problem's id) supplies the workloads and the system (instance classes, limits,
  performances) of Phase II, as in Malloovia's own Phase II.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Optional

from engine.capacity.model import Problem, Workload
from engine.capacity.reader import MAX_NUMBER, CapacityInputError, read_problems
from engine.documents import DocumentError, read_input_text


def stwp_problem(problem: Problem, path: Optional[str | Path], stwp_problem_id: Optional[str] = None, *,
                 allow_outside_files: bool = False) -> Problem:
    if path is None:
        return problem
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        problems = read_problems(path, allow_outside_files=allow_outside_files)
        pid = stwp_problem_id or problem.id
        if pid not in problems:
            raise CapacityInputError(str(path), [f"no problem with id {pid!r} (problems in the file: {', '.join(sorted(problems))})"])
        return problems[pid]
    return problem.with_workloads(_csv_workloads(problem, path))


def _csv_workloads(problem: Problem, path: Path) -> tuple[Workload, ...]:
    try:
        text = read_input_text(path)
    except DocumentError as exc:
        raise CapacityInputError(exc.source, exc.problems) from None
    try:
        rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    except csv.Error as exc:  # a NUL byte, a field over csv.field_size_limit
        raise CapacityInputError(str(path), [f"not a CSV file: {exc}"]) from None
    if not rows:
        raise CapacityInputError(str(path), ["no workload rows"])
    app_ids = [a.id for a in problem.apps]
    header = [c.strip() for c in rows[0]]
    problems: list[str] = []
    if set(header) & set(app_ids) or not _numeric(header):
        missing = [a for a in app_ids if a not in header]
        unknown = [h for h in header if h not in app_ids]
        if missing:
            problems.append(f"header lacks a column for app(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"header names unknown app(s) {', '.join(unknown)} (apps: {', '.join(app_ids)})")
        body, columns = rows[1:], [header.index(a) if a in header else -1 for a in app_ids]
        first_line = 2
    elif len(app_ids) == 1:
        body, columns, first_line = rows, [0], 1
    else:
        raise CapacityInputError(str(path), [f"the first row must name the apps' columns ({', '.join(app_ids)})"])
    if problems:
        raise CapacityInputError(str(path), problems)
    values: list[list[float]] = [[] for _ in app_ids]
    for n, row in enumerate(body, start=first_line):
        for k, col in enumerate(columns):
            cell = row[col].strip() if col < len(row) else ""
            try:
                v = float(cell)
                ok = math.isfinite(v) and 0 <= v <= MAX_NUMBER
            except ValueError:
                ok = False
            if not ok:  # the cell is not echoed: a file's contents stay out of messages and logs
                problems.append(f"line {n}, app {app_ids[k]}: not a number between 0 and {MAX_NUMBER:g}")
            else:
                values[k].append(v)
    if problems:
        raise CapacityInputError(str(path), problems)
    if not body:
        raise CapacityInputError(str(path), ["no workload rows after the header"])
    return tuple(
        Workload(f"stwp_{w.app.id}", w.app, tuple(vals), w.time_unit, f"STWP from {path.name}", w.intra_slot_distribution)
        for w, vals in zip(problem.workloads, values)
    )


def _numeric(cells: list[str]) -> bool:
    try:
        [float(c) for c in cells]
        return True
    except ValueError:
        return False
