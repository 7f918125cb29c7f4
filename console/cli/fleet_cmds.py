"""Fleet commands: load, export, fleet, generate, and `limits save|show|list|delete`.

`load` validates the whole document (schema, then cross-record checks) before
it opens the database, so a bad snapshot leaves the database file untouched
(a new database is not even created). A database that already holds a fleet is
only replaced with `--replace`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from console.cli.apps import app
from console.cli.common import markup_safe  # user strings (ids, names) are data, never markup
from console.cli.common import (EXIT_INTERRUPTED, DbOption, check_output_path, emit_json, fail, ops_errors,
                                resolve_db,
                                user_errors, write_output)

limits_app = typer.Typer(help="Named limit sets kept in the database.", no_args_is_help=True)
app.add_typer(limits_app, name="limits")


def _reading(db, *, create: bool = False):
    """Engine on `db`, closed on exit. Without `create` the database must exist and nothing is
    created; store errors are one line (exit 2 / 1), never a traceback."""
    from console.cli.common import reading_store, store_session

    return store_session(db, create=True) if create else reading_store(db)


def _existing_fleet(db):
    """The current snapshot's history row in `db` (a DbTarget), or None; creates nothing."""
    from console.store.fleet_store import current_snapshot_info

    if db.path is not None and (not db.path.exists() or db.path.stat().st_size == 0):
        return None
    from sqlalchemy.exc import DatabaseError

    with _reading(db) as engine:
        try:
            return current_snapshot_info(engine)
        except DatabaseError as exc:
            if "no such table" in str(exc) or "does not exist" in str(exc):  # no fleet tables yet
                return None
            raise


@app.command()
def load(
    file: Annotated[Path, typer.Argument(help="Snapshot document (FORMATS.md), .json or .yaml.")],
    db: DbOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace the fleet the database already holds.")] = False,
) -> None:
    """Validate a snapshot, then make it the current fleet in one transaction."""
    from engine.documents import load_snapshot

    try:
        with user_errors():
            snapshot = load_snapshot(file)
    except KeyboardInterrupt:
        fail(f"interrupted while reading {file}: nothing changed", code=EXIT_INTERRUPTED)
    path = resolve_db(db)
    existing = _existing_fleet(path)
    if existing is not None and not replace:  # early, friendly; the authoritative check is in the transaction
        fail(f"{path} already holds fleet {existing.name!r} (snapshot #{existing.id}, "
             f"{existing.vms} VMs); pass --replace to replace it")

    from console.ops.errors import Conflict
    from console.ops.snapshots import load_snapshot as make_current

    try:
        with _reading(path, create=True) as engine:
            try:
                ref = make_current(engine, snapshot, source=str(file), replace=replace)
            except Conflict as exc:
                fail(f"{path}: {exc.lines()[0]}")
            snapshot_id = ref.id
    except KeyboardInterrupt:
        # Say which fleet is current: the interrupt may have come before the commit (rolled back) or after.
        current = _existing_fleet(path) if path.exists() else None
        if current is not None and (existing is None or current.id != existing.id):
            what = f"the load had already committed: snapshot #{current.id} {current.name!r} is current"
        elif existing is not None:
            what = f"nothing changed, the database still holds {existing.name!r} (snapshot #{existing.id})"
        else:
            what = "no fleet was loaded"
        fail(f"interrupted: {what}", code=EXIT_INTERRUPTED)
    typer.echo(f"loaded {file} as snapshot #{snapshot_id} {snapshot.name!r}: {len(snapshot.datacenters)} datacenters, "
               f"{len(snapshot.racks)} racks, {len(snapshot.hosts)} hosts, {len(snapshot.customers)} customers, "
               f"{len(snapshot.vms)} VMs -> {path} (sha256 {ref.sha256[:12]})")


@app.command()
def export(
    db: DbOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Write the current fleet as a FORMATS.md snapshot (JSON)."""
    import sys

    from console.ops.errors import NotFound
    from console.ops.snapshots import snapshot_document
    from engine.export import dumps_snapshot

    target = resolve_db(db)
    check_output_path(out, inputs=(target.path,))
    with _reading(target) as engine:
        try:
            snapshot = snapshot_document(engine)
        except NotFound as exc:
            fail(exc.lines())
    text = dumps_snapshot(snapshot)
    if out is None:
        sys.stdout.write(text)
    else:
        write_output(out, text)
        typer.echo(f"wrote {len(snapshot.vms)} VMs to {out}", err=True)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _fleet_tables(summary) -> list:
    from rich.table import Table

    from engine.model import RESOURCES

    info = summary.snapshot
    counts = Table(title=f"Fleet {markup_safe(repr(info.name))} — snapshot #{info.id}, loaded {info.loaded_at:%Y-%m-%d %H:%M} UTC",
                   title_justify="left")
    for col in ("datacenters", "racks", "hosts", "customers", "VMs", "pending VMs", "not migratable"):
        counts.add_column(col, justify="right")
    counts.add_row(*map(str, (summary.datacenters, summary.racks, summary.hosts, summary.customers,
                              summary.vms, summary.pending_vms, summary.non_migratable_vms)))

    states = Table(title="Hosts by state", title_justify="left")
    for col in ("state", "hosts", "VMs on them"):
        states.add_column(col, justify="right" if col != "state" else "left")
    for state, n in summary.hosts_by_state.items():
        states.add_row(markup_safe(state), str(n), str(summary.vms_by_host_state.get(state, 0)))

    use = Table(title="Utilisation (VMs placed on hosts)", title_justify="left")
    for col in ("resource", "capacity", "used", "free", "used %", "free on active hosts"):
        use.add_column(col, justify="right" if col != "resource" else "left")
    for r in RESOURCES:
        u = summary.resources[r]
        active = summary.resources_by_state["active"][r]
        use.add_row(r, f"{u.capacity:,.0f}", f"{u.used:,.0f}", f"{u.free:,.0f}", _pct(u.utilisation), f"{active.free:,.0f}")
    tables = [counts, states, use]

    if summary.per_datacenter:
        dcs = Table(title="Per datacenter", title_justify="left")
        for col in ("datacenter", "racks", "hosts", "to reboot", "VMs", "cpu %", "memory %", "disk %"):
            dcs.add_column(col, justify="right" if col != "datacenter" else "left")
        for d in summary.per_datacenter:
            dcs.add_row(markup_safe(d.id), str(d.racks), str(d.hosts), str(d.hosts_by_state.get("needs_reboot", 0)), str(d.vms),
                        *(_pct(d.resources[r].utilisation) for r in RESOURCES))
        tables.append(dcs)
    return tables


@app.command()
def fleet(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
) -> None:
    """Summary of the current fleet: counts, hosts by state, utilisation per resource."""
    from console.ops.snapshots import fleet_summary

    with _reading(resolve_db(db)) as engine:
        summary = fleet_summary(engine)
    if summary is None:
        fail("the database holds no fleet: load a snapshot first")
    if as_json:
        emit_json(summary.to_dict())
        return
    from rich.console import Console

    console = Console()
    for table in _fleet_tables(summary):
        console.print(table)


@app.command()
def generate(
    seed: Annotated[int, typer.Option(help="Random seed: the same options and seed give the same file.")] = 0,
    datacenters: Annotated[int, typer.Option(help="Datacenters.")] = 1,
    racks: Annotated[int, typer.Option(help="Racks per datacenter.")] = 4,
    hosts_per_rack: Annotated[Optional[int], typer.Option(help="Hosts per rack (default: sized from --vms and --memory-load).")] = None,
    vms: Annotated[int, typer.Option(help="VMs in the whole fleet.")] = 400,
    customers: Annotated[Optional[int], typer.Option(help="Customers (default: one per 8 VMs).")] = None,
    reboot_fraction: Annotated[float, typer.Option(help="Fraction of all hosts that need a reboot (1.0 = all).")] = 0.25,
    empty_hosts_per_rack: Annotated[int, typer.Option(help="Hosts per rack left empty (room to start rolling maintenance).")] = 1,
    non_migratable_fraction: Annotated[float, typer.Option(help="Fraction of VMs that cannot migrate.")] = 0.02,
    bandwidth_fraction: Annotated[float, typer.Option(help="Fraction of hosts with a migration bandwidth limit.")] = 0.3,
    disabled_fraction: Annotated[float, typer.Option(help="Fraction of non-rebooting hosts that are disabled.")] = 0.0,
    pending_fraction: Annotated[float, typer.Option(help="Fraction of VMs with no host yet (placement requests).")] = 0.0,
    memory_load: Annotated[float, typer.Option(help="Target memory use when hosts are sized automatically.")] = 0.7,
    host_scale: Annotated[float, typer.Option(help="Multiply every host shape's cpu, memory and disk (few, big hosts).")] = 1.0,
    regional_customers: Annotated[bool, typer.Option("--regional-customers", help="Each customer's VMs in one home datacenter (datacenters then solve apart).")] = False,
    name: Annotated[Optional[str], typer.Option(help="Snapshot name.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Generate a deterministic synthetic fleet snapshot (FORMATS.md JSON)."""
    import sys

    from engine.export import dumps_snapshot
    from engine.generate import FleetSpec, generate_snapshot

    spec = FleetSpec(seed=seed, datacenters=datacenters, racks_per_datacenter=racks, hosts_per_rack=hosts_per_rack,
                     vms=vms, customers=customers, reboot_fraction=reboot_fraction,
                     empty_hosts_per_rack=empty_hosts_per_rack, non_migratable_fraction=non_migratable_fraction,
                     bandwidth_fraction=bandwidth_fraction, disabled_fraction=disabled_fraction,
                     pending_fraction=pending_fraction, memory_load=memory_load, host_scale=host_scale,
                     regional_customers=regional_customers, name=name)
    problems = spec.problems()
    if problems:
        fail([_option_names(p) for p in problems])
    check_output_path(out)
    try:
        snapshot = generate_snapshot(spec)
    except ValueError as exc:
        fail(str(exc))
    text = dumps_snapshot(snapshot)
    if out is None:
        sys.stdout.write(text)
    else:
        write_output(out, text)
        typer.echo(f"wrote {snapshot.name!r}: {len(snapshot.hosts)} hosts, {len(snapshot.vms)} VMs, "
                   f"{len(snapshot.customers)} customers to {out}", err=True)


def _option_names(problem: str) -> str:
    """'racks_per_datacenter must be at least 1' -> '--racks must be at least 1': name what the operator typed."""
    import re

    renamed = {"racks_per_datacenter": "racks"}
    return re.sub(r"\b([a-z]+(?:_[a-z]+)*)(?= must)",
                  lambda m: "--" + renamed.get(m.group(1), m.group(1)).replace("_", "-"), problem)


# --------------------------------------------------------------------------- limits


@limits_app.command("save")
def limits_save(
    name: Annotated[str, typer.Argument(help="Name of the limit set.")],
    file: Annotated[Path, typer.Argument(help="Limits document (FORMATS.md), .json or .yaml.")],
    db: DbOption = None,
) -> None:
    """Validate a limits document and save it under NAME (replacing a set of that name)."""
    from engine.documents import load_limits

    if not name.strip():
        fail("a limit set needs a non-empty name")
    with user_errors():
        limits = load_limits(file)
    from console.ops.limits import save_limit_set

    with ops_errors(), _reading(resolve_db(db), create=True) as engine:
        ref = save_limit_set(engine, name, limits)
    # say so when a set was overwritten: an operator may have meant a new name
    typer.echo(f"{'replaced' if ref.replaced else 'saved'} limit set {name!r}")


@limits_app.command("show")
def limits_show(name: Annotated[str, typer.Argument(help="Name of the limit set.")], db: DbOption = None) -> None:
    """Print the limit set NAME as FORMATS.md JSON."""
    from console.ops.limits import get_limit_set

    with ops_errors(), _reading(resolve_db(db)) as engine:
        limits = get_limit_set(engine, name)
    emit_json(limits.to_json_dict())


@limits_app.command("list")
def limits_list(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable list.")] = False,
) -> None:
    """List the saved limit sets."""
    from console.ops.limits import list_limit_sets

    path = resolve_db(db)
    sets = []
    if path.exists():  # a SQLite file that is not there has no sets (and is not created)
        with _reading(path) as engine:
            sets = list_limit_sets(engine)
    if as_json:
        emit_json([{"name": s.name, "saved_at": s.saved_at.isoformat()} for s in sets])
        return
    if not sets:
        typer.echo("no limit sets saved", err=True)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Limit sets", title_justify="left")
    table.add_column("name")
    table.add_column("saved (UTC)")
    for s in sets:
        table.add_row(markup_safe(s.name), f"{s.saved_at:%Y-%m-%d %H:%M:%S}")
    Console().print(table)


@limits_app.command("delete")
def limits_delete(name: Annotated[str, typer.Argument(help="Name of the limit set.")], db: DbOption = None) -> None:
    """Delete the limit set NAME."""
    from console.ops.limits import delete_limit_set

    with ops_errors(), _reading(resolve_db(db)) as engine:
        delete_limit_set(engine, name)
    typer.echo(f"deleted limit set {name!r}")
