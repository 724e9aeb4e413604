"""Stand-ins for loopml's fitted feature steps that skl2onnx can convert, with converters.

``NanFill`` replaces a numeric imputer (NaN -> fill value, in float32 or float64),
``StringFill`` a categorical imputer (empty string -> fill value) and ``CategoryMap`` the
rare-category grouper (categories not kept -> the rare label, per column). Each behaves
like the step it replaces on the inputs the ONNX graph takes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

MISSING_STRING = ""  # how a missing category is given to the ONNX graph


class NanFill(TransformerMixin, BaseEstimator):
    """NaN -> ``fill`` per column (a fitted numeric imputer)."""

    def __init__(self, fill: Any = None) -> None:
        self.fill = fill

    def fit(self, X: Any, y: Any = None) -> NanFill:
        return self

    def transform(self, X: Any) -> Any:
        return np.where(np.isnan(X), self.fill, X)

    def __sklearn_is_fitted__(self) -> bool:
        return self.fill is not None


class StringFill(NanFill):
    """The empty string -> ``fill`` per column (a fitted categorical imputer)."""

    def transform(self, X: Any) -> Any:
        return np.where(np.asarray(X) == MISSING_STRING, self.fill, X)


class CategoryMap(TransformerMixin, BaseEstimator):
    """Per column, a category not in ``kept`` becomes ``rare_label`` (when ``group`` is
    true for that column; else the column passes unchanged)."""

    def __init__(self, kept: Any = None, group: Any = None, rare_label: str = "") -> None:
        self.kept = kept
        self.group = group
        self.rare_label = rare_label

    def fit(self, X: Any, y: Any = None) -> CategoryMap:
        return self

    def transform(self, X: Any) -> Any:
        out = np.array(X, dtype=object, copy=True)
        for i, kept in enumerate(self.kept):
            if self.group[i]:
                out[~np.isin(out[:, i], kept), i] = self.rare_label
        return out

    def __sklearn_is_fitted__(self) -> bool:
        return self.kept is not None


def nan_fill(imputer: Any) -> NanFill:
    """The NanFill that does what the fitted numeric ``imputer`` does."""
    return NanFill(np.nan_to_num(np.asarray(imputer.statistics_, dtype=np.float64), nan=0.0))


def string_fill(imputer: Any) -> StringFill:
    """The StringFill that does what the fitted categorical ``imputer`` does."""
    return StringFill(np.asarray([str(v) for v in imputer.statistics_], dtype=object))


def category_map(grouper: Any) -> CategoryMap:
    """The CategoryMap that does what the fitted rare-category ``grouper`` does."""
    kept = [[str(v) for v in column] for column in grouper.categories_]
    return CategoryMap(kept, list(grouper.has_rare_), grouper.rare_label)


def register_converters() -> None:
    """Teach skl2onnx the three stand-ins (idempotent)."""
    from skl2onnx import update_registered_converter

    update_registered_converter(NanFill, "LoopmlNanFill", _same_shape, _convert_nan_fill)
    update_registered_converter(StringFill, "LoopmlStringFill", _same_shape, _convert_string_fill)
    update_registered_converter(CategoryMap, "LoopmlCategoryMap", _same_shape, _convert_map)


def register_boosters(kind: str) -> None:
    """Teach skl2onnx LightGBM's or XGBoost's estimators (onnxmltools' converters)."""
    if kind not in ("lightgbm", "xgboost"):
        return
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    if kind == "lightgbm":
        from lightgbm import LGBMClassifier as Classifier
        from lightgbm import LGBMRegressor as Regressor

        convert = convert_lightgbm
    else:
        from xgboost import XGBClassifier as Classifier
        from xgboost import XGBRegressor as Regressor

        convert = convert_xgboost
    options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    update_registered_converter(
        Classifier,
        f"{kind}Classifier",
        calculate_linear_classifier_output_shapes,
        convert,
        options=options,
    )
    update_registered_converter(
        Regressor, f"{kind}Regressor", calculate_linear_regressor_output_shapes, convert
    )


def _same_shape(operator: Any) -> None:
    first = operator.inputs[0]
    width = first.get_second_dimension()
    operator.outputs[0].type = first.type.__class__([first.get_first_dimension(), width])


def _convert_nan_fill(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from skl2onnx.common.data_types import guess_proto_type

    proto = guess_proto_type(operator.inputs[0].type)
    dtype = np.float64 if proto == TensorProto.DOUBLE else np.float32
    values = operator.raw_operator.fill.astype(dtype)
    fill = _constant(scope, container, "fill", proto, values.tolist())
    isnan = scope.get_unique_variable_name("isnan")
    source = operator.inputs[0].full_name
    container.add_node("IsNaN", source, isnan, name=scope.get_unique_operator_name("IsNaN"))
    _where(scope, container, isnan, fill, source, operator.outputs[0].full_name)


def _convert_string_fill(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    values = [str(v) for v in operator.raw_operator.fill]
    fill = _constant(scope, container, "fill", TensorProto.STRING, values)
    empty = _constant(scope, container, "empty", TensorProto.STRING, [MISSING_STRING])
    missing = scope.get_unique_variable_name("missing")
    source = operator.inputs[0].full_name
    name = scope.get_unique_operator_name("Equal")
    container.add_node("Equal", [source, empty], missing, name=name)
    _where(scope, container, missing, fill, source, operator.outputs[0].full_name)


def _convert_map(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    raw, source = operator.raw_operator, operator.inputs[0].full_name
    columns = []
    for i, kept in enumerate(raw.kept):
        index = _constant(scope, container, "col", TensorProto.INT64, [i], shape=[1])
        column = scope.get_unique_variable_name("column")
        name = scope.get_unique_operator_name("Gather")
        container.add_node("Gather", [source, index], column, name=name, axis=1)
        if raw.group[i]:
            mapped = scope.get_unique_variable_name("mapped")
            container.add_node(
                "LabelEncoder",
                column,
                mapped,
                op_domain="ai.onnx.ml",
                op_version=2,
                name=scope.get_unique_operator_name("LabelEncoder"),
                keys_strings=list(kept),
                values_strings=list(kept),
                default_string=raw.rare_label,
            )
            column = mapped
        columns.append(column)
    name = scope.get_unique_operator_name("Concat")
    container.add_node("Concat", columns, operator.outputs[0].full_name, name=name, axis=1)


def _constant(
    scope: Any, container: Any, name: str, proto: int, values: list[Any], shape: Any = None
) -> str:
    variable = scope.get_unique_variable_name(name)
    container.add_initializer(variable, proto, shape or [1, len(values)], values)
    return variable


def _where(scope: Any, container: Any, cond: str, fill: str, source: str, out: str) -> None:
    name = scope.get_unique_operator_name("Where")
    container.add_node("Where", [cond, fill, source], out, name=name)
