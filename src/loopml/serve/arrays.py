"""Compile a fitted model bundle into an array path for serving.

``compile_bundle`` reads the fitted attributes of the very objects in the bundle (the
cleaning log, imputers, scalers, rare-category groupers, one-hot, ordinal and target
encoders inside the ``ColumnTransformer``) and replays them with NumPy on columns of
arrays, so one row costs little more than the estimator's own ``predict``. A step it does
not know runs through scikit-learn as before: a transformer inside the
``ColumnTransformer`` gets a small DataFrame of its columns, a step after it the float
array, and anything it cannot place (e.g. derived columns before the transform) sends the
whole request down the DataFrame path. ``ArrayModel.fallbacks`` names those steps.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from loopml.model.bundle import ModelBundle, Prediction
from loopml.model.values import category_string, is_missing
from loopml.serve.estimators import compile_estimator

Columns = dict[str, np.ndarray]
"""One array per input column: float64 for numbers, object (NaN where missing) otherwise."""

_ColumnStep = Callable[[np.ndarray], np.ndarray]  # 2-D array -> 2-D array


class ArrayModel:
    """A fitted bundle that predicts from columns of arrays (see the module docstring).

    Attributes:
        bundle: the bundle it was compiled from (the DataFrame path, for fallbacks).
        fallbacks: the steps that still run through scikit-learn, by name.
    """

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self.fallbacks: list[str] = []
        kinds = {c.name: c.kind for c in bundle.signature.columns}
        cleaner = bundle.cleaner  # compiled like any other step (see CleaningTransformer)
        self._prepare = cleaner.on_columns(kinds) if cleaner is not None else _unchanged
        self._transform, self._estimator = _compile_pipeline(bundle.model_pipeline, self.fallbacks)
        self.folded = (
            _folded(bundle.model_pipeline, self._estimator) if not self.fallbacks else None
        )

    @property
    def whole_frame(self) -> bool:
        """True when every request goes down the DataFrame path."""
        return self._transform is None

    def predict_columns(self, columns: Columns) -> Prediction:
        """Predict for ``columns`` (every signature column, equal lengths)."""
        if self._transform is None:
            return self.bundle.predict(pd.DataFrame(columns, copy=False))
        prepared = self._prepare(columns)
        if self.folded is not None and self.folded.accepts(prepared):
            outputs = self.folded.outputs(prepared)  # the transform is in the tree cuts
            if self.bundle.task == "regression":
                return self.bundle.from_estimates(outputs)
            return self.bundle.from_probabilities(outputs)
        X = self._transform(prepared)
        return _predict(self.bundle, self._estimator, X)


def compile_bundle(bundle: ModelBundle) -> ArrayModel:
    """``bundle`` compiled for arrays; never raises for an unknown step (it falls back)."""
    return ArrayModel(bundle)


def _predict(bundle: ModelBundle, estimator: Any, X: np.ndarray) -> Prediction:
    """What ``ModelBundle.predict`` does after the transform."""
    if bundle.task == "regression":
        return bundle.from_estimates(estimator.predict(X))
    return bundle.from_probabilities(estimator.predict_proba(X))


# --- cleaning ----------------------------------------------------------------------------


def _unchanged(columns: Columns) -> Columns:
    return columns


# --- the fitted transform ----------------------------------------------------------------


def _compile_pipeline(
    pipeline: Any, fallbacks: list[str]
) -> tuple[Callable[[Columns], np.ndarray] | None, Any]:
    """(columns -> the estimator's input array, estimator); (None, None) to fall back."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    steps = _flatten(pipeline)
    if len(steps) < 2 or not isinstance(steps[0][1], ColumnTransformer):
        fallbacks.append(steps[0][0] if steps else "pipeline")
        return None, None
    *transform_steps, (_, estimator) = steps
    columns_step = _compile_columns(transform_steps[0][1], fallbacks)
    after = [step for _, step in transform_steps[1:]]
    fallbacks.extend(name for name, _ in transform_steps[1:])
    if columns_step is None:
        return None, None
    assert not isinstance(estimator, Pipeline)
    estimator = compile_estimator(estimator)

    def transform(columns: Columns) -> np.ndarray:
        X = columns_step(columns)
        for step in after:
            X = step.transform(X)
        return X

    return transform, estimator


def _folded(pipeline: Any, estimator: Any) -> Any:
    """The tree model with its numeric transform folded into its cuts
    (``loopml.serve.folding.FoldedModel``), or None."""
    from sklearn.compose import ColumnTransformer

    from loopml.serve.estimators import CompiledEncoded
    from loopml.serve.folding import fold_model

    steps = _flatten(pipeline)
    if estimator is None or len(steps) < 2 or not isinstance(steps[0][1], ColumnTransformer):
        return None
    inner = estimator.inner if isinstance(estimator, CompiledEncoded) else estimator
    return fold_model(steps[0][1], [step for _, step in steps[1:-1]], inner)


def _flatten(step: Any, name: str = "pipeline") -> list[tuple[str, Any]]:
    from sklearn.pipeline import Pipeline

    if isinstance(step, Pipeline):
        return [item for sub_name, sub in step.steps for item in _flatten(sub, sub_name)]
    return [(name, step)]


def _compile_columns(ct: Any, fallbacks: list[str]) -> Callable[[Columns], np.ndarray] | None:
    """The fitted ColumnTransformer as a function of columns; None if it cannot be."""
    names_in = list(getattr(ct, "feature_names_in_", []))
    if not names_in or getattr(ct, "sparse_output_", False):
        fallbacks.append("columns")
        return None
    parts: list[tuple[slice, list[str], Callable[[Columns], np.ndarray]]] = []
    for name, transformer, cols in ct.transformers_:
        where = ct.output_indices_[name]
        if transformer == "drop" or where.stop == where.start:
            continue
        cols = [names_in[c] if isinstance(c, int | np.integer) else c for c in cols]
        if transformer == "passthrough":
            parts.append((where, cols, _passthrough))
        else:
            parts.append((where, cols, _compile_group(name, transformer, fallbacks)))
    width = max((where.stop for where, _, _ in parts), default=0)

    def transform(columns: Columns) -> np.ndarray:
        n = len(next(iter(columns.values())))
        out = np.empty((n, width), dtype=np.float64)
        for where, cols, run in parts:
            out[:, where] = run({c: columns[c] for c in cols})
        return out

    return transform


def _passthrough(columns: Columns) -> np.ndarray:
    return np.column_stack([np.asarray(v, dtype=np.float64) for v in columns.values()])


def _compile_group(
    name: str, transformer: Any, fallbacks: list[str]
) -> Callable[[Columns], np.ndarray]:
    """One transformer of the ColumnTransformer (usually a Pipeline of known steps)."""
    steps = _flatten(transformer, name)
    first = _known_first(steps[0][1])
    rest = steps[1:]
    if first is None and _known_step(steps[0][1]) is not None:
        first, rest = _stack_columns, steps  # an encoder or scaler on the raw columns
    if first is None:
        fallbacks.append(f"columns.{name}")
        return functools.partial(_frame_transform, transformer)
    later: list[_ColumnStep] = []
    for step_name, step in rest:
        fast = _known_step(step)
        if fast is None:
            fallbacks.append(f"columns.{name}.{step_name}")
            fast = step.transform
        later.append(fast)

    def run(columns: Columns) -> np.ndarray:
        X = first(columns)
        for step in later:
            X = step(X)
        return X

    return run


def _frame_transform(transformer: Any, columns: Columns) -> np.ndarray:
    out = transformer.transform(pd.DataFrame(columns, copy=False))
    return np.asarray(out, dtype=np.float64)


def _known_first(step: Any) -> Callable[[Columns], np.ndarray] | None:
    """The first step of a group, which receives the columns themselves."""
    from sklearn.preprocessing import FunctionTransformer

    from loopml.features.transform import to_float, to_strings

    if isinstance(step, FunctionTransformer) and step.kw_args is None:
        if step.func is None and step.validate is False:  # "passthrough"
            return _stack_columns
        if step.func is to_float:
            return _columns_to_float
        if step.func is to_strings:
            return _columns_to_strings
    return None


def _stack_columns(columns: Columns) -> np.ndarray:
    """The columns side by side, as the DataFrame's ``to_numpy()`` would give them."""
    arrays = list(columns.values())
    if all(a.dtype.kind == "f" for a in arrays):
        return np.column_stack(arrays)
    out = np.empty((len(arrays[0]), len(arrays)), dtype=object)
    for i, array in enumerate(arrays):
        out[:, i] = array
    return out


def _columns_to_float(columns: Columns) -> np.ndarray:
    arrays = []
    for values in columns.values():
        if values.dtype.kind != "f":
            values = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        arrays.append(values)
    return np.column_stack(arrays) if arrays else np.empty((0, 0))


def _columns_to_strings(columns: Columns) -> np.ndarray:
    arrays = [_category_strings(values) for values in columns.values()]
    out = np.empty((len(arrays[0]), len(arrays)), dtype=object)
    for i, array in enumerate(arrays):
        out[:, i] = array
    return out


def _category_strings(values: np.ndarray) -> list[Any]:
    if values.dtype.kind == "f":
        return [np.nan if v != v else category_string(v) for v in values.tolist()]
    return [
        v if type(v) is str else (np.nan if is_missing(v) else category_string(v)) for v in values
    ]


def _known_step(step: Any) -> _ColumnStep | None:
    """A later step of a group (array in, array out), or None to call its transform."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import (
        MinMaxScaler,
        OneHotEncoder,
        OrdinalEncoder,
        RobustScaler,
        StandardScaler,
        TargetEncoder,
    )

    from loopml.features.encoders import RareCategoryGrouper

    makers: list[tuple[type, Callable[[Any], _ColumnStep | None]]] = [
        (SimpleImputer, _imputer),
        (StandardScaler, _standard),
        (RobustScaler, _robust),
        (MinMaxScaler, _minmax),
        (RareCategoryGrouper, _grouper),
        (OneHotEncoder, _onehot),
        (OrdinalEncoder, _ordinal),
        (TargetEncoder, _target),
    ]
    for cls, make in makers:
        if type(step) is cls:
            return make(step)
    return None


def _imputer(imputer: Any) -> _ColumnStep | None:
    missing = imputer.missing_values
    if not (isinstance(missing, float) and math.isnan(missing)) or imputer.add_indicator:
        return None
    fills = list(imputer.statistics_)

    def run(X: np.ndarray) -> np.ndarray:
        if X.dtype.kind == "f":
            mask = np.isnan(X)
            if not mask.any():
                return X
            return np.where(mask, np.asarray(fills, dtype=np.float64), X)
        out = X.copy()
        for j, fill in enumerate(fills):
            for i in range(out.shape[0]):
                if is_missing(out[i, j]):
                    out[i, j] = fill
        return out

    return run


def _standard(scaler: Any) -> _ColumnStep:
    return _shift_scale(scaler.mean_, scaler.scale_)


def _robust(scaler: Any) -> _ColumnStep:
    return _shift_scale(scaler.center_, scaler.scale_)


def _shift_scale(center: np.ndarray | None, scale: np.ndarray | None) -> _ColumnStep:
    """``(X - center) / scale``, either part left out when the scaler skipped it."""

    def run(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        if center is not None:
            X -= center
        if scale is not None:
            X /= scale
        return X

    return run


def _minmax(scaler: Any) -> _ColumnStep:
    scale, low, clip = scaler.scale_, scaler.min_, scaler.clip
    bounds = scaler.feature_range

    def run(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        X *= scale
        X += low
        if clip:
            np.clip(X, bounds[0], bounds[1], out=X)
        return X

    return run


def _grouper(grouper: Any) -> _ColumnStep:
    kept = [frozenset(c.tolist()) for c in grouper.categories_]
    rare, label = grouper.has_rare_, grouper.rare_label

    def run(X: np.ndarray) -> np.ndarray:
        if not any(rare):
            return X
        out = np.array(X, dtype=object, copy=True)
        for j, keep in enumerate(kept):
            if rare[j]:
                for i in range(out.shape[0]):
                    value = out[i, j]
                    if not is_missing(value) and value not in keep:
                        out[i, j] = label
        return out

    return run


_HASHED_ROWS = 64  # from this many rows on, pandas' hash table beats a dict per value


class _Lookup:
    """Category -> code for one column, with Python's equality (``1 == 1.0``): a dict
    lookup per value for a few rows, pandas' hash table (the same equality, in C) for
    many."""

    def __init__(self, categories: list[Any]) -> None:
        self.codes = {v: i for i, v in enumerate(categories)}
        self._index: pd.Index | None = None

    def __len__(self) -> int:
        return len(self.codes)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """The codes of an object column: -1 for an unknown or missing value."""
        if len(values) < _HASHED_ROWS:
            return np.array([self.codes.get(v, -1) for v in values.tolist()], dtype=np.intp)
        if self._index is None:
            self._index = pd.Index(list(self.codes), dtype=object)
        return self._index.get_indexer(pd.Index(values, dtype=object))


def _lookups(categories: list[np.ndarray]) -> list[_Lookup] | None:
    """Category -> code per column; None when a category is missing (NaN) itself."""
    out = []
    for values in categories:
        if any(is_missing(v) for v in values.tolist()):
            return None
        out.append(_Lookup(values.tolist()))
    return out


def _onehot(encoder: Any) -> _ColumnStep | None:
    lookups = _lookups(encoder.categories_)
    plain = encoder.drop_idx_ is None and not getattr(encoder, "_infrequent_enabled", False)
    if lookups is None or not plain or encoder.handle_unknown != "ignore":
        return None
    offsets = np.cumsum([0, *(len(c) for c in lookups)])
    dtype = encoder.dtype

    def run(X: np.ndarray) -> np.ndarray:
        out = np.zeros((X.shape[0], offsets[-1]), dtype=dtype)
        for j, lookup in enumerate(lookups):
            codes = lookup(X[:, j])
            known = np.flatnonzero(codes >= 0)
            out[known, offsets[j] + codes[known]] = 1
        return out

    return run


def _ordinal(encoder: Any) -> _ColumnStep | None:
    lookups = _lookups(encoder.categories_)
    if lookups is None or getattr(encoder, "_infrequent_enabled", False):
        return None
    if encoder.handle_unknown != "use_encoded_value":
        return None
    unknown, missing = encoder.unknown_value, encoder.encoded_missing_value
    dtype = encoder.dtype

    def run(X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape, dtype=dtype)
        for j, lookup in enumerate(lookups):
            codes = lookup(X[:, j])
            out[:, j] = codes
            other = np.flatnonzero(codes < 0)  # unknown or missing: look at those alone
            if len(other):
                values = X[other, j].tolist()
                out[other, j] = [missing if is_missing(v) else unknown for v in values]
        return out

    return run


def _target(encoder: Any) -> _ColumnStep | None:
    lookups = _lookups(encoder.categories_)
    if lookups is None:
        return None
    encodings = encoder.encodings_
    means = np.atleast_1d(np.asarray(encoder.target_mean_, dtype=np.float64))
    per_feature = len(means) if encoder.target_type_ == "multiclass" else 1

    def run(X: np.ndarray) -> np.ndarray:
        out = np.empty((X.shape[0], X.shape[1] * per_feature), dtype=np.float64)
        for j, lookup in enumerate(lookups):
            codes = lookup(X[:, j])
            for k in range(per_feature):
                table = np.append(encodings[j * per_feature + k], means[k])  # -1: the mean
                out[:, j * per_feature + k] = table[codes]
        return out

    return run
