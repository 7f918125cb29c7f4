"""The README's environment for hand-started Dask processes is the one fleetctl's own clusters use."""

import re
from pathlib import Path

from engine.executors.dask import cluster_environment


def test_readme_exports_the_cluster_config():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    exported = dict(re.findall(r"(DASK_[A-Z_]+)=(\S+)", text))
    assert exported == cluster_environment()
