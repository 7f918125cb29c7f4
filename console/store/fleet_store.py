"""The fleet in the store: save and read the current snapshot, summaries for the console.

Semantics: the database holds one current fleet. `save_snapshot` replaces it
whole in one transaction (delete, bulk insert, history row) after checking it;
on any error nothing changes. `snapshots` keeps one row per load, so the
current snapshot id only grows and runs can say which fleet they solved.

Bulk inserts are one executemany per table (straight through the driver on
SQLite), and reading back builds pydantic objects without validation
(`_construct`): the rows were validated on the way in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Engine, delete, func, insert, select

from console.store.tx import advisory_lock, write

from console.store.run_tables import RunInputRow
from console.store.tables import (
    CustomerRow,
    DatacenterRow,
    HostRow,
    RackRow,
    SnapshotRow,
    VMRow,
    as_utc,
    utcnow,
)
from engine.model import RESOURCES, VM, Customer, Datacenter, Host, Rack, Snapshot

HOST_STATES = ("active", "needs_reboot", "disabled")


# --------------------------------------------------------------------------- write

_DC = ("id", "name")
_RACK = ("id", "datacenter")
_HOST = ("id", "rack", "cpu", "memory_gb", "disk_gb", "state", "reboot_minutes", "bandwidth_gbps")
_CUSTOMER = ("id", "name", "max_concurrent_migrations")
_VM = ("id", "host", "customer", "cpu", "memory_gb", "disk_gb", "migration_minutes", "migration_gbps", "migratable")

# table, snapshot collection, document columns (each row also gets `seq`, its position)
_FLEET = (
    (DatacenterRow, "datacenters", _DC),
    (RackRow, "racks", _RACK),
    (HostRow, "hosts", _HOST),
    (CustomerRow, "customers", _CUSTOMER),
    (VMRow, "vms", _VM),
)


def _bulk_insert(conn, table, columns: tuple[str, ...], records: list) -> None:
    """One bulk write per table: executemany straight through the driver on SQLite (a third
    faster than Core), COPY on PostgreSQL (several times faster than batched INSERTs)."""
    rows = [(i, *(getattr(rec, c) for c in columns)) for i, rec in enumerate(records)]
    if not rows:
        return
    names = ("seq", *columns)
    if conn.dialect.name == "sqlite":
        sql = f"INSERT INTO {table.__tablename__} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        conn.exec_driver_sql(sql, rows)
    elif conn.dialect.name == "postgresql":
        from sqlalchemy.exc import DBAPIError

        sql = f"COPY {table.__tablename__} ({', '.join(names)}) FROM STDIN"
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except conn.dialect.dbapi.Error as exc:  # the same exception types as a Core statement (IntegrityError …)
            raise DBAPIError.instance(sql, None, exc, conn.dialect.dbapi.Error) from exc
        finally:
            cursor.close()
    else:
        conn.execute(insert(table), [dict(zip(names, r)) for r in rows])


class FleetChanged(Exception):
    """The current fleet is not the one the caller saw (another load won the race)."""

    def __init__(self, expected: Optional[int], current: Optional["SnapshotInfo"]):
        self.expected, self.current = expected, current
        super().__init__(f"expected current snapshot {expected}, found {current.id if current else None}")


ANY = object()  # save_snapshot(expect_current=ANY): replace whatever is current


def save_snapshot(engine: Engine, snapshot: Snapshot, *, source: Optional[str] = None, check: bool = True,
                  expect_current: Any = ANY) -> int:
    """Make `snapshot` the current fleet in one transaction; returns the new snapshot id.

    The document is kept as an immutable version (its canonical JSON in run_inputs, keyed by
    its sha256 = engine.fingerprint.sha256_of(snapshot)), so runs and readers can name any
    version later. `expect_current` is a compare-and-set under the write lock: None means
    "only into an empty store", an id means "only if that is still current"; otherwise
    FleetChanged is raised and nothing changes.

    With `check` (default) the cross-record checks run first and a bad snapshot
    raises `engine.documents.DocumentError` listing every problem; the store is untouched.
    """
    if check:
        from engine.checks import check_snapshot
        from engine.documents import DocumentError

        problems = check_snapshot(snapshot)
        if problems:
            raise DocumentError(source or snapshot.name or "snapshot", problems)
    import hashlib

    from engine.fingerprint import canonical_json

    body = canonical_json(snapshot)
    sha = hashlib.sha256(body).hexdigest()
    text = body.decode("utf-8")

    def tx(conn) -> int:
        advisory_lock(conn, "fleetctl-fleet")
        if expect_current is not ANY:
            row = conn.execute(select(SnapshotRow.__table__).order_by(SnapshotRow.id.desc()).limit(1)).first()
            if (row.id if row is not None else None) != expect_current:
                raise FleetChanged(expect_current, _info(row) if row is not None else None)
        store_document(conn, sha, "snapshot+json", text, snapshot.name or None)
        for table, _, _ in reversed(_FLEET):  # children first
            conn.execute(delete(table))
        for table, collection, columns in _FLEET:  # parents first
            _bulk_insert(conn, table, columns, getattr(snapshot, collection))
        result = conn.execute(
            insert(SnapshotRow).values(
                name=snapshot.name, source=source, loaded_at=utcnow(), sha256=sha, body_key=sha,
                **{collection: len(getattr(snapshot, collection)) for _, collection, _ in _FLEET},
            )
        )
        return int(result.inserted_primary_key[0])

    return write(engine, tx)


def store_document(conn, key: str, media: str, body: str, name: Optional[str]) -> None:
    """Keep a document once by its content hash (run_inputs); concurrent writers of the same
    document never collide (the insert does nothing when the key is there)."""
    import time

    inputs = RunInputRow.__table__
    if conn.execute(select(inputs.c.key).where(inputs.c.key == key)).first() is not None:
        return
    values = dict(key=key, media=media, name=name, body=body, created_at=time.time())
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(inputs).values(**values).on_conflict_do_nothing(index_elements=["key"]))
    else:
        conn.execute(insert(inputs).prefix_with("OR IGNORE").values(**values))


# --------------------------------------------------------------------------- read


@dataclass(frozen=True)
class SnapshotInfo:
    """A row of the load history."""

    id: int
    name: str
    source: Optional[str]
    loaded_at: datetime
    datacenters: int
    racks: int
    hosts: int
    customers: int
    vms: int
    sha256: Optional[str] = None  # None: loaded before snapshots were versioned (its document was not kept)


def _info(row) -> SnapshotInfo:
    values = {k: getattr(row, k, None) for k in SnapshotInfo.__dataclass_fields__}
    values["loaded_at"] = as_utc(values["loaded_at"])
    return SnapshotInfo(**values)


def current_snapshot_info(engine: Engine) -> Optional[SnapshotInfo]:
    """The history row of the current fleet, or None if nothing was ever loaded."""
    with engine.connect() as conn:
        row = conn.execute(select(SnapshotRow.__table__).order_by(SnapshotRow.id.desc()).limit(1)).first()
    return _info(row) if row is not None else None


def snapshot_info(engine: Engine, snapshot_id: int) -> Optional[SnapshotInfo]:
    """The history row of one version, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(SnapshotRow.__table__).where(SnapshotRow.id == snapshot_id)).first()
    return _info(row) if row is not None else None


def snapshot_document(engine: Engine, snapshot_id: int) -> Optional[Snapshot]:
    """The snapshot of version `snapshot_id` exactly as loaded; None when that version is unknown,
    or was loaded before versions were kept and is no longer current."""
    import json

    t, inputs = SnapshotRow.__table__, RunInputRow.__table__
    with engine.connect() as conn:
        row = conn.execute(select(t.c.body_key).where(t.c.id == snapshot_id)).first()
        body = None if row is None or row.body_key is None else \
            conn.execute(select(inputs.c.body).where(inputs.c.key == row.body_key)).scalar()
    if body is not None:
        return Snapshot.model_validate(json.loads(body))
    if row is not None and current_snapshot_id(engine) == snapshot_id:
        return current_snapshot(engine)
    return None


def current_snapshot_id(engine: Engine) -> Optional[int]:
    info = current_snapshot_info(engine)
    return info.id if info else None


def snapshot_history(engine: Engine) -> list[SnapshotInfo]:
    """Every load, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(SnapshotRow.__table__).order_by(SnapshotRow.id.desc())).all()
    return [_info(r) for r in rows]


def _select_ordered(conn, table, columns: tuple[str, ...]):
    t = table.__table__
    return conn.execute(select(*(t.c[c] for c in columns)).order_by(t.c.seq)).all()


def _construct(model, columns: tuple[str, ...], rows) -> list:
    """Model instances from trusted rows without validation.

    What `model_construct` does, minus its per-call bookkeeping (4x faster: it
    matters at 100k VMs). Every column is a field, so all fields are "set".
    """
    new, setattr_ = model.__new__, object.__setattr__
    out = []
    for row in rows:
        obj = new(model)
        setattr_(obj, "__dict__", dict(zip(columns, row)))
        setattr_(obj, "__pydantic_fields_set__", set(columns))
        setattr_(obj, "__pydantic_extra__", None)
        setattr_(obj, "__pydantic_private__", None)
        out.append(obj)
    return out


def _vm_rows(rows) -> list:
    """VM rows with `migratable` as a bool (SQLite returns 0/1)."""
    return [(*r[:-1], bool(r[-1])) for r in rows]


def current_snapshot(engine: Engine) -> Optional[Snapshot]:
    """The current fleet as a Snapshot (records in load order), or None if none was loaded."""
    info = current_snapshot_info(engine)
    if info is None:
        return None
    with engine.connect() as conn:
        dcs = _construct(Datacenter, _DC, _select_ordered(conn, DatacenterRow, _DC))
        racks = _construct(Rack, _RACK, _select_ordered(conn, RackRow, _RACK))
        hosts = _construct(Host, _HOST, _select_ordered(conn, HostRow, _HOST))
        customers = _construct(Customer, _CUSTOMER, _select_ordered(conn, CustomerRow, _CUSTOMER))
        vms = _construct(VM, _VM, _vm_rows(_select_ordered(conn, VMRow, _VM)))
    return Snapshot.model_construct(version=1, name=info.name, datacenters=dcs, racks=racks, hosts=hosts,
                                    customers=customers, vms=vms)


# --------------------------------------------------------------------------- summaries for the console


@dataclass
class ResourceUse:
    capacity: float = 0.0
    used: float = 0.0

    @property
    def utilisation(self) -> float:
        return self.used / self.capacity if self.capacity else 0.0

    @property
    def free(self) -> float:
        return self.capacity - self.used


@dataclass
class DatacenterSummary:
    id: str
    racks: int = 0
    hosts: int = 0
    vms: int = 0
    hosts_by_state: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HOST_STATES, 0))
    resources: dict[str, ResourceUse] = field(default_factory=lambda: {r: ResourceUse() for r in RESOURCES})


@dataclass
class FleetSummary:
    """What the Fleet screen and `fleetctl fleet` show. Utilisation counts VMs placed on hosts."""

    snapshot: SnapshotInfo
    datacenters: int
    racks: int
    hosts: int
    customers: int
    vms: int
    pending_vms: int
    non_migratable_vms: int
    hosts_by_state: dict[str, int]
    vms_by_host_state: dict[str, int]
    resources: dict[str, ResourceUse]  # over all hosts
    resources_by_state: dict[str, dict[str, ResourceUse]]
    per_datacenter: list[DatacenterSummary]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO strings, utilisation included."""

        def res(d: dict[str, ResourceUse]) -> dict[str, dict[str, float]]:
            return {k: {"capacity": u.capacity, "used": u.used, "free": u.free, "utilisation": round(u.utilisation, 6)}
                    for k, u in d.items()}

        out = asdict(self)
        out["snapshot"]["loaded_at"] = self.snapshot.loaded_at.isoformat()
        out["resources"] = res(self.resources)
        out["resources_by_state"] = {s: res(d) for s, d in self.resources_by_state.items()}
        for dc_out, dc in zip(out["per_datacenter"], self.per_datacenter):
            dc_out["resources"] = res(dc.resources)
        return out


def snapshot_summary(engine: Engine) -> Optional[FleetSummary]:
    """Counts and utilisation of the current fleet, aggregated in SQL; None if no fleet is loaded."""
    info = current_snapshot_info(engine)
    if info is None:
        return None
    h, r, v = HostRow.__table__, RackRow.__table__, VMRow.__table__
    with engine.connect() as conn:
        count = lambda t: conn.execute(select(func.count()).select_from(t)).scalar_one()  # noqa: E731
        n_dc, n_rack, n_host = count(DatacenterRow.__table__), count(r), count(h)
        n_cust, n_vm = count(CustomerRow.__table__), count(v)
        pending = conn.execute(select(func.count()).where(v.c.host.is_(None))).scalar_one()
        pinned = conn.execute(select(func.count()).where(v.c.migratable.is_(False))).scalar_one()
        # capacity and host counts per (datacenter, state)
        cap_rows = conn.execute(
            select(r.c.datacenter, h.c.state, func.count(), *(func.sum(h.c[x]) for x in RESOURCES))
            .select_from(h.join(r, h.c.rack == r.c.id))
            .group_by(r.c.datacenter, h.c.state)
        ).all()
        # placed VM demand per (datacenter, host state)
        use_rows = conn.execute(
            select(r.c.datacenter, h.c.state, func.count(), *(func.sum(v.c[x]) for x in RESOURCES))
            .select_from(v.join(h, v.c.host == h.c.id).join(r, h.c.rack == r.c.id))
            .group_by(r.c.datacenter, h.c.state)
        ).all()
        racks_per_dc = dict(conn.execute(select(r.c.datacenter, func.count()).group_by(r.c.datacenter)).all())
        dc_ids = conn.execute(select(DatacenterRow.__table__.c.id).order_by(DatacenterRow.__table__.c.seq)).scalars().all()

    per_dc = {d: DatacenterSummary(id=d, racks=racks_per_dc.get(d, 0)) for d in dc_ids}
    by_state = {s: {x: ResourceUse() for x in RESOURCES} for s in HOST_STATES}
    hosts_by_state = dict.fromkeys(HOST_STATES, 0)
    vms_by_state = dict.fromkeys(HOST_STATES, 0)
    for dc, state, n, *caps in cap_rows:
        d = per_dc.setdefault(dc, DatacenterSummary(id=dc))
        d.hosts += n
        d.hosts_by_state[state] = d.hosts_by_state.get(state, 0) + n
        hosts_by_state[state] = hosts_by_state.get(state, 0) + n
        for x, c in zip(RESOURCES, caps):
            d.resources[x].capacity += c or 0.0
            by_state.setdefault(state, {y: ResourceUse() for y in RESOURCES})[x].capacity += c or 0.0
    for dc, state, n, *used in use_rows:
        d = per_dc.setdefault(dc, DatacenterSummary(id=dc))
        d.vms += n
        vms_by_state[state] = vms_by_state.get(state, 0) + n
        for x, u in zip(RESOURCES, used):
            d.resources[x].used += u or 0.0
            by_state.setdefault(state, {y: ResourceUse() for y in RESOURCES})[x].used += u or 0.0
    totals = {x: ResourceUse(capacity=sum(s[x].capacity for s in by_state.values()),
                             used=sum(s[x].used for s in by_state.values())) for x in RESOURCES}
    return FleetSummary(
        snapshot=info, datacenters=n_dc, racks=n_rack, hosts=n_host, customers=n_cust, vms=n_vm,
        pending_vms=pending, non_migratable_vms=pinned, hosts_by_state=hosts_by_state,
        vms_by_host_state=vms_by_state, resources=totals, resources_by_state=by_state,
        per_datacenter=list(per_dc.values()),
    )


@dataclass
class HostInfo:
    """One host with its load, for host lists in the console."""

    id: str
    rack: str
    datacenter: str
    state: str
    reboot_minutes: int
    bandwidth_gbps: Optional[float]
    vms: int
    capacity: dict[str, float]
    used: dict[str, float]

    def utilisation(self, resource: str) -> float:
        cap = self.capacity[resource]
        return self.used[resource] / cap if cap else 0.0


def list_hosts(engine: Engine) -> list[HostInfo]:
    """Every host of the current fleet in load order, with VM count and used resources."""
    h, r, v = HostRow.__table__, RackRow.__table__, VMRow.__table__
    stmt = (
        select(h.c.id, h.c.rack, r.c.datacenter, h.c.state, h.c.reboot_minutes, h.c.bandwidth_gbps,
               *(h.c[x] for x in RESOURCES), func.count(v.c.id), *(func.coalesce(func.sum(v.c[x]), 0.0) for x in RESOURCES))
        .select_from(h.join(r, h.c.rack == r.c.id).outerjoin(v, v.c.host == h.c.id))
        .group_by(h.c.id, r.c.datacenter)  # PostgreSQL: every selected column of a joined table is grouped
        .order_by(h.c.seq)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    k = len(RESOURCES)
    return [
        HostInfo(id=row[0], rack=row[1], datacenter=row[2], state=row[3], reboot_minutes=row[4],
                 bandwidth_gbps=row[5], capacity=dict(zip(RESOURCES, row[6:6 + k])), vms=row[6 + k],
                 used=dict(zip(RESOURCES, row[7 + k:7 + 2 * k])))
        for row in rows
    ]


def vms_on_host(engine: Engine, host_id: str) -> list[VM]:
    """The VMs placed on `host_id` (load order); empty if the host is unknown or empty."""
    v = VMRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(*(v.c[c] for c in _VM)).where(v.c.host == host_id).order_by(v.c.seq)).all()
    return _construct(VM, _VM, _vm_rows(rows))
