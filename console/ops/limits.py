"""Named limit sets (FORMATS.md limits documents saved under a name).

    parse_limits(data, source="limits") -> Limits               dict, JSON/YAML text or bytes; InvalidInput
    save_limit_set(engine, name, limits) -> LimitSetRef          replaces a set of that name (ref.replaced)
    get_limit_set(engine, name) -> Limits                        NotFound
    limit_set_ref(engine, name) -> LimitSetRef                   NotFound
    list_limit_sets(engine) -> list[LimitSetRef]
    delete_limit_set(engine, name) -> None                       NotFound
    limits_sha256(limits) -> str                                 the hash runs and plans record
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from console.ops.errors import InvalidInput, NotFound, Problem, from_document_error


@dataclass(frozen=True)
class LimitSetRef:
    name: str
    sha256: Optional[str]
    saved_at: datetime
    replaced: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "saved_at": self.saved_at.isoformat()}


def limits_sha256(limits) -> str:
    """sha256 of the full limits document (defaults explicit): a dict is read as Limits first, so
    `{}` and the defaults written out hash the same."""
    from engine.fingerprint import sha256_of
    from engine.model import Limits

    if not hasattr(limits, "to_json_dict"):
        limits = Limits.model_validate(limits or {})
    return sha256_of(limits.to_json_dict())


def parse_limits(data: Any, source: str = "limits"):
    from engine.documents import DocumentError, parse_model
    from engine.model import Limits

    if isinstance(data, (bytes, str)):
        from console.ops.snapshots import _parse_text

        data = _parse_text(data, source)
    try:
        limits = parse_model(Limits, {} if data is None else data, source)
    except DocumentError as exc:
        raise from_document_error(exc) from None
    from engine.checks import check_limits  # the limits' own rules (finite time limit, …), as `load_limits` runs

    problems = check_limits(limits)
    if problems:
        raise from_document_error(DocumentError(source, problems))
    return limits


def _check_name(name: str) -> None:
    if not name or not name.strip():
        raise InvalidInput(Problem("a limit set needs a non-empty name", field="name"))


def save_limit_set(engine, name: str, limits) -> LimitSetRef:
    from console.store.limits_store import list_limit_sets as names, save_limits

    _check_name(name)
    existed = any(s.name == name for s in names(engine))
    save_limits(engine, name, limits)
    ref = limit_set_ref(engine, name)
    return LimitSetRef(ref.name, ref.sha256, ref.saved_at, replaced=existed)


def get_limit_set(engine, name: str):
    from console.store.limits_store import LimitSetNotFound, load_limits
    from engine.documents import DocumentError

    try:
        return load_limits(engine, name)
    except LimitSetNotFound as exc:
        raise NotFound(Problem(str(exc), record=f"limit set {name!r}")) from None
    except DocumentError as exc:  # a stored set that fails the one validation: the usual located problems
        raise from_document_error(exc) from None


def limit_set_ref(engine, name: str) -> LimitSetRef:
    from console.store.limits_store import list_limit_sets as infos

    for info in infos(engine):
        if info.name == name:
            return LimitSetRef(info.name, limits_sha256(get_limit_set(engine, name)), info.saved_at)
    raise NotFound(Problem(f"no limit set named {name!r}", record=f"limit set {name!r}"))


def list_limit_sets(engine) -> list[LimitSetRef]:
    from console.store.limits_store import list_limit_sets as infos

    return [LimitSetRef(i.name, None, i.saved_at) for i in infos(engine)]


def delete_limit_set(engine, name: str) -> None:
    from console.store.limits_store import delete_limit_set as delete

    if not delete(engine, name):
        raise NotFound(Problem(f"no limit set named {name!r}", record=f"limit set {name!r}"))
