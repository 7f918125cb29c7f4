"""Every file fleetctl writes is all-or-nothing, through the real CLI (issue 11, item 4).

Faults are real: RLIMIT_FSIZE makes write() fail with EFBIG (as a full disk fails with ENOSPC),
a folder the process may not write to, a FIFO nobody reads, and `-` for standard output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening_support import drop_file_powers, small_file_limit

ROOT = Path(__file__).resolve().parents[1]
TOY, TOY_LIMITS = ROOT / "fixtures" / "toy.json", ROOT / "fixtures" / "toy-limits.json"
CAPACITY = ROOT.parent / "shared" / "malloovia-examples" / "problem1.yaml"
OLD = "the old plan, which must survive\n"


def fleetctl(*args: str, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("cwd", ROOT)
    return subprocess.run([sys.executable, "-m", "console.cli.main", *args], capture_output=True,
                          text=True, timeout=120, **kw)


def maintenance(*args: str, **kw) -> subprocess.CompletedProcess:
    return fleetctl("solve", "maintenance", "--snapshot", str(TOY), "--limits", str(TOY_LIMITS), "--solver",
                    "heuristic", *args, **kw)


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# (command args writing to OUT, the option naming that file)
WRITERS = {
    "maintenance --out": (lambda out: ["solve", "maintenance", "--snapshot", str(TOY), "--limits", str(TOY_LIMITS),
                                       "--solver", "heuristic", "--out", out], "--out"),
    "maintenance --csv": (lambda out: ["solve", "maintenance", "--snapshot", str(TOY), "--limits", str(TOY_LIMITS),
                                       "--solver", "heuristic", "--csv", out], "--csv"),
    "placement --out": (lambda out: ["solve", "placement", "--snapshot", str(ROOT / "fixtures" / "placement" /
                                     "triplets-20.json"), "--solver", "ffd", "--out", out], "--out"),
    "generate --out": (lambda out: ["generate", "--vms", "40", "--out", out], "--out"),
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_disk_full_keeps_the_old_file_and_exits_1(tmp_path, writer):
    make, option = WRITERS[writer]
    out = tmp_path / "result"
    out.write_text(OLD)
    res = fleetctl(*make(str(out)), preexec_fn=small_file_limit(len(OLD) + 10))
    assert res.returncode == 1, res.stderr
    assert f"{option} cannot write {out}: file too large; nothing was changed there" in res.stderr
    assert "Traceback" not in res.stderr
    assert out.read_text() == OLD and _temps(tmp_path) == []


def test_permission_denied_keeps_the_old_file_and_exits_1(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    out = folder / "plan.json"
    out.write_text(OLD)
    folder.chmod(0o555)
    try:
        res = maintenance("--out", str(out), preexec_fn=drop_file_powers)
    finally:
        folder.chmod(0o755)
    assert res.returncode == 1, res.stderr
    assert "permission denied" in res.stderr and "Traceback" not in res.stderr
    assert out.read_text() == OLD


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_fifo_is_refused_at_once_with_exit_2(tmp_path, writer):
    make, option = WRITERS[writer]
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    res = fleetctl(*make(str(fifo)))  # a hang would hit the 120 s timeout
    assert res.returncode == 2, res.stderr
    assert "FIFO" in res.stderr and "not a regular file" in res.stderr


def test_dash_writes_the_plan_to_stdout_and_no_file(tmp_path):
    res = fleetctl("solve", "maintenance", "--snapshot", str(TOY), "--limits", str(TOY_LIMITS), "--solver",
                   "heuristic", "--out", "-", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)  # the plan alone: no summary table mixed in
    assert plan["kind"] == "maintenance" and plan["migrations"]
    assert not (tmp_path / "-").exists() and not (ROOT / "-").exists()


def test_dash_for_two_outputs_is_refused(tmp_path):
    res = maintenance("--out", "-", "--json")
    assert res.returncode == 2 and "standard output" in res.stderr


def test_capacity_out_is_atomic_and_dash_is_stdout(tmp_path):
    out = tmp_path / "solution.yaml"
    out.write_text(OLD)
    res = fleetctl("solve", "capacity", str(CAPACITY), "--out", str(out), preexec_fn=small_file_limit(len(OLD) + 10))
    assert res.returncode == 1 and "file too large" in res.stderr, res.stderr
    assert out.read_text() == OLD and _temps(tmp_path) == []
    res = fleetctl("solve", "capacity", str(CAPACITY), "--out", "-", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Limiting_sets:") and not (tmp_path / "-").exists()


def test_export_refuses_a_fifo_and_keeps_a_file_it_cannot_replace(tmp_path):
    """(Disk full is not tried here: RLIMIT_FSIZE also stops SQLite's own files.)"""
    db = tmp_path / "fleet.db"
    assert fleetctl("load", str(TOY), "--db", str(db)).returncode == 0
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    res = fleetctl("export", "--db", str(db), "--out", str(fifo))
    assert res.returncode == 2 and "FIFO" in res.stderr, res.stderr
    folder = tmp_path / "locked"
    folder.mkdir()
    out = folder / "export.json"
    out.write_text(OLD)
    folder.chmod(0o555)
    try:
        res = fleetctl("export", "--db", str(db), "--out", str(out), preexec_fn=drop_file_powers)
    finally:
        folder.chmod(0o755)
    assert res.returncode == 1 and "permission denied" in res.stderr, res.stderr
    assert out.read_text() == OLD
    res = fleetctl("export", "--db", str(db), "--out", str(out))
    assert res.returncode == 0 and json.loads(out.read_text())["hosts"] and _temps(folder) == []


def test_bench_plot_without_matplotlib_says_how_to_get_it(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; sys.argv = ['fleetctl'] + sys.argv[1:]; "
            "from console.cli.main import main; main()")
    res = subprocess.run([sys.executable, "-c", code, "bench", "formulations", "--sizes", "4", "--horizons", "40",
                          "--plot", str(tmp_path / "f.png")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "matplotlib" in res.stderr and "fleetctl[bench]" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "f.png").exists()
