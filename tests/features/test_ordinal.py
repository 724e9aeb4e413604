"""Ordinal columns and ``order`` overrides are coded in their order, not alphabetically."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.errors import SpecError
from loopml.features.compile import compile_transform
from loopml.spec.features import FeaturesSpec

CUT = ["Fair", "Good", "Very Good", "Premium", "Ideal"]  # alphabetically: F, G, I, P, V
SIGNATURE = Schema(
    (
        ColumnSchema("cut", ColumnKind.CATEGORICAL, "str", categories=tuple(sorted(CUT))),
        ColumnSchema("size", ColumnKind.ORDINAL, "str", categories=("small", "medium", "large")),
        ColumnSchema("day", ColumnKind.DATETIME, "str"),
    )
)
FRAME = pd.DataFrame(
    {
        "cut": CUT * 2,
        "size": ["large", "small", "medium", "small", None] * 2,
        "day": ["2024-01-01"] * 10,
    }
)


def fitted(**fields: Any) -> tuple[Any, list[str]]:
    transform = compile_transform(SIGNATURE, FeaturesSpec.model_validate(fields), "regression")
    transform.fit(FRAME, np.arange(len(FRAME), dtype=float))
    return transform, list(transform.get_feature_names_out())


def coded(transform: Any, names: list[str], frame: pd.DataFrame, name: str) -> list[float]:
    return list(transform.transform(frame)[:, names.index(name)])


def test_an_ordinal_column_is_coded_in_its_order_and_missing_is_imputed():
    transform, names = fitted()
    frame = pd.DataFrame({"cut": ["Fair"] * 4, "size": ["small", "medium", "large", "huge"],
                          "day": ["2024-01-01"] * 4})  # fmt: skip
    assert coded(transform, names, frame, "ordinal__size") == [0.0, 1.0, 2.0, -1.0]
    assert coded(transform, names, FRAME, "ordinal__size")[4] == -1.0  # impute: constant
    transform, names = fitted(categorical={"impute": "most_frequent"})
    assert coded(transform, names, frame, "ordinal__size")[3] == 0.0  # the most frequent
    assert "categorical__cut_Fair" in names  # a plain categorical column is one-hot as before


def test_an_order_override_codes_a_categorical_column_in_that_order():
    transform, names = fitted(overrides={"cut": {"encoding": "ordinal", "order": CUT}})
    assert coded(transform, names, FRAME, "ordinal__cut")[:5] == [0.0, 1.0, 2.0, 3.0, 4.0]
    transform, names = fitted(overrides={"cut": {"encoding": "ordinal"}})
    codes = coded(transform, names, FRAME, "categorical_ordinal_constant__cut")[:5]
    assert codes == [0.0, 1.0, 4.0, 3.0, 2.0]  # without an order: alphabetical, as before


def test_an_override_may_encode_an_ordinal_column_otherwise():
    _, names = fitted(overrides={"size": {"encoding": "onehot"}})
    assert "categorical__size_small" in names  # one-hot, the default encoding
    _, names = fitted(overrides={"size": {"order": ["large", "medium", "small"]}})
    assert "ordinal__size" in names


def test_an_order_on_a_date_column_is_refused():
    with pytest.raises(SpecError, match="features.overrides.day: 'order' does not apply"):
        fitted(overrides={"day": {"order": ["a", "b"]}})
