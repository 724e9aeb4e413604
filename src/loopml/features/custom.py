"""User features: a function of yours, named by import path, applied to some columns.

The fitted transformer keeps the import path, never the function object: the pickle stays
small and holds no code, and the module must be importable (installed, or on the path)
wherever the model is trained, loaded and served. Loading a model whose function no
longer imports fails at once with a ``SpecError`` naming the path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from loopml.errors import DataError, SpecError


def resolve_function(path: str) -> Callable[[pd.DataFrame], Any]:
    """The callable that ``path`` names: ``package.module:function`` (the part after
    ``:`` may be dotted, ``module:Class.method``) or ``package.module.function``.

    Raises:
        SpecError: the module does not import, has no such attribute, or it is not
            callable.
    """
    if ":" in path:
        module_name, _, attribute = path.partition(":")
    else:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise SpecError(
            f"features.custom: '{path}' is not an import path; write 'package.module:function'"
        )
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is reported the same way
        raise SpecError(
            f"features.custom: function '{path}' cannot be imported: module '{module_name}' "
            f"fails to import ({type(exc).__name__}: {exc}). Install it or put it on the "
            "Python path wherever the model is trained and served"
        ) from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise SpecError(
                f"features.custom: function '{path}' cannot be imported: "
                f"'{module_name}' has no '{attribute}'"
            )
        target = getattr(target, part)
    if not callable(target):
        raise SpecError(
            f"features.custom: '{path}' names a {type(target).__name__}, not a function"
        )
    return target  # type: ignore[no-any-return]


class ImportedFunction(TransformerMixin, BaseEstimator):
    """Apply the function ``function`` (an import path) to the DataFrame of the columns
    given; it returns a DataFrame, Series or array of numbers with one row per input row.

    ``fit`` resolves the path (a ``SpecError`` when it does not import) and learns the
    number and names of the outputs: a DataFrame's column names, else ``x0``, ``x1``...

    Attributes:
        feature_names_out_: names of the outputs.
    """

    def __init__(self, function: str = "") -> None:
        self.function = function

    def fit(self, X: Any, y: Any = None) -> ImportedFunction:
        frame = self._frame(X, fitting=True)
        out = self._apply(frame)
        self.feature_names_out_ = np.asarray(out.columns.astype(str), dtype=object)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        out = self._apply(self._frame(X, fitting=False))
        if out.shape[1] != len(self.feature_names_out_):
            raise DataError(
                f"features.custom: '{self.function}' gave {out.shape[1]} columns, but "
                f"{len(self.feature_names_out_)} in training; it must always give the same"
            )
        return out.to_numpy(dtype=np.float64, na_value=np.nan)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if state.get("function"):
            resolve_function(state["function"])  # a model that cannot run fails on load

    def _frame(self, X: Any, *, fitting: bool) -> pd.DataFrame:
        if fitting:
            if isinstance(X, pd.DataFrame):
                self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
            self.n_features_in_ = np.shape(X)[1]
        if isinstance(X, pd.DataFrame):
            return X.copy()
        columns = getattr(self, "feature_names_in_", None)
        return pd.DataFrame(np.asarray(X), columns=columns)

    def _apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        function = resolve_function(self.function)
        result = function(frame)
        if isinstance(result, pd.Series):
            result = result.to_frame()
        if not isinstance(result, pd.DataFrame):
            array = np.asarray(result)
            if array.ndim == 1:
                array = array.reshape(-1, 1)
            if array.ndim != 2:
                raise DataError(
                    f"features.custom: '{self.function}' gave an array of shape "
                    f"{array.shape}; return a DataFrame or a 2-D array"
                )
            result = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
        if len(result) != len(frame):
            raise DataError(
                f"features.custom: '{self.function}' gave {len(result)} rows for "
                f"{len(frame)}; it must give one row per input row"
            )
        try:
            numbers = result.apply(pd.to_numeric)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"features.custom: '{self.function}' must give numbers ({exc})"
            ) from exc
        return numbers.reset_index(drop=True)
