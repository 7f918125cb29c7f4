"""SQLModel tables of the fleet: the current snapshot's records, its history, named limit sets.

The fleet tables (datacenters … vms) hold exactly one fleet, the current one:
loading a snapshot replaces them in one transaction and appends a row to
`snapshots` (the history; ids only grow, so a run can name the snapshot it used).
`seq` keeps each record's position in the loaded document, so an export lists
records in the order they were loaded (not indexed: sorting is cheaper than
maintaining an index on every load).

Optional document fields are nullable columns: NULL means "absent", so an
export reproduces the document's values exactly.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(t: datetime) -> datetime:
    """SQLite returns naive datetimes; every time stored here is UTC."""
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


class SnapshotRow(SQLModel, table=True):
    """One loaded snapshot: an immutable version. The highest id is the current fleet.

    `sha256` is engine.fingerprint.sha256_of(the snapshot); `body_key` names the stored document
    (run_inputs.key, the same hash), so any version can be read back after newer loads."""

    __tablename__ = "snapshots"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = ""
    source: Optional[str] = None
    loaded_at: datetime = Field(default_factory=utcnow)
    datacenters: int = 0
    racks: int = 0
    hosts: int = 0
    customers: int = 0
    vms: int = 0
    sha256: Optional[str] = Field(default=None, max_length=64)
    body_key: Optional[str] = Field(default=None, max_length=64)


class DatacenterRow(SQLModel, table=True):
    __tablename__ = "datacenters"

    id: str = Field(primary_key=True)
    seq: int
    name: Optional[str] = None


class RackRow(SQLModel, table=True):
    __tablename__ = "racks"

    id: str = Field(primary_key=True)
    seq: int
    datacenter: str = Field(foreign_key="datacenters.id", index=True)


class HostRow(SQLModel, table=True):
    __tablename__ = "hosts"

    id: str = Field(primary_key=True)
    seq: int
    rack: str = Field(foreign_key="racks.id", index=True)
    cpu: float
    memory_gb: float
    disk_gb: float
    state: str = "active"
    reboot_minutes: int = 10
    bandwidth_gbps: Optional[float] = None


class CustomerRow(SQLModel, table=True):
    __tablename__ = "customers"

    id: str = Field(primary_key=True)
    seq: int
    name: Optional[str] = None
    max_concurrent_migrations: Optional[int] = None


class VMRow(SQLModel, table=True):
    __tablename__ = "vms"

    id: str = Field(primary_key=True)
    seq: int
    host: Optional[str] = Field(default=None, foreign_key="hosts.id", index=True)
    customer: str = Field(foreign_key="customers.id", index=True)
    cpu: float
    memory_gb: float
    disk_gb: float
    migration_minutes: Optional[int] = None
    migration_gbps: Optional[float] = None
    migratable: bool = True


class LimitSetRow(SQLModel, table=True):
    """A named limits document (FORMATS.md JSON, as saved)."""

    __tablename__ = "limit_sets"

    name: str = Field(primary_key=True)
    body: str  # JSON text of the Limits document
    saved_at: datetime = Field(default_factory=utcnow)
