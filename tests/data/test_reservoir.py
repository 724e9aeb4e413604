"""The seeded bottom-k sample: exactly N rows, each a row that was offered, in reading
order; the same for the same seed whatever the batch sizes, another for another seed."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from loopml.data.reservoir import Reservoir


def sampled(n: int, rows: int, seed: int, batch: int) -> np.ndarray:
    reservoir = Reservoir(rows, seed)
    for start in range(0, n, batch):
        ids = np.arange(start, min(start + batch, n))
        reservoir.add(pa.RecordBatch.from_pydict({"id": ids, "twice": ids * 2}))
    table = reservoir.table()
    assert reservoir.seen == n
    np.testing.assert_array_equal(table["twice"].to_numpy(), table["id"].to_numpy() * 2)
    return np.asarray(table["id"].to_numpy())


def test_exactly_n_distinct_rows_in_order_whatever_the_batches() -> None:
    ids = sampled(10_000, 1000, seed=42, batch=700)
    assert len(ids) == 1000 and len(set(ids)) == 1000
    assert (np.diff(ids) > 0).all()  # reading order
    assert ids.min() >= 0 and ids.max() < 10_000
    np.testing.assert_array_equal(ids, sampled(10_000, 1000, seed=42, batch=2500))
    assert len(set(ids) & set(sampled(10_000, 1000, seed=7, batch=700))) < 300
    # uniform: each tenth of the rows holds about a tenth of the sample
    counts = np.bincount(ids // 1000, minlength=10)
    assert counts.min() > 60 and counts.max() < 140


def test_fewer_rows_than_asked_keeps_them_all_and_an_empty_one_refuses() -> None:
    np.testing.assert_array_equal(sampled(300, 1000, seed=1, batch=128), np.arange(300))
    with pytest.raises(ValueError, match="no rows were added"):
        Reservoir(10, 0).table()
    with pytest.raises(ValueError, match="at least one row"):
        Reservoir(0, 0)
