"""Console start-up and the remaining #12 trust items: one limits validation for stored sets,
the executor chosen on Solve, metrics of a plan made for another fleet, a cheap Runs refresh."""

from __future__ import annotations

import json

import pytest

from console.store.db import open_engine
from console.store.limits_store import load_limits
from console.store.tables import LimitSetRow, utcnow
from engine.documents import DocumentError


def test_a_stored_limit_set_goes_through_the_one_limits_validation(tmp_path):
    """A set saved by an older version (or by hand) with 10^26 per datacenter must be refused
    with the CLI's message, not handed to a solve that overflows."""
    engine = open_engine(tmp_path / "s.db")
    body = json.dumps({"concurrency": {"per_datacenter": 10 ** 26}})
    with engine.begin() as conn:
        conn.execute(LimitSetRow.__table__.insert().values(name="huge", body=body, saved_at=utcnow()))
    with pytest.raises(DocumentError) as info:
        load_limits(engine, "huge")
    text = str(info.value)
    assert "limit set 'huge'" in text and "per_datacenter" in text and "at most" in text
    engine.dispose()
