"""The one relative-gap rule every screen and command shows."""

import pytest

from engine.progress import ProgressEvent, relative_gap


@pytest.mark.parametrize("objective, bound, gap", [
    (100, 90, 0.1), (190, 190, 0.0), (100, 120, 0.0),   # a bound above the objective is clamped to 0
    (None, 90, None), (100, None, None), (0, 0, None),
])
def test_relative_gap(objective, bound, gap):
    assert relative_gap(objective, bound) == (None if gap is None else pytest.approx(gap))
    assert ProgressEvent(1.0, objective, bound).gap == relative_gap(objective, bound)
