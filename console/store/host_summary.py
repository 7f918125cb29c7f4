"""The Fleet table's first paint: every host with its load, read straight through the stdlib
sqlite3 driver.

Why not `fleet_store.list_hosts`: importing SQLAlchemy/SQLModel costs ~0.6 s on a busy 2-core
machine and the ORM join ~0.45 s at 100k VMs; this reads only the columns the table shows, with
one aggregate over the VMs' host index (0.2 s at 100k VMs), before any of that is imported.
`list_hosts` stays the one summary for everything else (CLI, PostgreSQL); this is only a
start-up shortcut and returns None whenever it cannot answer (a server URL, a missing file, an
older schema) so the caller falls back to the full read, which reports any real problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

# Columns: id, rack, datacenter, state, cpu, memory_gb, disk_gb capacity; VM count; cpu,
# memory_gb, disk_gb used by the VMs placed on the host. Hosts in load order (seq).
_SQL = """
SELECT h.id, h.rack, r.datacenter, h.state, h.cpu, h.memory_gb, h.disk_gb,
       COALESCE(v.n, 0), COALESCE(v.cpu, 0.0), COALESCE(v.mem, 0.0), COALESCE(v.disk, 0.0)
FROM hosts h JOIN racks r ON h.rack = r.id
LEFT JOIN (SELECT host, count(*) AS n, sum(cpu) AS cpu, sum(memory_gb) AS mem, sum(disk_gb) AS disk
           FROM vms WHERE host IS NOT NULL GROUP BY host) v ON v.host = h.id
ORDER BY h.seq
"""
_INFO = "SELECT id, name, vms, customers FROM snapshots ORDER BY id DESC LIMIT 1"


def sqlite_file(db: "str | Path") -> Optional[Path]:
    """The file behind a --db value when it is a SQLite file, else None (server URLs, memory)."""
    text = str(db)
    if text.startswith("sqlite:///") and text != "sqlite:///:memory:":
        return Path(text[len("sqlite:///"):])
    if "://" in text or text in ("", ":memory:"):
        return None
    return Path(text)


def read_host_summary(db: "str | Path") -> Optional[tuple[dict, list[tuple]]]:
    """(current snapshot info {id, name, vms, customers}, host rows as above), or None when this
    shortcut cannot answer. Read-only: never creates or changes the database."""
    import sqlite3

    path = sqlite_file(db)
    if path is None or not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return None
    try:
        conn.execute("BEGIN")  # one read transaction: the hosts belong to the snapshot row read
        info = conn.execute(_INFO).fetchone()
        if info is None:
            return None
        rows = conn.execute(_SQL).fetchall()
    except sqlite3.Error:  # an older or foreign schema: the full read says what is wrong
        return None
    finally:
        conn.close()
    return dict(zip(("id", "name", "vms", "customers"), info)), rows
