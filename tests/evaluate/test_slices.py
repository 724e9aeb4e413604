"""Slices: metrics per value of a column, the worst slices, and the gaps between groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.errors import DataError
from loopml.evaluate.holdout import Scored
from loopml.evaluate.metrics import binary_metrics
from loopml.evaluate.slices import group_gaps, slice_labels, slice_metrics, worst_slices


@pytest.fixture(scope="module")
def scored() -> Scored:
    """A model that is right for every region but 'north', where it guesses at random."""
    rng = np.random.default_rng(0)
    n = 3000
    region = rng.choice(["north", "south", "east", "west"], size=n)
    age = rng.integers(18, 90, size=n)
    truth = (rng.random(n) < 0.3).astype(int)
    proba = np.where(truth == 1, 0.6 + 0.4 * rng.random(n), 0.4 * rng.random(n))
    north = region == "north"
    proba[north] = rng.random(north.sum())
    rows = pd.DataFrame({"region": region, "age": age})
    guess = (proba >= 0.5).astype(int)
    return Scored("binary", truth, proba, guess, rows, 0.5, ("no", "yes"))


def test_each_value_gets_the_metrics_of_its_rows(scored: Scored) -> None:
    slices = slice_metrics(scored, ["region"])
    assert sorted(s["value"] for s in slices) == ["east", "north", "south", "west"]
    assert sum(s["rows"] for s in slices) == len(scored)
    north = next(s for s in slices if s["value"] == "north")
    mask = scored.rows["region"].to_numpy() == "north"
    expected = binary_metrics(scored.y[mask], scored.score[mask])
    for name, value in expected.items():
        assert north["metrics"][name] == pytest.approx(value), name
    assert north["actual"] == pytest.approx(scored.y[mask].mean())


def test_the_failing_group_is_the_worst_slice(scored: Scored) -> None:
    every = slice_metrics(scored, ["region", "age"])
    worst = worst_slices(every, "roc_auc", 1)
    assert (worst[0]["column"], worst[0]["value"]) == ("region", "north")
    assert worst_slices(every, "log_loss", 1)[0]["value"] == "north"  # smaller is better


def test_gaps_show_unequal_treatment(scored: Scored) -> None:
    (gap,) = group_gaps(slice_metrics(scored, ["region"]), ["recall", "accuracy"])
    assert gap["column"] == "region" and gap["slices"] == 4
    assert gap["gaps"]["accuracy"] > 0.3  # north is far worse than the rest
    assert 0 <= gap["gaps"]["predicted"] <= 1


def test_numbers_with_many_values_are_binned() -> None:
    labels = slice_labels(pd.Series(np.arange(1000, dtype=float)))
    assert labels.nunique() == 5
    few = slice_labels(pd.Series([1, 2, 2, None]))
    assert set(few) == {"1", "2", "(missing)"}


def test_small_slices_are_left_out(scored: Scored) -> None:
    slices = slice_metrics(scored, ["region"], min_rows=len(scored))
    assert slices == []


def test_unknown_column_names_it(scored: Scored) -> None:
    with pytest.raises(DataError, match="evaluation.slices: column 'income'.*region"):
        slice_metrics(scored, ["income"])
