"""Errors of the application layer: a list of problems, each naming its record and field.

    raise InvalidInput([Problem("must be ≥ 0", record="vms[3] 'vm-0004'", field="cpu")])

Kinds (the front-end maps them: CLI exit 2 for all but StoreUnavailable (1); HTTP 422, 404,
409, 503): InvalidInput (a bad document, option or name), NotFound (no such run, snapshot,
limit set), Conflict (the store changed under the caller: a fleet is already loaded, the run
already ended), StoreUnavailable (the database cannot be reached or has the wrong schema).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Iterable, Optional

# "vms[3] 'vm-0004' field cpu: must be ≥ 0" (engine.documents' problem lines)
_LOCATED = re.compile(r"^(?P<record>[A-Za-z_]+(?:\[\d+\])?(?: '[^']*')?)(?:(?: field |\.)(?P<field>[^:]+))?: (?P<msg>.+)$",
                      re.S)


@dataclass(frozen=True)
class Problem:
    message: str
    record: Optional[str] = None  # e.g. "vms[3] 'vm-0004'", "limit set 'night'", "run 7"
    field: Optional[str] = None   # e.g. "cpu", "options.solver"

    def __str__(self) -> str:
        where = " ".join(x for x in (self.record, f"field {self.field}" if self.field else None) if x)
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_line(cls, line: str) -> "Problem":
        """A problem line of engine.documents split into record, field and message when it has that shape."""
        m = _LOCATED.match(line)
        if m is None or m["record"] in ("document",):
            return cls(line)
        return cls(m["msg"], m["record"], m["field"])


class OpsError(Exception):
    """A request the application layer refuses; `problems` lists every reason."""

    title = "request refused"

    def __init__(self, problems: "Iterable[Problem | str] | Problem | str", *, source: Optional[str] = None):
        if isinstance(problems, (str, Problem)):
            problems = [problems]
        self.problems: list[Problem] = [p if isinstance(p, Problem) else Problem(p) for p in problems]
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + "; ".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class InvalidInput(OpsError):
    title = "invalid input"


class NotFound(OpsError):
    title = "not found"


class Conflict(OpsError):
    title = "conflict"


class StoreUnavailable(OpsError):
    title = "store unavailable"


class SchemaMismatch(StoreUnavailable):
    """The database's schema is older (run `fleetctl db upgrade`) or newer than this code."""

    title = "database schema mismatch"


def from_document_error(exc) -> InvalidInput:
    """engine.documents.DocumentError -> InvalidInput with located problems."""
    return InvalidInput([Problem.from_line(p) for p in exc.problems], source=exc.source)
