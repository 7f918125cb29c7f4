"""Reading FORMATS.md documents from files, with every problem named.

A user mistake never becomes a traceback: syntax errors, schema errors and
cross-record errors are all collected into one `DocumentError` whose
`problems` list names the record (by id when it has one) and the field.

Every file fleetctl reads goes through `read_input_bytes` / `read_input_text`:
regular files only (a FIFO or device is refused, never waited on), at most
`max_input_bytes()` (checked before parsing), and text must be UTF-8. Parsed
documents nest at most MAX_DEPTH levels. `shown_problems` caps what is printed
per kind of mistake, in one place for every document.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from engine.model import Limits, MaintenancePlan, PlacementPlan, Snapshot, parse_plan

M = TypeVar("M", bound=BaseModel)

MAX_INPUT_ENV = "FLEETCTL_MAX_INPUT_BYTES"
DEFAULT_MAX_INPUT_BYTES = 1 << 30  # 1 GiB: far above any real fleet, far below "until out of memory"
MAX_DEPTH = 64  # documents nest 4 levels; 64 is generous and far from Python's recursion limit
PROBLEMS_PER_KIND = 50  # printed per kind of mistake; the rest is counted


class DocumentError(Exception):
    """A document could not be accepted; `problems` lists every reason."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        shown = shown_problems(problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in shown))


# --------------------------------------------------------------------------- problem lists

_VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|\[\d+\]|(?<![A-Za-z_])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def problem_kind(problem: str) -> str:
    """The mistake without its particulars: ids, quoted values, positions and numbers blanked."""
    return _VARYING.sub("#", problem)


def shown_problems(problems: list[str], per_kind: int = PROBLEMS_PER_KIND) -> list[str]:
    """`problems` in order, at most `per_kind` of each kind, each cut kind followed by
    "… and K more of this kind": 200,000 copies of one mistake print 51 lines, not 200,000."""
    kinds = [problem_kind(p) for p in problems]
    totals: dict[str, int] = {}
    for k in kinds:
        totals[k] = totals.get(k, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for p, k in zip(problems, kinds):
        n = seen[k] = seen.get(k, 0) + 1
        if n <= per_kind:
            out.append(p)
        if n == per_kind and totals[k] > per_kind:
            out.append(f"… and {totals[k] - per_kind} more of this kind")
    return out


# --------------------------------------------------------------------------- bounded reading


def max_input_bytes() -> int:
    """The input size limit: $FLEETCTL_MAX_INPUT_BYTES (set by `fleetctl --max-input-bytes` too), else 1 GiB."""
    raw = os.environ.get(MAX_INPUT_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_INPUT_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise DocumentError(MAX_INPUT_ENV, [f"must be a positive whole number of bytes, got {raw[:40]!r}"])
    return value


def read_input_bytes(path: str | Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (default `max_input_bytes()`).

    Opened non-blocking and checked with fstat before reading, so a FIFO (which would wait for a
    writer) or a device like /dev/zero (which never ends) is refused at once.
    """
    limit = max_input_bytes() if limit is None else limit
    source = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise DocumentError(source, ["file not found"]) from None
    except OSError as exc:
        raise DocumentError(source, [f"cannot read file: {exc.strerror or exc}"]) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise DocumentError(source, ["is a directory, not a file"])
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(source, ["is not a regular file (a FIFO, device or socket): fleetctl reads files only"])
        if info.st_size > limit:
            raise DocumentError(source, [_too_big(info.st_size, limit)])
        chunks, total = [], 0
        while True:  # the file may grow while read: never take more than limit + 1 bytes
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise DocumentError(source, [_too_big(total, limit, grew=True)])
        return b"".join(chunks)
    except OSError as exc:
        raise DocumentError(source, [f"cannot read file: {exc.strerror or exc}"]) from None
    finally:
        os.close(fd)


def _too_big(size: int, limit: int, grew: bool = False) -> str:
    size_text = f"more than {limit:,} bytes" if grew else f"{size:,} bytes"
    return (f"file is {size_text}, over the input limit of {limit:,} bytes "
            f"(raise it with --max-input-bytes or ${MAX_INPUT_ENV})")


def read_input_text(path: str | Path, limit: int | None = None) -> str:
    """`read_input_bytes` decoded as UTF-8 (a byte-order mark, as Windows editors write, is dropped)."""
    data = read_input_bytes(path, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(str(path), [f"is not UTF-8 text (a binary file?): invalid byte at offset {exc.start}"]) from None


def check_depth(data: Any, source: str, limit: int = MAX_DEPTH) -> None:
    """DocumentError when containers nest deeper than `limit`. Level by level, without recursion; a
    container shared through YAML aliases is visited once per level it appears at, so an alias bomb
    costs at most `limit` passes, and an alias that contains itself is "too deep"."""
    level = [data] if isinstance(data, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise DocumentError(source, [f"nested deeper than {limit} levels (or a YAML alias that contains itself)"])
        below: dict[int, Any] = {}
        for node in level:
            for child in (node.values() if isinstance(node, dict) else node):
                if isinstance(child, (dict, list)):
                    below[id(child)] = child
        level = list(below.values())


def parse_text(text: str, source: str, *, as_json: bool, loader: Any = None) -> Any:
    """JSON or YAML text (YAML also accepts JSON) → data, depth-checked. Safe YAML loading only;
    `loader` may name a faster safe loader (yaml.CSafeLoader)."""
    try:
        data = json.loads(text) if as_json else yaml.load(text, Loader=loader or yaml.SafeLoader)  # noqa: S506
    except json.JSONDecodeError as exc:
        raise DocumentError(source, [f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    except yaml.YAMLError as exc:
        raise DocumentError(source, [_yaml_problem(exc)]) from None
    except RecursionError:
        raise DocumentError(source, [f"nested deeper than {MAX_DEPTH} levels"]) from None
    except ValueError as exc:  # a number of more than 4,300 digits, a date like 2026-13-45
        what = "a number is too long (more than 4,300 digits)" if "digits" in str(exc) else str(exc)
        raise DocumentError(source, [f"invalid {'JSON' if as_json else 'YAML'}: {what}"]) from None
    check_depth(data, source)
    return data


def read_document(path: str | Path) -> Any:
    """Parse a JSON or YAML file (by suffix; YAML also accepts JSON). Bounded, safe loading only."""
    path = Path(path)
    return parse_text(read_input_text(path), str(path), as_json=path.suffix.lower() == ".json")


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """'invalid YAML at line 2, column 7: mapping values are not allowed here' (PyYAML's own text
    names a "<unicode string>" instead of the file and spans several lines)."""
    if isinstance(exc, yaml.reader.ReaderError):  # a NUL or other control character: say where, not the text
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        return f"invalid YAML: character #x{code:04x} at position {exc.position}: {exc.reason}"
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
        elif err["type"] == "int_parsing_size":
            msg = "Input is too large"
        elif isinstance(err.get("input"), float) and math.isinf(err["input"]):
            msg = f"Input should be a finite number, got {'Infinity' if err['input'] > 0 else '-Infinity'}"
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
        plan = parse_plan(data)
    except ValidationError as exc:
        raise DocumentError(str(path), validation_problems(data, exc, _plan_location)) from None
    from engine.checks import check_plan

    problems = check_plan(plan)
    if problems:
        raise DocumentError(str(path), problems)
    return plan


def _plan_location(loc: tuple, err: dict) -> tuple:
    """('plan', 'maintenance', 'migrations', 0, 'start') -> ('migrations', 0, 'start'): the parse
    wraps the document and picks the model by `kind`; neither is part of what the operator wrote."""
    if err["type"].startswith("union_tag"):
        return ("kind",)
    loc = loc[1:] if loc[:1] == ("plan",) else loc
    return loc[1:] if loc[:1] in (("maintenance",), ("placement",)) else loc
