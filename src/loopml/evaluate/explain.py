"""Explanations: what drives a model overall, and each input column's part in one
prediction.

Per row, by kind of model (``Explanation.method`` says which):

- ``shap``: tree models (random forest, gradient boosting, LightGBM, XGBoost) get exact
  TreeSHAP values on the transformed features, summed back to their input column (the
  one-hot parts of a category add up). Units: the model's raw output (log-odds for
  boosted classifiers, probability for forests, the prediction for regressors);
- ``linear``: linear models get coefficient x (value - background mean) per transformed
  feature, summed per input column (log-odds for logistic regression);
- ``occlusion``: any other model: a column's part is the prediction less the mean
  prediction with that column replaced by the background rows' values.

In each case ``base_value`` + the sum of the contributions is the explained output.
Globally: mean |contribution| per column, and permutation importance (the drop of the
primary metric when a column's values are shuffled) for every model.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import DataError
from loopml.model.bundle import ModelBundle
from loopml.model.estimators import EncodedClassifier

TREE_TYPES = (
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "LGBMClassifier",
    "LGBMRegressor",
    "XGBClassifier",
    "XGBRegressor",
)


@dataclass(frozen=True)
class Explanation:
    """The contributions of each input column to the outputs of some rows.

    ``values`` is rows x ``columns``; ``output`` the explained output per row (``units``
    says what it is); ``base_value`` + ``values.sum(axis=1)`` equals ``output``.
    """

    method: str
    units: str
    columns: list[str]
    values: np.ndarray
    base_value: float
    output: np.ndarray

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as JSON: contributions by column, largest magnitude first."""
        order = np.argsort(-np.abs(self.values[i]), kind="stable")
        return {
            "method": self.method,
            "units": self.units,
            "base_value": float(self.base_value),
            "output": float(self.output[i]),
            "contributions": {self.columns[j]: float(self.values[i, j]) for j in order},
        }


@dataclass(frozen=True)
class Importance:
    """Global importance of each input column by one method, greatest first."""

    method: str
    values: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def explain_rows(
    bundle: ModelBundle, rows: pd.DataFrame, background: pd.DataFrame | None = None
) -> Explanation:
    """Each input column's contribution to ``bundle``'s output for each of ``rows``.

    ``background`` (rows like the training data; default ``rows``) sets the reference
    that linear and occlusion explanations measure from. Binary classifiers explain the
    positive class; multiclass ones the class each row is predicted as.

    Raises:
        DataError: ``rows`` lack a column the model needs.
    """
    rows = _inputs(bundle, rows)
    background = rows if background is None else _inputs(bundle, background)
    if not hasattr(bundle.pipeline, "steps"):  # a bare estimator (loopml.register_model)
        return _occlusion(bundle, rows, background)
    estimator = _estimator(bundle)
    if type(estimator).__name__ in TREE_TYPES:
        return _tree(bundle, estimator, rows)
    if hasattr(estimator, "coef_") and hasattr(estimator, "intercept_"):
        return _linear(bundle, estimator, rows, background)
    return _occlusion(bundle, rows, background)


def _inputs(bundle: ModelBundle, rows: pd.DataFrame) -> pd.DataFrame:
    cleaner = bundle.cleaner
    rows = cleaner.renamed(rows) if cleaner is not None else rows
    missing = [c for c in bundle.feature_names if c not in rows.columns]
    if missing:
        raise DataError(
            f"explain: the rows lack columns {missing} that the model needs "
            f"(it needs {bundle.feature_names})"
        )
    return rows[bundle.feature_names].reset_index(drop=True)


def _estimator(bundle: ModelBundle) -> Any:
    estimator = bundle.pipeline.steps[-1][1]
    return estimator.estimator_ if isinstance(estimator, EncodedClassifier) else estimator


def _transformed(bundle: ModelBundle, rows: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """The transformed features of ``rows`` and the input column of each feature."""
    transform = bundle.pipeline[:-1]
    X = np.asarray(transform.transform(rows), dtype=float)
    try:
        names = [str(n) for n in transform.get_feature_names_out()]
    except (AttributeError, ValueError):
        names = []
    if len(names) != X.shape[1]:
        raise DataError("explain: the model's transform does not name its output features")
    return X, feature_columns(names, bundle.feature_names)


def feature_columns(names: Sequence[str], columns: Sequence[str]) -> list[str]:
    """The input column each transformed feature comes from: ``numeric__age`` -> age,
    ``categorical__job_admin`` -> job (the longest column that the name starts with);
    a derived feature keeps its own name."""
    by_length = sorted(columns, key=len, reverse=True)
    out = []
    for name in names:
        rest = name.split("__", 1)[-1]
        found = next((c for c in by_length if rest == c or rest.startswith(f"{c}_")), rest)
        out.append(found)
    return out


def _to_columns(values: np.ndarray, features: list[str], columns: list[str]) -> np.ndarray:
    """Sum the feature columns of ``values`` into input columns (``columns`` order)."""
    index = {c: i for i, c in enumerate(columns)}
    out = np.zeros((values.shape[0], len(columns)))
    for j, column in enumerate(features):
        out[:, index[column]] += values[:, j]
    return out


def _columns(bundle: ModelBundle, features: list[str]) -> list[str]:
    extra = [f for f in dict.fromkeys(features) if f not in bundle.feature_names]
    return [*bundle.feature_names, *extra]


def _class_index(bundle: ModelBundle, estimator: Any, X: np.ndarray) -> np.ndarray | None:
    """Per row, the class output to explain (None for regression)."""
    if bundle.task == "regression":
        return None
    classes = list(bundle.classes or [])
    if len(classes) == 2:
        return np.full(len(X), classes.index(bundle.positive_class))
    return np.asarray(estimator.predict_proba(X)).argmax(axis=1)


def _tree(bundle: ModelBundle, estimator: Any, rows: pd.DataFrame) -> Explanation:
    import shap

    X, features = _transformed(bundle, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.TreeExplainer(estimator)
        raw = np.asarray(explainer.shap_values(X, check_additivity=False))
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
    values, base_value = _pick_class(bundle, estimator, X, raw, base)
    columns = _columns(bundle, features)
    contributions = _to_columns(values, features, columns)
    units = _regression_units(bundle) if bundle.task == "regression" else _tree_units(estimator)
    return Explanation(
        "shap", units, columns, contributions, base_value, base_value + contributions.sum(axis=1)
    )


def _pick_class(
    bundle: ModelBundle, estimator: Any, X: np.ndarray, raw: np.ndarray, base: np.ndarray
) -> tuple[np.ndarray, float]:
    """SHAP values (rows x features) of the class explained, and its base value."""
    which = _class_index(bundle, estimator, X)
    if raw.ndim == 2:  # one output: regression, or the binary margin of class 1
        if which is not None and which[0] == 0:
            return -raw, -float(base[0])
        return raw, float(base[0])
    if raw.shape[0] == X.shape[0]:  # rows x features x classes
        raw = np.moveaxis(raw, 2, 0)
    assert which is not None
    values = raw[which, np.arange(len(X)), :]
    if len(set(which.tolist())) > 1:  # multiclass, rows of different classes
        return values, float(np.mean(base[which]))
    return values, float(base[which[0]])


def _tree_units(estimator: Any) -> str:
    name = type(estimator).__name__
    return (
        "probability" if name.startswith(("RandomForest", "ExtraTrees", "Decision")) else "log-odds"
    )


def _linear(
    bundle: ModelBundle, estimator: Any, rows: pd.DataFrame, background: pd.DataFrame
) -> Explanation:
    X, features = _transformed(bundle, rows)
    mean = np.asarray(bundle.pipeline[:-1].transform(background), dtype=float).mean(axis=0)
    coef = np.atleast_2d(np.asarray(estimator.coef_, dtype=float))
    intercept = np.atleast_1d(np.asarray(estimator.intercept_, dtype=float))
    if coef.shape[0] == 1:
        sign = 1.0
        if (
            bundle.task == "classification"
            and list(bundle.classes or []).index(bundle.positive_class) == 0
        ):
            sign = -1.0
        weights, bias = sign * coef[0], sign * intercept[0]
        values = (X - mean) * weights
        base = float(bias + mean @ weights)
    else:
        which = _class_index(bundle, estimator, X)
        assert which is not None
        values = (X - mean) * coef[which]
        base = float(np.mean(intercept[which] + coef[which] @ mean))
    columns = _columns(bundle, features)
    contributions = _to_columns(values, features, columns)
    units = _regression_units(bundle) if bundle.task == "regression" else "log-odds"
    return Explanation("linear", units, columns, contributions, base, base + contributions.sum(1))


def _regression_units(bundle: ModelBundle) -> str:
    """A regressor is explained in what its estimator predicts: for a log target
    (``problem.target_transform: log``) that is log1p of the prediction."""
    return "log1p(prediction)" if bundle.target_transform == "log" else "prediction"


def _output(bundle: ModelBundle, rows: pd.DataFrame) -> np.ndarray:
    """The explained output: the positive class's probability, the prediction, or the
    probability of each row's most likely class."""
    prediction = bundle.pipeline.predict(rows) if bundle.task == "regression" else None
    if prediction is not None:
        return np.asarray(prediction, dtype=float)
    proba = np.asarray(bundle.pipeline.predict_proba(rows), dtype=float)
    classes = list(bundle.classes or [])
    if len(classes) == 2:
        return proba[:, classes.index(bundle.positive_class)]
    return proba.max(axis=1)


def _occlusion(
    bundle: ModelBundle, rows: pd.DataFrame, background: pd.DataFrame, max_background: int = 50
) -> Explanation:
    reference = background.sample(
        n=min(len(background), max_background), random_state=0
    ).reset_index(drop=True)
    output = _output(bundle, rows)
    columns = list(bundle.feature_names)
    values = np.zeros((len(rows), len(columns)))
    m = len(reference)
    repeated = rows.loc[rows.index.repeat(m)].reset_index(drop=True)
    for j, column in enumerate(columns):
        changed = repeated.copy()
        changed[column] = np.tile(reference[column].to_numpy(), len(rows))
        replaced = _output(bundle, changed).reshape(len(rows), m).mean(axis=1)
        values[:, j] = output - replaced
    base = float(output.mean() - values.sum(axis=1).mean())
    # spread what the columns do not account for (interactions) so the sum holds
    residual = output - base - values.sum(axis=1)
    values += residual[:, None] / max(len(columns), 1)
    units = _regression_units(bundle) if bundle.task == "regression" else "probability"
    return Explanation("occlusion", units, columns, values, base, output)


def shap_importance(explanation: Explanation) -> Importance:
    """Mean |contribution| per column over the explained rows."""
    means = np.abs(explanation.values).mean(axis=0)
    order = np.argsort(-means, kind="stable")
    return Importance(
        f"mean |{explanation.method}|", {explanation.columns[j]: float(means[j]) for j in order}
    )


def permutation_importance(
    bundle: ModelBundle,
    rows: pd.DataFrame,
    score: Any,
    *,
    repeats: int = 3,
    seed: int = 0,
) -> Importance:
    """The drop of ``score(bundle, rows)`` (greater is better) when one column's values
    are shuffled, averaged over ``repeats`` shuffles, per input column."""
    rng = np.random.default_rng(seed)
    base = score(bundle, rows)
    drops: dict[str, float] = {}
    for column in bundle.feature_names:
        values = []
        for _ in range(repeats):
            shuffled = rows.copy()
            shuffled[column] = rng.permutation(shuffled[column].to_numpy())
            values.append(base - score(bundle, shuffled))
        drops[column] = float(np.mean(values))
    ordered = dict(sorted(drops.items(), key=lambda item: -item[1]))
    return Importance("permutation", ordered)


def explain_prediction(
    bundle: ModelBundle, rows: pd.DataFrame, background: pd.DataFrame | None = None
) -> list[dict[str, Any]]:
    """The prediction for each of ``rows`` with its explanation, as JSON: ``prediction``,
    ``probability`` (binary), and ``method``, ``units``, ``base_value``, ``output`` and
    ``contributions`` (by input column, largest magnitude first). A calibrated binary
    model's contributions add up to its estimator's own probability, given as
    ``uncalibrated_probability`` beside the calibrated ``probability``. The same call
    serves the CLI's `loopml explain` and a server.

    Raises:
        DataError: no rows, or a column the model needs is missing.
    """
    if len(rows) == 0:
        raise DataError("explain: no row to explain")
    explanation = explain_rows(bundle, rows, background)  # checks the columns first
    prediction = bundle.predict(rows)
    raw = _output(bundle, rows) if bundle.calibration is not None else None
    out = []
    for i in range(len(rows)):
        item: dict[str, Any] = {"prediction": _plain(prediction.predictions[i])}
        if prediction.probabilities is not None and prediction.probabilities.ndim == 1:
            item["probability"] = float(prediction.probabilities[i])
            item["threshold"] = bundle.threshold
        if raw is not None:  # the contributions explain the estimator's own probability
            item["uncalibrated_probability"] = float(raw[i])
        out.append({**item, **explanation.row(i)})
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
