"""Load benchmark: time and peak memory to validate and store 1k, 10k and 100k-VM fleets.

For each size a fresh process generates the fleet file, then another fresh
process does what `fleetctl load` does (read + schema + checks, save in one
transaction into a new SQLite file) and reads it back (`current_snapshot`,
`snapshot_summary`). Peak memory is that process's max RSS, so each size is
measured alone. Target: 100k VMs validated and saved in under 10 s on 2 cores.

    .venv/bin/python benchmarks/bench_load.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# VMs -> (datacenters, racks per datacenter)
LAYOUT = {1_000: (1, 4), 10_000: (3, 6), 100_000: (10, 10)}

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, path, vms, dcs, racks = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = {}
if mode == "generate":
    from engine.export import dumps_snapshot
    from engine.generate import FleetSpec, generate_snapshot
    t = time.perf_counter()
    s = generate_snapshot(FleetSpec(seed=1, datacenters=dcs, racks_per_datacenter=racks, vms=vms, reboot_fraction=0.25))
    out["generate_s"] = time.perf_counter() - t
    path.write_text(dumps_snapshot(s))
    out["hosts"] = len(s.hosts)
    out["file_mb"] = path.stat().st_size / 1e6
else:
    from console.store.db import close_engine, open_engine
    from console.store.fleet_store import current_snapshot, save_snapshot, snapshot_summary
    from engine.documents import load_snapshot
    db = path.with_suffix(".db")
    t0 = time.perf_counter()
    s = load_snapshot(path)                      # read + schema + cross-record checks
    t1 = time.perf_counter()
    engine = open_engine(db)
    save_snapshot(engine, s, source=str(path), check=False)   # already checked, as `fleetctl load` does
    t2 = time.perf_counter()
    del s
    back = current_snapshot(engine)
    t3 = time.perf_counter()
    summary = snapshot_summary(engine)
    t4 = time.perf_counter()
    close_engine(engine)
    assert len(back.vms) == vms and summary.vms == vms
    out.update(validate_s=t1 - t0, save_s=t2 - t1, read_s=t3 - t2, summary_s=t4 - t3,
               db_mb=db.stat().st_size / 1e6)
usage = resource.getrusage(resource.RUSAGE_SELF)
out["peak_rss_mb"] = usage.ru_maxrss / 1024
out["cpu_s"] = usage.ru_utime + usage.ru_stime  # whole process, imports included
print(json.dumps(out))
"""


def child(mode: str, path: Path, vms: int) -> dict:
    dcs, racks = LAYOUT.get(vms, (max(1, vms // 10_000), 10))
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), str(vms), str(dcs), str(racks)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated VM counts")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for vms in (int(x) for x in args.sizes.split(",")):
            path = Path(tmp) / f"fleet-{vms}.json"
            gen = child("generate", path, vms)
            load = child("load", path, vms)
            rows.append((vms, gen, load))

    from rich.console import Console
    from rich.table import Table

    table = Table(title="fleetctl load: validate + save in one transaction, then read back (fresh process per size)")
    for col in ("VMs", "hosts", "file MB", "generate s", "validate s", "save s", "load total s", "read back s",
                "summary s", "DB MB", "load process CPU s", "peak RSS MB (load)"):
        table.add_column(col, justify="right")
    for vms, gen, load in rows:
        total = load["validate_s"] + load["save_s"]
        table.add_row(f"{vms:,}", f"{gen['hosts']:,}", f"{gen['file_mb']:.1f}", f"{gen['generate_s']:.2f}",
                      f"{load['validate_s']:.2f}", f"{load['save_s']:.2f}",
                      f"[{'green' if total < 10 else 'red'}]{total:.2f}[/]", f"{load['read_s']:.2f}",
                      f"{load['summary_s']:.3f}", f"{load['db_mb']:.1f}", f"{load['cpu_s']:.2f}",
                      f"{load['peak_rss_mb']:.0f}")
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
