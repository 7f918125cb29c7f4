"""Reading FORMATS.md documents from files, with every problem named.

A user mistake never becomes a traceback: syntax errors, schema errors and
cross-record errors are all collected into one `DocumentError` whose
`problems` list names the record (by id when it has one) and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from engine.model import Limits, MaintenancePlan, PlacementPlan, Snapshot, parse_plan

M = TypeVar("M", bound=BaseModel)


class DocumentError(Exception):
    """A document could not be accepted; `problems` lists every reason."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in problems))


def read_document(path: str | Path) -> Any:
    """Parse a JSON or YAML file (by suffix; YAML also accepts JSON). Safe loading only."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a byte-order mark (Windows editors) is not an error
    except FileNotFoundError:
        raise DocumentError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(str(path), [f"cannot read file: {exc}"]) from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(str(path), [f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    except yaml.YAMLError as exc:
        raise DocumentError(str(path), [_yaml_problem(exc)]) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """'invalid YAML at line 2, column 7: mapping values are not allowed here' (PyYAML's own text
    names a "<unicode string>" instead of the file and spans several lines)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return f"invalid YAML: {exc}"
    context = getattr(exc, "context", None)
    return (f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
            + (f" ({context})" if context else ""))


def _describe_location(data: Any, loc: tuple) -> str:
    """('vms', 3, 'cpu') -> "vms[3] 'vm-0004' field cpu" using the record's id when it has one."""
    parts: list[str] = []
    node = data
    for i, key in enumerate(loc):
        if isinstance(key, int):
            label = f"[{key}]"
            if isinstance(node, list) and 0 <= key < len(node) and isinstance(node[key], dict):
                rid = node[key].get("id")
                if isinstance(rid, str) and rid:
                    label += f" {rid!r}"
            parts.append(label)
            node = node[key] if isinstance(node, list) and 0 <= key < len(node) else None
        else:
            sep = "" if not parts else (" field " if i == len(loc) - 1 else ".")
            parts.append(f"{sep}{key}")
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "document"


def validation_problems(data: Any, exc: ValidationError, strip=None) -> list[str]:
    """One line per schema error; `strip(loc, err)` may rewrite a location first."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"]) if strip is None else strip(tuple(err["loc"]), err)
        where = _describe_location(data, loc)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "union_tag_invalid":
            msg = f"must be one of {err['ctx']['expected_tags']}, got {err['ctx']['tag']!r}"
        elif err["type"] == "union_tag_not_found":
            msg = "required field is missing"
        problems.append(f"{where}: {msg}")
    return problems


def parse_model(model: type[M], data: Any, source: str) -> M:
    if not isinstance(data, dict):
        raise DocumentError(source, [f"expected a mapping (JSON object) at the top level, got {type(data).__name__}"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DocumentError(source, validation_problems(data, exc)) from None


def parse_snapshot(data: Any, source: str = "snapshot") -> Snapshot:
    """Schema validation, then every cross-record check (`engine.checks`)."""
    from engine.checks import check_partial_document, check_snapshot

    try:
        snapshot = parse_model(Snapshot, data, source)
    except DocumentError as exc:
        # List cross-record problems of the records that are valid on their own too: every problem at once.
        raise DocumentError(source, exc.problems + check_partial_document(data)) from None
    problems = check_snapshot(snapshot)
    if problems:
        raise DocumentError(source, problems)
    return snapshot


def load_snapshot(path: str | Path) -> Snapshot:
    return parse_snapshot(read_document(path), str(path))


def parse_limits(data: Any, source: str = "limits") -> Limits:
    """The one validation of a limits document (CLI files, saved sets, the console's form):
    the schema, then the sanity bounds of `engine.checks.check_limits`. Every problem is named
    as "<section> field <name>: <message>" in one DocumentError."""
    limits = parse_model(Limits, data, source)
    from engine.checks import check_limits

    problems = check_limits(limits)
    if problems:
        raise DocumentError(source, problems)
    return limits


def load_limits(path: str | Path | None) -> Limits:
    if path is None:
        return Limits()
    data = read_document(path)
    if data is None:
        return Limits()
    return parse_limits(data, str(path))


def load_plan(path: str | Path) -> MaintenancePlan | PlacementPlan:
    data = read_document(path)
    if not isinstance(data, dict):
        raise DocumentError(str(path), ["expected a plan object"])
    try:
        return parse_plan(data)
    except ValidationError as exc:
        raise DocumentError(str(path), validation_problems(data, exc, _plan_location)) from None


def _plan_location(loc: tuple, err: dict) -> tuple:
    """('plan', 'maintenance', 'migrations', 0, 'start') -> ('migrations', 0, 'start'): the parse
    wraps the document and picks the model by `kind`; neither is part of what the operator wrote."""
    if err["type"].startswith("union_tag"):
        return ("kind",)
    loc = loc[1:] if loc[:1] == ("plan",) else loc
    return loc[1:] if loc[:1] in (("maintenance",), ("placement",)) else loc
