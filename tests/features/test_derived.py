"""Derived columns computed by the safe expression evaluator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.errors import DataError
from loopml.features.derived import DerivedColumns, compute


def test_compute_arithmetic_over_columns() -> None:
    df = pd.DataFrame({"a": [1, 2, 0], "b": [2.0, None, 0.0]})
    np.testing.assert_allclose(compute(df, "a / b", where="w"), [0.5, np.nan, np.nan])
    np.testing.assert_allclose(compute(df, "a // 0", where="w"), [np.nan] * 3)
    np.testing.assert_allclose(compute(df, "(a + 1) ** 2", where="w"), [4, 9, 1])
    np.testing.assert_allclose(compute(df, "a >= 2", where="w"), [0, 1, 0])
    np.testing.assert_allclose(compute(df, "3", where="w"), [3, 3, 3])
    np.testing.assert_allclose(compute(df, "1 / 0", where="w"), [np.nan] * 3)


def test_compute_reads_text_numbers_and_backticks() -> None:
    df = pd.DataFrame({"monthly fee": pd.Series(["10", "x", None], dtype="str")})
    np.testing.assert_allclose(compute(df, "`monthly fee` * 2", where="w"), [20, np.nan, np.nan])


def test_compute_errors_name_the_field() -> None:
    df = pd.DataFrame({"age": [1, 2]})
    with pytest.raises(DataError, match=r"derived\[0\].*Did you mean 'age'"):
        compute(df, "agee + 1", where="features.derived[0]")
    with pytest.raises(DataError, match="attribute access"):
        compute(df, "age.__class__", where="w")


def test_derived_columns_chain_and_name_outputs() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [4.0, 8.0]})
    derive = DerivedColumns((("ratio", "b / a"), ("double", "ratio * 2"))).fit(df)
    out = derive.transform(df)
    assert out.columns.tolist() == ["a", "b", "ratio", "double"]
    assert out["double"].tolist() == [8.0, 8.0]
    assert derive.get_feature_names_out().tolist() == ["a", "b", "ratio", "double"]
    assert df.columns.tolist() == ["a", "b"]  # the input is not changed


def test_derived_columns_refuse_a_taken_name_and_arrays() -> None:
    df = pd.DataFrame({"a": [1.0]})
    with pytest.raises(ValueError, match="'a' is already a column"):
        DerivedColumns((("a", "a + 1"),)).fit(df)
    with pytest.raises(TypeError, match="DataFrame"):
        DerivedColumns((("b", "a + 1"),)).fit(df.to_numpy())
