"""Sub-solve payloads: a component job pickles to columns and back to an equal job, smaller than its objects."""

import pickle
from dataclasses import dataclass
from typing import Optional

from engine.columnar import Columns
from engine.generate import FleetSpec, generate_snapshot
from engine.maintenance.problem import build_problem
from engine.maintenance.solve import ComponentJob
from engine.model import Limits


@dataclass(frozen=True)
class Row:
    n: int
    big: int
    x: float
    name: str
    maybe: Optional[int]
    fixed: tuple[int, ...]
    ragged: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...]


def test_columns_round_trip_every_kind_of_field():
    rows = [Row(1, 2**40, 0.5, "a", None, (1, 2), (), ((1, 2),)),
            Row(-3, -2**40, 1.25, "[/]", 7, (3, 4), (5, 6, 7), ()),
            Row(0, 0, 2.0, "", 0, (0, 0), (8,), ((3, 4), (5, 6)))]
    columns = Columns.of(rows, Row)
    assert pickle.loads(pickle.dumps(columns)).rows() == tuple(rows)
    kinds = {name: kind for name, kind, _ in columns.columns}
    assert kinds["n"] == "int" and kinds["fixed"] == "tuple2d" and kinds["ragged"] == "csr"
    assert Columns.of([], Row).rows() == ()


def test_a_component_job_pickles_compactly_to_an_equal_job():
    snapshot = generate_snapshot(FleetSpec(seed=1, datacenters=1, vms=3000, reboot_fraction=1.0))
    problem = build_problem(snapshot, Limits())
    job = ComponentJob(problem=problem, solver="cp-sat", time_limit_s=5, workers=1, seed=3, restricted=False,
                       deadline=float("inf"), deterministic=True)
    payload = pickle.dumps(job, protocol=5)
    assert pickle.loads(payload) == job
    assert len(payload) < 0.6 * len(pickle.dumps(problem, protocol=5))
