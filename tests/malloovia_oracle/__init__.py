"""Malloovia as an oracle: its own virtual environment (it pins PuLP 2.0), driven by a script.

`oracle_python()` creates `<repo>/.venv-malloovia` on first use (pip install
malloovia==2.3.2 from PyPI) and caches it; `run_malloovia()` solves a problem file
there and returns Malloovia's answer as a dict.
"""

from .venv import OracleUnavailable, oracle_python, run_malloovia  # noqa: F401
