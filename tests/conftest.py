"""Suite-wide set-up.

OR-Tools is loaded first: PuLP 3 imports highspy when it is installed, and OR-Tools
cannot be loaded after highspy in one process (or-tools issue 5246, NOTES.md). The
other order is safe, so whatever order the test modules import solvers in, CP-SAT
stays usable in this process.
"""

from ortools.sat.python import cp_model  # noqa: F401  (import order matters, see above)

import os

import pytest

# A bound above a valid plan is a bug: in tests it raises instead of becoming a note (bound_check.py).
os.environ.setdefault("FLEETCTL_STRICT_BOUNDS", "1")
# Detached workers that tests cause (a CLI's `runs submit`, the console) stop once this pytest process is
# gone, instead of idling on for minutes (console/runner/worker.py); tests still stop their own.
os.environ["FLEETCTL_WORKER_OWNER_PID"] = str(os.getpid())


@pytest.fixture(autouse=True)
def _no_operator_executor(monkeypatch):
    """The operator's FLEETCTL_EXECUTOR must not leak into tests (the Solve pictures show the executor):
    a test that wants one sets it itself."""
    monkeypatch.delenv("FLEETCTL_EXECUTOR", raising=False)
