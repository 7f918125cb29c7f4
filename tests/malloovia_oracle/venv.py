"""Create (once) and use the separate virtual environment that holds Malloovia."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-malloovia"
MARKER = VENV / ".malloovia-2.3.2-ok"
RUNNER = Path(__file__).with_name("run_malloovia.py")
PIN = "malloovia==2.3.2"


class OracleUnavailable(RuntimeError):
    """Malloovia cannot be installed here (no network to PyPI, no venv module, ...)."""


def _python() -> Path:
    return VENV / "bin" / "python"


def _run_step(cmd: list[str], attempts: int = 3) -> None:
    """Run an install step; retry (a flaky network is not "impossible"), then give up loudly."""
    problem = ""
    for attempt in range(attempts):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            problem = f"{' '.join(cmd[:4])} failed: {exc}"
        else:
            if out.returncode == 0:
                return
            tail = " | ".join((out.stderr or out.stdout).strip().splitlines()[-4:])
            problem = f"{' '.join(cmd[:4])} exited {out.returncode}: {tail}"
        time.sleep(2 * (attempt + 1))
    raise OracleUnavailable(f"{problem} (after {attempts} attempts)")


def oracle_python() -> Path:
    """Path to the oracle venv's python, creating the venv if needed (serialised by a lock file)."""
    if MARKER.exists() and _python().exists():
        return _python()
    lock_path = REPO / ".venv-malloovia.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if MARKER.exists() and _python().exists():
                return _python()
            if VENV.exists():
                shutil.rmtree(VENV)  # a half-made venv from an interrupted run
            steps = [
                [sys.executable, "-m", "venv", str(VENV)],
                [str(_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PIN],
            ]
            for cmd in steps:
                _run_step(cmd)
            check = subprocess.run([str(_python()), "-c", "import malloovia, pulp"], capture_output=True, text=True)
            if check.returncode != 0:
                raise OracleUnavailable(f"malloovia installed but does not import: {check.stderr.strip()[-300:]}")
            MARKER.write_text("ok\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return _python()


def run_malloovia(problem_file: Path, problem_id: str, phase: str = "i", relaxed: bool = False,
                  stwp_problem_id: str | None = None, reserved: dict | None = None, timeout: float = 3600) -> dict:
    """Malloovia's answer: status, cost, reserved counts, times (and Phase II per-slot statuses).

    `reserved` fixes the Phase I reserved counts fed to Malloovia's Phase II (so both
    tools solve Phase II from the same counts). Malloovia leaves a CBC log per solve in
    the temp directory; it runs with a private TMPDIR that is removed afterwards.
    """
    python = oracle_python()
    args = {"file": str(Path(problem_file).resolve()), "problem": problem_id, "phase": phase, "relaxed": relaxed,
            "stwp_problem": stwp_problem_id, "reserved": reserved}
    tmp = tempfile.mkdtemp(prefix="malloovia-oracle-")
    try:
        env = dict(os.environ, TMPDIR=tmp, TEMP=tmp, TMP=tmp)
        out = subprocess.run([str(python), str(RUNNER), json.dumps(args)], capture_output=True, text=True,
                             timeout=timeout, env=env, cwd=tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if out.returncode != 0:
        raise RuntimeError(f"Malloovia run failed ({out.returncode}): {out.stderr.strip()[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
