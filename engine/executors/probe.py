"""A progress probe for executors: a job whose reports carry its worker's wall clock, so whoever receives
them measures report → callback latency (bench_scaleout.py --progress, tests/test_scaleout_dask.py).

In the engine (not in a benchmark or test module) so that any worker that has the engine can run it.
"""

from __future__ import annotations

import time

ROUND_S = 0.2   # between a round's number and its burst of schedules
BURST = 4       # incumbent schedules per round (the Dask worker coalesces them: at most one per 0.5 s goes out)
BURST_GAP_S = 0.05


def stamped_reports(rounds: int, progress, cancel) -> int:
    """`rounds` times: a number {"objective", "at": sent}, then a burst of schedules {"schedule": sent}.
    Returns `rounds`."""
    for k in range(rounds):
        progress({"objective": 100 - k, "at": time.time()})
        time.sleep(ROUND_S)
        for _ in range(BURST):
            progress({"schedule": time.time()})
            time.sleep(BURST_GAP_S)
    return rounds
