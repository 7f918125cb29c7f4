"""A solver-neutral linear model held in numpy arrays, built a block of rows at a time.

Capacity models are regular (one row per app and level, one per limiting set and
level, ...), so each constraint family adds all its rows with a few vectorised
calls instead of one Python expression per row: building the 210k-variable Phase I
takes well under a second, where an expression-based model takes tens of seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

INF = float("inf")


@dataclass
class LinearModel:
    """min (or max) cost·x subject to row_lower ≤ A x ≤ row_upper, lower ≤ x ≤ upper."""

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    maximize: bool = False
    # Optional second objective, minimised once the first is optimal (lexicographic):
    # the first objective is then held within `lex_tolerance` of its optimum.
    then_minimize: Optional[np.ndarray] = None
    lex_tolerance: float = 1e-9
    lex_time_limit: Optional[float] = None   # cap on the second stage (its answer is only a tie-break)
    _rows: list = field(default_factory=list)      # (row ids, col ids, values) per block
    _row_lower: list = field(default_factory=list)
    _row_upper: list = field(default_factory=list)
    n_rows: int = 0

    @classmethod
    def with_columns(cls, n: int, integer: bool) -> "LinearModel":
        return cls(
            cost=np.zeros(n),
            lower=np.zeros(n),
            upper=np.full(n, INF),
            integer=np.full(n, integer, dtype=bool),
        )

    @property
    def n_cols(self) -> int:
        return len(self.cost)

    def add_rows(self, row_of: np.ndarray, cols: np.ndarray, vals: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Add len(lower) rows; entry k sits in new row row_of[k], column cols[k]."""
        lower = np.asarray(lower, dtype=float)
        upper = np.asarray(upper, dtype=float)
        self._rows.append((np.asarray(row_of, dtype=np.int64) + self.n_rows, np.asarray(cols, dtype=np.int64), np.asarray(vals, dtype=float)))
        self._row_lower.append(lower)
        self._row_upper.append(upper)
        self.n_rows += len(lower)

    def rowwise(self) -> dict:
        """The model as plain arrays (CSR matrix), ready to pickle to a solver process."""
        if self._rows:
            r = np.concatenate([b[0] for b in self._rows])
            c = np.concatenate([b[1] for b in self._rows])
            v = np.concatenate([b[2] for b in self._rows])
            keep = v != 0
            r, c, v = r[keep], c[keep], v[keep]
            order = np.lexsort((c, r))
            r, c, v = r[order], c[order], v[order]
            start = np.zeros(self.n_rows + 1, dtype=np.int64)
            np.cumsum(np.bincount(r, minlength=self.n_rows), out=start[1:])
            row_lower = np.concatenate(self._row_lower)
            row_upper = np.concatenate(self._row_upper)
        else:
            start, c, v = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
            row_lower = row_upper = np.zeros(0)
        return {
            "cost": self.cost, "lower": self.lower, "upper": self.upper, "integer": self.integer,
            "maximize": self.maximize, "then_minimize": self.then_minimize, "lex_tolerance": self.lex_tolerance, "lex_time_limit": self.lex_time_limit,
            "start": start, "index": c, "value": v, "row_lower": row_lower, "row_upper": row_upper,
        }
