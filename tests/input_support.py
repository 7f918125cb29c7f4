"""Shared helpers of the bad-input tests (tests/test_input_*.py): run the real CLI, check that a
refusal is exit 2 with a message and no traceback, and that the database did not change."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from console.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "fixtures" / "toy.json"
TOY_LIMITS = ROOT / "fixtures" / "toy-limits.json"
VBP = ROOT / "fixtures" / "placement" / "pairs.vbp"


def run(*args, env: dict | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def run_process(*args, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """The CLI in a real process (a hang becomes a TimeoutExpired, i.e. a failure)."""
    return subprocess.run([sys.executable, "-m", "console.cli.main", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})})


def assert_refused(result, *expected: str) -> str:
    """Exit 2, each `expected` text in the output, no traceback; returns the output."""
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    output = getattr(result, "output", None)
    if output is None:
        output = result.stdout + result.stderr
    assert code == 2, output
    assert "Traceback" not in output and "Usage:" not in output, output  # ours, not a crash or a usage error
    for text in expected:
        assert text in output, (text, output)
    if hasattr(result, "exception") and result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return output


def digest(path: Path) -> str | None:
    """The database file's content hash (None when it does not exist)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def toy_db(tmp_path: Path) -> Path:
    """A database holding the toy fleet."""
    db = tmp_path / "fleet.db"
    r = run("load", TOY, "--db", db)
    assert r.exit_code == 0, r.output
    return db


def toy_doc() -> dict:
    return json.loads(TOY.read_text())


def write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc))
    return path


CAPACITY = """\
Limiting_sets:
  - &zone {id: zone, max_vms: 10, max_cores: 40}
Instance_classes:
  - &res {id: res, limiting_sets: [*zone], max_vms: 0, price: 876, time_unit: y, is_reserved: true, cores: 2}
  - &dem {id: dem, limiting_sets: [*zone], max_vms: 5, price: 0.2, time_unit: h, is_reserved: false}
Apps:
  - &web {id: web, name: Web}
Workloads:
  - &wl {id: wl, app: *web, time_unit: h, WORKLOAD}
Performances:
  - &perf
    id: perf
    time_unit: m
    values:
      - {instance_class: *res, app: *web, value: 0.25}
      - {instance_class: *dem, app: *web, value: 0.25}
Problems:
  - {id: p, workloads: [*wl], instance_classes: [*res, *dem], performances: *perf}
"""


def capacity_file(folder: Path, workload: str = "values: [10, 20, 30]", name: str = "problem.yaml") -> Path:
    """A small Malloovia problem file whose workload entry ends with `workload`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(CAPACITY.replace("WORKLOAD", workload))
    return path
