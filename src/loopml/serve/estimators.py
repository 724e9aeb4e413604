"""The serving fast path of every kind of the model zoo: ``compile_estimator``.

=========================  ===============================================================
estimator                  fast path
=========================  ===============================================================
HistGradientBoosting       lookup tables (``loopml.serve.trees``), categorical splits too
LightGBM, XGBoost          the same tables, read from the library's dump
                           (``loopml.serve.boosters``)
random forest              a Numba tree walk (``loopml.serve.forests``)
linear                     the arithmetic without the input checks (``loopml.serve.linear``)
=========================  ===============================================================

Each keeps the estimator's ``predict`` / ``predict_proba`` outputs (see each module for
the last-bit caveats of LightGBM and XGBoost) and delegates every other attribute to it.
Anything else, or a model one of them cannot hold, is served by the estimator itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from loopml.model.estimators import EncodedClassifier
from loopml.serve.boosters import compile_booster
from loopml.serve.forests import compile_forest
from loopml.serve.linear import compile_linear
from loopml.serve.trees import compile_hgb

_COMPILERS: tuple[Callable[[Any], Any], ...] = (
    compile_hgb,
    compile_booster,
    compile_forest,
    compile_linear,
)


class CompiledEncoded:
    """loopml's ``EncodedClassifier`` (XGBoost on labels 0..k-1) over its compiled
    inner estimator."""

    def __init__(self, model: Any, inner: Any) -> None:
        self.model = model
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.inner.predict_proba(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.classes_[self.predict_proba(X).argmax(axis=1)])


def compile_estimator(model: Any) -> Any:
    """``model``'s fast path, or ``model`` itself when it has none."""
    if _is_encoded(model):
        inner = compile_estimator(model.estimator_)
        return model if inner is model.estimator_ else CompiledEncoded(model, inner)
    for compile_one in _COMPILERS:
        compiled = compile_one(model)
        if compiled is not model:
            return compiled
    return model


def _is_encoded(model: Any) -> bool:
    """loopml's ``EncodedClassifier``, fitted."""
    return isinstance(model, EncodedClassifier) and hasattr(model, "estimator_")


def warm_up(wait: bool = False) -> None:
    """Start (``wait``: and finish) compiling every kernel the fast paths use."""
    from loopml.serve import forests, trees

    trees.warm_up(wait)
    forests.warm_up(wait)
