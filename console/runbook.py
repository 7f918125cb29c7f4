"""The one runbook writer: `fleetctl solve maintenance --csv`, the console's export (`e` on Schedule
and Allocation) and anything else that hands a plan to people write the same bytes for the same plan.

One row per action, ordered by start (a reboot before a migration starting the same minute, then
by end and id): step, start_min, end_min, action (migrate | reboot), vm, customer, source, target,
datacenter_source, datacenter_target, host (the host the action occupies: a migration's source).

Spreadsheet safety (OWASP "CSV injection"): a text cell starting with =, +, -, @, a tab or a
carriage return is written with a leading single quote, so a spreadsheet shows it as text and never
runs it as a formula. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable, Optional

from engine.model import Migration, Reboot, Snapshot

COLUMNS = ("step", "start_min", "end_min", "action", "vm", "customer", "source", "target",
           "datacenter_source", "datacenter_target", "host")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading single quote."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def runbook_rows(migrations: Iterable[Migration], reboots: Iterable[Reboot],
                 snapshot: Optional[Snapshot]) -> list[tuple]:
    """Rows of COLUMNS (without neutralising), in runbook order."""
    customer = {v.id: v.customer for v in snapshot.vms} if snapshot is not None else {}
    dc_of: dict[str, str] = {}
    if snapshot is not None:
        rack_dc = {r.id: r.datacenter for r in snapshot.racks}
        dc_of = {h.id: rack_dc.get(h.rack, "") for h in snapshot.hosts}
    rows = [(m.start, m.end, "migrate", m.vm, customer.get(m.vm, ""), m.source, m.target,
             dc_of.get(m.source, ""), dc_of.get(m.target, ""), m.source) for m in migrations]
    rows += [(r.start, r.end, "reboot", "", "", "", "", "", "", r.host) for r in reboots]
    rows.sort(key=lambda r: (r[0], r[2] != "reboot", r[1], r[3] or r[9], r[6]))
    return [(i, *row) for i, row in enumerate(rows, 1)]


def runbook_csv(migrations: Iterable[Migration], reboots: Iterable[Reboot], snapshot: Optional[Snapshot]) -> str:
    """The runbook as CSV text (header, then one line per action; \\r\\n line ends as RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in runbook_rows(migrations, reboots, snapshot):
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


def write_runbook(path, migrations: Iterable[Migration], reboots: Iterable[Reboot],
                  snapshot: Optional[Snapshot]) -> None:
    """Write the runbook to `path` atomically (all of it or none of it); raises OSError."""
    from console.output_files import write_atomic

    write_atomic(path, runbook_csv(migrations, reboots, snapshot))
