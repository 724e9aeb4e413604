"""The target and its labels as every stage reads them: training, evaluation, serving."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import DataError
from loopml.model.values import category_string

_TRUE_WORDS = {"1", "true", "yes", "y", "t"}
_BOOL_WORDS = _TRUE_WORDS | {"0", "false", "no", "n", "f"}


def target_values(y: pd.Series, task: str, name: str) -> pd.Series:
    """The target column ``name`` as training fits it: numbers for regression (a value
    that is not one raises ``DataError`` naming its row), labels for classification (at
    least two)."""
    if task == "regression":
        numbers = pd.to_numeric(y, errors="coerce")
        bad = numbers.isna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"target '{name}' must be numeric for regression, but {int(bad.sum())} rows "
                f"are not (e.g. row {first}: {y.iloc[first]!r}); fix the data or set "
                "problem.task: classification"
            )
        return numbers.astype(float)
    if y.nunique() < 2:
        values = y.unique()[:1].tolist()
        raise DataError(
            f"target '{name}' holds {len(values)} class {values} in the training rows; "
            "a classifier needs at least 2"
        )
    if isinstance(y.dtype, pd.StringDtype) or y.dtype == object:
        return y.astype(object)
    return y


def match_label(labels: Sequence[Any], wanted: Any) -> Any | None:
    """The label in ``labels`` that ``wanted`` names, or None.

    Tried in turn: equality; the same text (``1`` and ``1.0`` are ``"1"``); the same text
    ignoring case and spaces; for boolean labels, ``1``/``yes``/``true`` for True."""
    if wanted is None:
        return None
    for label in labels:
        if type(label) is type(wanted) and label == wanted:
            return label
    key = category_string(wanted)
    for label in labels:
        if category_string(label) == key:
            return label
    for label in labels:
        if category_string(label).strip().lower() == key.strip().lower():
            return label
    word = key.strip().lower()
    if all(isinstance(label, bool | np.bool_) for label in labels) and word in _BOOL_WORDS:
        truth = word in _TRUE_WORDS
        return next((label for label in labels if bool(label) is truth), None)
    return None


def positive_label(classes: list[Any], wanted: Any, target: str) -> Any:
    """The positive class of a binary target: the label ``wanted`` names (see
    ``match_label``), the last class when None; ``DataError`` when none matches."""
    if wanted is None:
        return classes[-1]
    label = match_label(classes, wanted)
    if label is None:
        raise DataError(
            f"problem.positive_class {wanted!r} is not a label of '{target}' "
            f"(labels: {', '.join(map(repr, classes))}); fix it in loopml.yaml"
        )
    return label


def plain_value(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value
