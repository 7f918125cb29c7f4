"""The numpy pricing of column generation (engine/placement/colgen_pricing.py) against brute force:
its patterns fit and are worth what it says, its upper bound is never below the true optimum, and
without a cutoff or truncation it finds the optimum."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from engine.placement.colgen_pricing import price


def _brute(w: np.ndarray, v: np.ndarray, m: np.ndarray, f: np.ndarray) -> float:
    best = 0.0
    for a in itertools.product(*(range(int(k) + 1) for k in m)):
        a = np.array(a)
        if np.all(a @ w <= f):
            best = max(best, float(a @ v))
    return best


def _instance(rng: random.Random):
    T, D = rng.randint(1, 6), rng.randint(1, 3)
    w = np.array([[rng.choice([0, rng.randint(1, 10)]) for _ in range(D)] for _ in range(T)])
    f = np.array([rng.randint(5, 20) for _ in range(D)])
    m = np.array([rng.randint(1, 3) for _ in range(T)])
    v = np.array([rng.random() for _ in range(T)])
    return w, v, m, f


@pytest.mark.parametrize("seed", range(4))
def test_exact_search_finds_the_optimum_and_bounds_it(seed):
    rng = random.Random(seed)
    for _ in range(60):
        w, v, m, f = _instance(rng)
        opt = _brute(w, v, m, f)
        best, upper, found = price(w, v, m, f, floor=0.0, target=opt - 0.3, keep=5)
        assert best == pytest.approx(opt)
        assert upper >= opt - 1e-9
        for value, counts in found:
            a = np.zeros(len(v), dtype=int)
            for t, k in counts.items():
                a[t] = k
            assert np.all(a @ w <= f) and np.all(a <= m)
            assert value == pytest.approx(float(a @ v)) and value > opt - 0.3


@pytest.mark.parametrize("seed", range(4))
def test_truncated_or_cut_off_searches_still_bound_the_optimum(seed):
    rng = random.Random(100 + seed)
    for _ in range(60):
        w, v, m, f = _instance(rng)
        opt = _brute(w, v, m, f)
        cutoff = rng.choice([0.0, opt - 0.2, opt + 0.1])
        states = rng.choice([1, 3, 1000])
        best, upper, _ = price(w, v, m, f, floor=0.0, target=opt - 0.5, keep=3, cutoff=cutoff, max_states=states)
        assert best <= opt + 1e-9
        assert upper >= opt - 1e-9          # a proven bound even when states were dropped
        if cutoff < opt - 1e-6 and states == 1000:
            assert best == pytest.approx(opt)   # nothing dropped: an optimum above the cutoff is found
