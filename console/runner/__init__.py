"""Background execution of runs: worker processes, per-run executors, dispatch to the engine.

Callers use `enqueue_background` (queue + make sure a worker runs) and
`ensure_worker`; the store API for reading runs is `console.store.runs`.
"""

from console.runner.submit import enqueue_background, ensure_worker, wait_for_run

__all__ = ["enqueue_background", "ensure_worker", "wait_for_run"]
