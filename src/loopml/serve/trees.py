"""HistGradientBoosting's fitted trees, evaluated with NumPy for small batches.

scikit-learn calls one compiled routine per tree (an OpenMP region each), so a single
row through 100 trees costs most of a millisecond. ``compile_hgb`` copies the fitted
nodes of the very same predictors into flat arrays and walks all trees at once, level by
level, with the same rules (``x <= num_threshold`` goes left, a missing value goes
where ``missing_go_to_left`` says), then sums the leaf values in the same order as
scikit-learn (baseline first, then tree after tree) and applies the model's own link,
so the outputs are identical. Batches larger than ``MAX_ROWS`` rows go to scikit-learn,
which is faster there. Models with categorical splits are left alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_ROWS = 32  # past this many rows, scikit-learn's own loop over trees is faster


class CompiledHGB:
    """``predict`` / ``predict_proba`` of a fitted HistGradientBoosting model on float
    arrays; anything else is delegated to the model."""

    def __init__(self, model: Any, max_rows: int = MAX_ROWS) -> None:
        self.model = model
        self.max_rows = max_rows
        trees = [tree for iteration in model._predictors for tree in iteration]
        self.per_iteration = model.n_trees_per_iteration_
        sizes = [len(t.nodes) for t in trees]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        nodes = np.concatenate([t.nodes for t in trees])
        shift = np.repeat(offsets, sizes)
        self.roots = offsets
        self.feature = nodes["feature_idx"].astype(np.intp)
        self.threshold = nodes["num_threshold"].astype(np.float64)
        self.missing_left = nodes["missing_go_to_left"].astype(bool)
        self.leaf = nodes["is_leaf"].astype(bool)
        self.left = (nodes["left"].astype(np.intp) + shift).astype(np.intp)
        self.right = (nodes["right"].astype(np.intp) + shift).astype(np.intp)
        self.value = nodes["value"].astype(np.float64)
        self.depth = int(nodes["depth"].max()) + 1
        self.baseline = np.asarray(model._baseline_prediction, dtype=np.float64)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def raw_predict(self, X: np.ndarray) -> np.ndarray:
        """The summed leaf values per row and tree of an iteration, as ``_raw_predict``."""
        X = np.asarray(X, dtype=np.float64)
        n = X.shape[0]
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        rows = np.arange(n)[:, None]
        for _ in range(self.depth):
            done = self.leaf[node]
            if done.all():
                break
            x = X[rows, self.feature[node]]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            node = np.where(done, node, np.where(go_left, self.left[node], self.right[node]))
        values = self.value[node]  # (n, iterations * per_iteration), iteration-major
        out = np.empty((n, self.per_iteration), dtype=np.float64, order="F")
        for k in range(self.per_iteration):
            terms = np.column_stack(
                [np.zeros(n) + self.baseline[0, k], values[:, k :: self.per_iteration]]
            )
            out[:, k] = np.add.accumulate(terms, axis=1)[:, -1]
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if len(X) > self.max_rows:
            return self.model.predict_proba(X)
        return self.model._loss.predict_proba(self.raw_predict(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        if len(X) > self.max_rows:
            return self.model.predict(X)
        if hasattr(self.model, "classes_"):
            return self.model.classes_[self.predict_proba(X).argmax(axis=1)]
        return self.model._loss.link.inverse(self.raw_predict(X).ravel())


def compile_hgb(model: Any) -> Any:
    """A ``CompiledHGB`` for a fitted HistGradientBoosting model without categorical
    splits; any other model is returned as it is."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if type(model) not in (HistGradientBoostingClassifier, HistGradientBoostingRegressor):
        return model
    categorical = getattr(model, "is_categorical_", None)
    if categorical is not None and np.any(categorical):
        return model
    if not getattr(model, "_predictors", None):
        return model
    return CompiledHGB(model)
