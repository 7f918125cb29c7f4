"""Snapshots: immutable versions with a content hash; the current fleet is the latest loaded.

    parse_snapshot(data, source="snapshot") -> Snapshot          (dict, JSON/YAML text or bytes)
    load_snapshot(engine, snapshot, *, source=None, replace=False, expect_current=None) -> SnapshotRef
    current_snapshot(engine) -> SnapshotRef | None
    get_snapshot(engine, snapshot_id) -> SnapshotRef             NotFound
    snapshot_document(engine, snapshot_id=None) -> Snapshot      the document of a version (default: current)
    list_snapshots(engine) -> list[SnapshotRef]                  newest first
    fleet_summary(engine) -> FleetSummary | None                 counts and utilisation of the current fleet
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from console.ops.errors import Conflict, InvalidInput, NotFound, from_document_error


@dataclass(frozen=True)
class SnapshotRef:
    id: int
    sha256: Optional[str]  # None only for a version loaded before snapshots were versioned
    name: str
    source: Optional[str]
    loaded_at: datetime
    counts: dict  # datacenters, racks, hosts, customers, vms
    current: bool = False

    def to_dict(self) -> dict:
        return {"id": self.id, "sha256": self.sha256, "name": self.name, "source": self.source,
                "loaded_at": self.loaded_at.isoformat(), "counts": dict(self.counts), "current": self.current}


def _ref(info, current_id: Optional[int]) -> SnapshotRef:
    counts = {k: getattr(info, k) for k in ("datacenters", "racks", "hosts", "customers", "vms")}
    return SnapshotRef(info.id, info.sha256, info.name, info.source, info.loaded_at, counts, info.id == current_id)


def parse_snapshot(data: Any, source: str = "snapshot"):
    """A Snapshot from a dict or JSON/YAML text: schema and cross-record checks; InvalidInput lists every problem."""
    from engine.documents import DocumentError
    from engine.documents import parse_snapshot as parse

    if isinstance(data, (bytes, str)):
        data = _parse_text(data, source)
    try:
        return parse(data, source)
    except DocumentError as exc:
        raise from_document_error(exc) from None


def _parse_text(data: "bytes | str", source: str):
    import json

    import yaml

    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        from engine.documents import _yaml_problem

        raise InvalidInput(_yaml_problem(exc), source=source) from None


def load_snapshot(engine, snapshot, *, source: Optional[str] = None, replace: bool = False,
                  expect_current: Optional[int] = None) -> SnapshotRef:
    """Make `snapshot` (a validated Snapshot) the current fleet.

    Without `replace`, only into a store holding no fleet: checked inside the write transaction,
    so of two concurrent loads into an empty store exactly one succeeds and the other gets
    Conflict ("already holds a fleet"). With `replace` and `expect_current`, only if that
    version is still current (else Conflict)."""
    from console.store.fleet_store import ANY, FleetChanged, save_snapshot, snapshot_info

    expect: Any = expect_current if replace and expect_current is not None else (ANY if replace else None)
    try:
        new_id = save_snapshot(engine, snapshot, source=source, check=False, expect_current=expect)
    except FleetChanged as exc:
        cur = exc.current
        if expect is None:
            raise Conflict(f"the database already holds fleet {cur.name!r} (snapshot #{cur.id}, {cur.vms} VMs); "
                           f"pass --replace to replace it", ) from None
        raise Conflict(f"the current fleet changed: snapshot #{cur.id if cur else None} is current, not "
                       f"#{exc.expected}; reload and try again") from None
    return _ref(snapshot_info(engine, new_id), new_id)


def current_snapshot(engine) -> Optional[SnapshotRef]:
    """The current fleet's version, or None when nothing was loaded."""
    from console.store.fleet_store import current_snapshot_info

    info = current_snapshot_info(engine)
    return None if info is None else _ref(info, info.id)


def get_snapshot(engine, snapshot_id: int) -> SnapshotRef:
    from console.store.fleet_store import current_snapshot_id, snapshot_info

    info = snapshot_info(engine, snapshot_id)
    if info is None:
        raise NotFound(f"no snapshot {snapshot_id} in this database")
    return _ref(info, current_snapshot_id(engine))


def snapshot_document(engine, snapshot_id: Optional[int] = None):
    """The Snapshot of version `snapshot_id` (default: the current fleet). NotFound when there is none."""
    from console.store.fleet_store import current_snapshot
    from console.store.fleet_store import snapshot_document as document

    if snapshot_id is None:
        snap = current_snapshot(engine)
        if snap is None:
            raise NotFound("the database holds no fleet: load a snapshot first")
        return snap
    snap = document(engine, snapshot_id)
    if snap is None:
        raise NotFound(f"no snapshot {snapshot_id} in this database (or its document was not kept: it was "
                       f"loaded before snapshots were versioned)")
    return snap


def list_snapshots(engine) -> list[SnapshotRef]:
    from console.store.fleet_store import snapshot_history

    history = snapshot_history(engine)
    current_id = history[0].id if history else None
    return [_ref(i, current_id) for i in history]


def fleet_summary(engine):
    """Counts, hosts by state and utilisation of the current fleet (aggregated in SQL); None when none is loaded."""
    from console.store.fleet_store import snapshot_summary

    return snapshot_summary(engine)
