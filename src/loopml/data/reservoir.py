"""A seeded uniform sample of exactly N rows from batches that never fit in memory together.

Each row read gets a uniform random key from a generator seeded once; the sample is the
N rows with the smallest keys (a one-pass "bottom-k" reservoir), kept in the order the
rows were read. Every set of N rows is equally likely, the same seed gives the same
sample whatever the batch sizes (the keys are drawn in row order), and at most N rows
plus one batch are held at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Reservoir:
    """The ``rows`` rows with the smallest seeded keys among the batches ``add``-ed.

    Args:
        rows: how many rows to keep (all of them when fewer are added).
        seed: the seed of the keys; the same seed, the same rows.
    """

    def __init__(self, rows: int, seed: int) -> None:
        if rows < 1:
            raise ValueError(f"a sample needs at least one row, not {rows}")
        self.rows = rows
        self.seed = seed
        self.seen = 0
        self._rng = np.random.default_rng(seed)
        self._keys = np.empty(0)
        self._table: Any = None  # pyarrow.Table of the rows kept, in reading order

    def add(self, batch: Any) -> None:
        """Offer the rows of a pyarrow RecordBatch (the schema of the first batch)."""
        import pyarrow as pa

        keys = self._rng.random(batch.num_rows)
        self.seen += batch.num_rows
        new = pa.Table.from_batches([batch])
        if self._table is not None and len(self._keys) == self.rows:
            chosen = keys < self._keys.max()  # only these can displace a kept row
            new, keys = new.filter(pa.array(chosen)), keys[chosen]
        table = new if self._table is None else pa.concat_tables([self._table, new])
        keys = np.concatenate([self._keys, keys])
        if len(keys) > self.rows:
            keep = np.sort(np.argpartition(keys, self.rows - 1)[: self.rows])
            table, keys = table.take(pa.array(keep)), keys[keep]
        self._table, self._keys = table, keys

    def table(self) -> Any:
        """The rows kept, as a pyarrow Table in reading order; ValueError when none."""
        if self._table is None:
            raise ValueError("no rows were added to the sample")
        return self._table.combine_chunks()
