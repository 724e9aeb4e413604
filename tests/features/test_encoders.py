"""Rare-category grouping and the categorical encoders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.features.encoders import RARE, RareCategoryGrouper, make_encoder


def test_grouper_keeps_frequent_and_groups_the_rest() -> None:
    X = np.array([["a"]] * 6 + [["b"]] * 3 + [["c"]] + [[np.nan]], dtype=object)
    grouper = RareCategoryGrouper(min_frequency=0.2).fit(X)
    assert grouper.categories_[0].tolist() == ["a", "b"] and grouper.has_rare_ == [True]
    out = grouper.transform(np.array([["a"], ["c"], ["zzz"], [np.nan]], dtype=object))
    assert out[:3, 0].tolist() == ["a", RARE, RARE]
    assert pd.isna(out[3, 0])  # missing stays missing
    assert grouper.get_feature_names_out(["city"]).tolist() == ["city"]


def test_grouper_without_rare_leaves_unseen_values() -> None:
    grouper = RareCategoryGrouper(min_frequency=0.0).fit(np.array([["a"], ["b"]], dtype=object))
    assert grouper.has_rare_ == [False]
    assert grouper.transform(np.array([["new"]], dtype=object))[0, 0] == "new"


def test_grouper_ties_break_by_value() -> None:
    X = np.array([["b"], ["a"], ["c"], ["c"]], dtype=object)
    grouper = RareCategoryGrouper(min_frequency=0.0, max_categories=2).fit(X)
    assert grouper.categories_[0].tolist() == ["c", "a"]


def test_grouper_checks_its_parameters() -> None:
    with pytest.raises(ValueError, match="min_frequency=2"):
        RareCategoryGrouper(min_frequency=2).fit(np.array([["a"]], dtype=object))
    with pytest.raises(ValueError, match="max_categories=0"):
        RareCategoryGrouper(max_categories=0).fit(np.array([["a"]], dtype=object))


def test_unknown_encoding() -> None:
    with pytest.raises(ValueError, match="unknown encoding 'hash'"):
        make_encoder("hash", "classification")


def test_target_encoder_follows_the_task() -> None:
    assert make_encoder("target", "regression").target_type == "continuous"
    assert make_encoder("target", "classification").target_type == "auto"
