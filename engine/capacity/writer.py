"""Write problems and solutions in Malloovia's YAML format.

The document repeats the problem sections (Limiting_sets ... Problems) and adds a
Solutions section; entries refer to each other with anchors and aliases, exactly as
Malloovia's own files do. Every solution document is checked against the published
JSON Schema (`solution.schema.json` beside this module) before it is returned.

Deviation from Malloovia, on purpose: a solve stopped by its time limit with a
solution is written with status `feasible`, never `optimal`.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import yaml

from engine.capacity.model import Problem
from engine.capacity.solution import PhaseIISolution, PhaseISolution, _num

SCHEMA_PATH = Path(__file__).with_name("solution.schema.json")
# Above this many numbers the C emitter is used (anchors then read id001, id002, ...).
BIG_DOCUMENT = 20_000


class SolutionSchemaError(RuntimeError):
    """A solution document we produced does not match our own schema: a bug, reported loudly."""


@lru_cache(maxsize=1)
def solution_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_document(doc: dict) -> None:
    import jsonschema

    validator = jsonschema.Draft7Validator(solution_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        shown = "; ".join(f"{'/'.join(str(p) for p in e.absolute_path) or 'document'}: {e.message[:200]}" for e in errors[:5])
        raise SolutionSchemaError(f"solution document breaks solution.schema.json ({len(errors)} error(s)): {shown}")


class _Nodes:
    """One mapping per entity, shared wherever the entity is referred to (-> anchors/aliases)."""

    def __init__(self) -> None:
        self.sets: dict[str, dict] = {}
        self.classes: dict[str, dict] = {}
        self.apps: dict[str, dict] = {}
        self.workloads: dict[int, dict] = {}
        self.perfs: dict[str, dict] = {}
        self.problems: dict[int, dict] = {}

    def problem(self, p: Problem) -> dict:
        if id(p) in self.problems:
            return self.problems[id(p)]
        classes = []
        for ic in p.instance_classes:
            sets = []
            for ls in ic.limiting_sets:
                sets.append(self.sets.setdefault(ls.id, {"id": ls.id, "name": ls.name, "max_vms": _num(ls.max_vms), "max_cores": _num(ls.max_cores)}))
            node = self.classes.setdefault(ic.id, {
                "id": ic.id, "name": ic.name, "limiting_sets": sets, "max_vms": _num(ic.max_vms), "price": _num(ic.price),
                "time_unit": ic.time_unit, "is_reserved": ic.is_reserved, "cores": _num(ic.cores),
            })
            classes.append(node)
        workloads = []
        for w in p.workloads:
            app = self.apps.setdefault(w.app.id, {"id": w.app.id, "name": w.app.name})
            node = self.workloads.get(id(w))
            if node is None:
                node = self.workloads[id(w)] = {
                    "id": w.id, "description": w.description, "values": [_num(v) for v in w.values], "app": app,
                    "time_unit": w.time_unit, "intra_slot_distribution": w.intra_slot_distribution,
                }
            workloads.append(node)
        ps = p.performances
        perf = self.perfs.get(ps.id)
        if perf is None:
            values = []
            for (ic_id, app_id), v in ps.values.items():
                if ic_id in self.classes and app_id in self.apps:
                    values.append({"instance_class": self.classes[ic_id], "app": self.apps[app_id], "value": _num(v)})
            perf = self.perfs[ps.id] = {"id": ps.id, "time_unit": ps.time_unit, "values": values}
        node = {"id": p.id, "name": p.name, "description": p.description or "Nondescript", "workloads": workloads,
                "instance_classes": classes, "performances": perf}
        self.problems[id(p)] = node
        return node

    def document(self, solutions: Optional[list] = None) -> dict:
        doc = {
            "Limiting_sets": list(self.sets.values()),
            "Instance_classes": list(self.classes.values()),
            "Apps": list(self.apps.values()),
            "Workloads": list(self.workloads.values()),
            "Performances": list(self.perfs.values()),
            "Problems": list(self.problems.values()),
        }
        if solutions is not None:
            doc["Solutions"] = solutions
        return doc


def _stats(status: str, cost, creation: float, solving: float, time_limit, bound=None, gcd_multiplier: float = 1.0) -> dict:
    return {
        "creation_time": float(creation),
        "solving_time": float(solving),
        "optimal_cost": None if cost is None else float(cost),
        "algorithm": {"malloovia": {
            "gcd": False, "status": status, "gcd_multiplier": gcd_multiplier, "frac_gap": 0.0,
            "max_seconds": None if time_limit is None else float(time_limit),
            "lower_bound": None if bound is None else float(bound),
        }},
    }


def _allocation(nodes: _Nodes, problem: Problem, tuples: np.ndarray, repeats: Iterable, values: Optional[np.ndarray]) -> dict:
    return {
        "instance_classes": [nodes.classes[ic.id] for ic in problem.ordered_classes],
        "apps": [nodes.apps[a.id] for a in problem.apps],
        "workload_tuples": [[_num(v) for v in row] for row in tuples],
        "repeats": [int(r) for r in repeats],
        "vms_number": [] if values is None else [[[_num(v) for v in app] for app in level] for level in values],
    }


def phase_i_node(nodes: _Nodes, sol: PhaseISolution) -> dict:
    problem_node = nodes.problem(sol.problem)
    p = sol.problem
    return {
        "id": f"solution_i_{p.id}",
        "problem": problem_node,
        "solving_stats": _stats(sol.status, sol.cost, sol.creation_time, sol.solving_time, sol.time_limit, sol.bound),
        "reserved_allocation": {
            "instance_classes": [nodes.classes[ic.id] for ic in p.reserved] if sol.reserved is not None else [],
            "vms_number": [_num(v) for v in sol.reserved] if sol.reserved is not None else [],
        },
        "allocation": _allocation(nodes, p, sol.levels.values, sol.levels.repeats, sol.allocation),
    }


def phase_ii_node(nodes: _Nodes, sol: PhaseIISolution, previous: dict) -> dict:
    problem_node = nodes.problem(sol.problem)
    slot_stats = []
    for l in sol.levels.slot_level:
        r = sol.results[l]
        slot_stats.append(_stats(r.status, r.cost, r.creation_time, r.solving_time, sol.time_limit))
    st = sol.statistics()
    alloc = sol.allocation()
    return {
        "id": f"solution_phase_ii_{sol.problem.id}",
        "problem": problem_node,
        "previous_phase": previous,
        "global_solving_stats": {
            "creation_time": st["creation_time"], "solving_time": st["solving_time"],
            "optimal_cost": st["cost"], "status": st["status"],
        },
        "solving_stats": slot_stats,
        "allocation": _allocation(nodes, sol.problem, sol.workloads, [1] * sol.levels.n_slots, alloc),
    }


def solution_document(phase_i: PhaseISolution, phase_ii: Optional[PhaseIISolution] = None) -> dict:
    nodes = _Nodes()
    first = phase_i_node(nodes, phase_i)
    solutions = [first]
    if phase_ii is not None:
        solutions.append(phase_ii_node(nodes, phase_ii, first))
    doc = nodes.document(solutions)
    validate_document(doc)
    return doc


def problems_document(problems: Iterable[Problem]) -> dict:
    nodes = _Nodes()
    for p in problems:
        nodes.problem(p)
    return nodes.document()


class _AnchorDumper(yaml.SafeDumper):
    """Anchors named after the entity's id (ic1, ic1_2, ...) instead of id001."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._used: set[str] = set()

    def generate_anchor(self, node):
        base = "ref"
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == "id" and isinstance(value, yaml.ScalarNode):
                    base = re.sub(r"[^0-9A-Za-z_]+", "_", value.value) or "ref"
                    break
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base}_{n}"
        self._used.add(name)
        return name


def _count_numbers(doc: dict) -> int:
    n = 0
    for sol in doc.get("Solutions", []):
        vms = sol.get("allocation", {}).get("vms_number", [])
        n += sum(len(app) for level in vms for app in level)
    n += sum(len(w["values"]) for w in doc["Workloads"])
    return n


def dump_yaml(doc: dict) -> str:
    big = _count_numbers(doc) > BIG_DOCUMENT
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper) if big else _AnchorDumper
    return yaml.dump(doc, Dumper=dumper, sort_keys=False, default_flow_style=None, allow_unicode=True, width=120)


def write_solution(path: str | Path, phase_i: PhaseISolution, phase_ii: Optional[PhaseIISolution] = None) -> None:
    Path(path).write_text(dump_yaml(solution_document(phase_i, phase_ii)), encoding="utf-8")


def write_problems(path: str | Path, problems: Iterable[Problem]) -> None:
    Path(path).write_text(dump_yaml(problems_document(problems)), encoding="utf-8")
