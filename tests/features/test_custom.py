"""User functions by import path: resolved at fit, kept as a path, checked on load."""

from __future__ import annotations

import pickle
import sys
import types
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from tests.features import custom_funcs

from loopml.errors import DataError, SpecError
from loopml.features.custom import ImportedFunction, resolve_function


def test_resolve_both_path_forms() -> None:
    assert resolve_function("tests.features.custom_funcs:add_one") is custom_funcs.add_one
    assert resolve_function("tests.features.custom_funcs.add_one") is custom_funcs.add_one
    assert resolve_function("pandas:DataFrame.copy") is pd.DataFrame.copy


def test_resolve_errors() -> None:
    with pytest.raises(SpecError, match="not an import path"):
        resolve_function("add_one")
    with pytest.raises(SpecError, match="'nowhere_at_all:f' cannot be imported"):
        resolve_function("nowhere_at_all:f")


@pytest.fixture
def temporary_module() -> Iterator[str]:
    module = types.ModuleType("loopml_test_temporary")
    module.double = lambda frame: frame * 2  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield module.__name__
    sys.modules.pop(module.__name__, None)


def test_pickle_keeps_the_path_and_fails_on_load_without_the_module(
    temporary_module: str,
) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    fitted = ImportedFunction(f"{temporary_module}:double").fit(frame)
    data = pickle.dumps(fitted)
    assert b"double" in data and b"lambda" not in data and len(data) < 2000
    assert pickle.loads(data).transform(frame).tolist() == [[2.0], [4.0]]
    del sys.modules[temporary_module]
    with pytest.raises(SpecError, match=f"'{temporary_module}:double' cannot be imported"):
        pickle.loads(data)


def test_output_checks() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(DataError, match="gave 3 rows for 2"):
        ImportedFunction("tests.features.custom_funcs:wrong_rows").fit(frame)
    fitted = ImportedFunction("tests.features.custom_funcs:add_one").fit(frame)
    assert fitted.get_feature_names_out().tolist() == ["x_plus_one"]
    with pytest.raises(DataError, match="gave 2 columns, but 1 in training"):
        fitted.transform(pd.DataFrame({"x": [1.0], "y": [2.0]}))


def test_array_input_keeps_its_dtype() -> None:
    fitted = ImportedFunction("numpy:log1p").fit(np.array([[0.0], [1.0]]))
    np.testing.assert_allclose(fitted.transform(np.array([[0.0]])), [[0.0]])
