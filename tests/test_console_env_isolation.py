"""The operator's FLEETCTL_EXECUTOR never reaches a test (the Solve pictures show the executor field)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_executor_variable_is_unset_inside_tests():
    assert "FLEETCTL_EXECUTOR" not in os.environ


def test_an_operators_executor_variable_does_not_leak_into_a_test_session():
    """Run the test above in a session started with the variable set: conftest must unset it."""
    env = {**os.environ, "FLEETCTL_EXECUTOR": "dask://10.0.0.9:8786"}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          f"{Path(__file__).name}::test_executor_variable_is_unset_inside_tests"],
                         cwd=Path(__file__).parent, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
