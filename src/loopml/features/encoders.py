"""Categorical encodings: rare-category grouping, then one-hot, ordinal or target encoding;
ordered categories coded in their order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, TargetEncoder
from sklearn.utils.validation import check_is_fitted, validate_data

from loopml.features.params import check_number
from loopml.features.transform import to_strings

RARE = "__rare__"  # the category that rare (and unseen) categories are grouped into
MISSING = "__missing__"  # the category of missing values under ``impute: constant``
UNKNOWN_ORDINAL = -1  # the ordinal code of a category not seen in training
TARGET_FOLDS = 5  # folds of target encoding's cross fitting


class RareCategoryGrouper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Group the categories of each column that are in less than ``min_frequency`` of the
    training rows, and those beyond the ``max_categories`` most frequent, into one
    ``rare_label`` category.

    When a column had such categories in training, a category first seen at transform
    time joins ``rare_label`` too; otherwise it is left as it is (the encoder after this
    one decides what an unknown category becomes). Missing values stay missing.

    Attributes:
        categories_: per column, the kept categories, most frequent first.
        has_rare_: per column, whether training had categories to group.
    """

    def __init__(
        self,
        min_frequency: float = 0.01,
        max_categories: int | None = None,
        rare_label: str = RARE,
    ) -> None:
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.rare_label = rare_label

    def fit(self, X: Any, y: Any = None) -> RareCategoryGrouper:
        check_number(self, "min_frequency", low=0.0, high=1.0)
        check_number(self, "max_categories", low=1, integer=True, optional=True)
        values = validate_data(self, X, dtype=None, ensure_all_finite=False, reset=True)
        values = np.asarray(values, dtype=object)
        self.categories_: list[np.ndarray] = []
        self.has_rare_: list[bool] = []
        n_rows = max(len(values), 1)
        for i in range(values.shape[1]):
            counts = pd.Series(values[:, i]).value_counts(dropna=True)
            order = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            kept = [value for value, count in order if count / n_rows >= self.min_frequency]
            if self.max_categories is not None:
                kept = kept[: self.max_categories]
            self.categories_.append(np.asarray(kept, dtype=object))
            self.has_rare_.append(len(kept) < len(order))
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "categories_")
        values = validate_data(self, X, dtype=None, ensure_all_finite=False, reset=False)
        out = np.array(values, copy=True)
        for i, kept in enumerate(self.categories_):
            if not self.has_rare_[i]:
                continue
            column = pd.Series(out[:, i])
            rare = (column.notna() & ~column.isin(kept)).to_numpy()
            if rare.any():
                out = out.astype(object, copy=False)  # numbers stay numbers until grouped
                out[rare, i] = self.rare_label
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


def ordinal_pipeline(orders: Sequence[Sequence[str]], impute: str) -> Pipeline:
    """Category strings coded ``0, 1, ...`` in each column's order (``orders``: one list
    of levels per column, lowest first); a missing value or a level its order lacks is
    imputed: the most frequent code of training (``most_frequent``) or
    ``UNKNOWN_ORDINAL`` (``constant``)."""
    fill = {"fill_value": float(UNKNOWN_ORDINAL)} if impute == "constant" else {}
    encoder = OrdinalEncoder(
        categories=[list(order) for order in orders],
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        dtype=np.float64,
    )
    return Pipeline(
        [
            ("to_str", FunctionTransformer(to_strings, feature_names_out="one-to-one")),
            ("encode", encoder),
            ("impute", SimpleImputer(strategy=impute, keep_empty_features=True, **fill)),
        ]
    )


def make_encoder(encoding: str, task: str, random_state: int = 42) -> Any:
    """An unfitted encoder of category strings to floats.

    - ``onehot``: one column per category; an unknown category gives all zeros;
    - ``ordinal``: one column of category codes; an unknown category gives -1;
    - ``target``: scikit-learn's ``TargetEncoder``, the smoothed mean of the target per
      category (one column per class for multiclass), cross-fitted on ``TARGET_FOLDS``
      shuffled folds while training; an unknown category gives the overall mean.

    Raises:
        ValueError: unknown encoding.
    """
    if encoding == "onehot":
        return OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    if encoding == "ordinal":
        return OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=UNKNOWN_ORDINAL,
            encoded_missing_value=UNKNOWN_ORDINAL,
            dtype=np.float64,
        )
    if encoding == "target":
        if task == "regression":
            cv: Any = KFold(TARGET_FOLDS, shuffle=True, random_state=random_state)
            return TargetEncoder(target_type="continuous", cv=cv)
        cv = StratifiedKFold(TARGET_FOLDS, shuffle=True, random_state=random_state)
        return TargetEncoder(target_type="auto", cv=cv)
    raise ValueError(f"unknown encoding {encoding!r}; use onehot, ordinal or target")
