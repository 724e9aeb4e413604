"""Ordinal columns drift on their levels' ranks: a shift up the scale, not a reshuffle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.distributions import statistics as st
from loopml.distributions.columns import ordinal_reference
from loopml.distributions.measure import column_orders, column_types, measure_frames
from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.spec.monitoring import DriftSettings

LEVELS = ["very low", "low", "medium", "high", "very high"]
SCHEMA = Schema(
    (
        ColumnSchema("s", ColumnKind.ORDINAL, "str", categories=tuple(LEVELS)),
        ColumnSchema("job", ColumnKind.CATEGORICAL, "str"),
    )
)


def frame(n: int, p: list[float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"s": rng.choice(LEVELS, n, p=p), "job": rng.choice(["a", "b"], n)})


def test_an_ordinal_column_gets_rank_tests_in_its_order() -> None:
    assert column_types(frame(10, [0.2] * 5, 0), SCHEMA) == {"s": "ordinal", "job": "categorical"}
    assert column_orders(SCHEMA) == {"s": tuple(LEVELS)}
    reference = frame(2000, [0.2] * 5, 0)
    up = frame(500, [0.05, 0.1, 0.2, 0.3, 0.35], 1)
    same = frame(500, [0.2] * 5, 2)
    types, orders = column_types(reference, SCHEMA), column_orders(SCHEMA)
    moved = measure_frames(reference, up, types, orders=orders)[0]
    assert (moved.method, moved.column_type, moved.drifted) == ("ks", "ordinal", True)
    assert "'very low' 2" in moved.note  # the levels that moved
    assert not measure_frames(reference, same, types, orders=orders)[0].drifted
    large = DriftSettings(large_sample=100)
    moved = measure_frames(reference, up, types, large, orders)[0]
    assert moved.method == "wasserstein" and moved.drifted


def test_the_rank_statistics_see_order_where_chi_square_does_not() -> None:
    reference = np.array([100, 100, 100, 100, 100])
    near = np.array([100, 100, 100, 150, 50])  # mass moved one level down
    far = np.array([50, 100, 100, 100, 150])  # the same mass moved across the scale
    assert st.ordered_wasserstein(reference, far) > 3 * st.ordered_wasserstein(reference, near)
    assert st.ordered_ks(reference, far)[0] > st.ordered_ks(reference, near)[0]
    assert st.ordered_wasserstein(reference, reference) == 0.0
    assert st.ordered_ks(reference, np.zeros(5)) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("order", "expected"),
    [(None, ["high", "low", "medium"]), (["medium", "low"], ["medium", "low", "high"])],
)
def test_levels_outside_the_order_follow_it(order, expected) -> None:
    values = pd.Series(["low", "high", "medium", None, "low"])
    reference = ordinal_reference("s", values, order)
    assert list(reference.categories) == expected
    counts = dict(zip(reference.categories, reference.counts, strict=False))
    assert counts == {"low": 2, "high": 1, "medium": 1} and reference.missing == 1
