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
from engine.capacity.reader import CapacityInputError, read_problems


def stwp_problem(problem: Problem, path: Optional[str | Path], stwp_problem_id: Optional[str] = None) -> Problem:
    if path is None:
        return problem
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        problems = read_problems(path)
        pid = stwp_problem_id or problem.id
        if pid not in problems:
            raise CapacityInputError(str(path), [f"no problem with id {pid!r} (problems in the file: {', '.join(sorted(problems))})"])
        return problems[pid]
    return problem.with_workloads(_csv_workloads(problem, path))


def _csv_workloads(problem: Problem, path: Path) -> tuple[Workload, ...]:
    try:
        rows = [r for r in csv.reader(path.read_text(encoding="utf-8-sig").splitlines()) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise CapacityInputError(str(path), [f"cannot read file: {exc}"]) from None
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
                ok = math.isfinite(v) and v >= 0
            except ValueError:
                ok = False
            if not ok:
                problems.append(f"line {n}, app {app_ids[k]}: {cell!r} is not a number ≥ 0")
            else:
                values[k].append(v)
    if problems:
        raise CapacityInputError(str(path), problems[:20])
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
