"""The profile shows an ordinal column's levels in their order, not by frequency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loopml.domain import ColumnKind
from loopml.profile import profile_frame
from loopml.profile.charts import category_figure
from loopml.profile.stats import ordered_category_stats

LEVELS = ["very low", "low", "medium", "high", "very high"]


def churn_like(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    s = rng.choice(LEVELS, n, p=[0.05, 0.1, 0.15, 0.3, 0.4])
    y = np.where(np.isin(s, ["very low", "low"]) | (rng.random(n) < 0.2), "yes", "no")
    return pd.DataFrame({"satisfaction": s, "churned": y})


def test_an_ordinal_column_shows_its_levels_in_order() -> None:
    profile = profile_frame(churn_like(), target="churned", task="classification")
    column = profile.column("satisfaction")
    assert column.kind is ColumnKind.ORDINAL
    assert column.categories is not None
    assert [label for label, _ in column.categories.top] == LEVELS  # not most frequent first
    figure = category_figure(column)
    assert figure is not None and figure["data"][0]["y"][::-1] == LEVELS  # lowest on top
    relation = next(r for r in profile.relations if r.feature == "satisfaction")
    assert relation.ordered and list(relation.labels[:5]) == LEVELS


def test_a_declared_order_is_used_and_other_values_are_counted_apart() -> None:
    frame = churn_like()
    frame.loc[:4, "satisfaction"] = "unsure"
    profile = profile_frame(
        frame, target=None, task=None, kinds={"satisfaction": ColumnKind.ORDINAL},
        orders={"satisfaction": LEVELS[::-1]},
    )  # fmt: skip
    categories = profile.column("satisfaction").categories
    assert categories is not None
    assert [label for label, _ in categories.top] == LEVELS[::-1]
    assert (categories.other, categories.other_categories) == (5, 1)


def test_ordered_category_stats_merge_repeated_labels_and_skip_absent_levels() -> None:
    stats = ordered_category_stats(["b", "a", "b", "x"], np.array([1, 2, 3, 0]), ["a", "b", "c"])
    assert stats.top == (("a", 2), ("b", 4)) and stats.other == 0
