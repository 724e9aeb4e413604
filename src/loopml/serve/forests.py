"""Random forests by a tree walk in a small Numba kernel, without scikit-learn's joblib.

A forest's trees are deep (thousands of leaves), too many for the bit-mask tables of
``loopml.serve.trees``; their nodes are concatenated into flat arrays instead and each
row walks each tree: the value rounded to float32 (as scikit-learn reads it), ``x <=
threshold`` goes left, a missing value where the node says. scikit-learn sums the trees'
outputs (leaf class fractions, or leaf means) in tree order with ``n_jobs=1`` and
divides by their number; so does the kernel, so the outputs are identical to the
forest's own with one job (with more jobs scikit-learn adds the trees in the order its
threads finish, which can move the last bit). NumPy walks the trees until the kernel is
compiled (in the background, like the tables' kernel).

Inputs scikit-learn would refuse (infinities, or missing values for a forest that does
not take them) go to the forest itself, which says why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Nodes:
    """Every tree's nodes, one after the other: tree ``t`` starts at ``roots[t]``; child
    indices are absolute, -1 at a leaf; ``values[node]`` is a leaf's output row."""

    roots: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    nan_left: np.ndarray
    values: np.ndarray  # (nodes, outputs)

    def arguments(self) -> tuple[np.ndarray, ...]:
        return (self.roots, self.left, self.right, self.feature, self.threshold,
                self.nan_left, self.values)  # fmt: skip


def forest_nodes(forest: Any) -> Nodes:
    roots, parts, start = [], [], 0
    for estimator in forest.estimators_:
        tree = estimator.tree_
        leaf = tree.children_left < 0
        roots.append(start)
        parts.append((
            np.where(leaf, -1, tree.children_left + start),
            np.where(leaf, -1, tree.children_right + start),
            np.where(leaf, 0, tree.feature),
            tree.threshold,
            tree.missing_go_to_left.astype(np.bool_),
            tree.value[:, 0, :],
        ))  # fmt: skip
        start += tree.node_count
    columns = [np.concatenate(part) for part in zip(*parts, strict=True)]
    return Nodes(
        np.asarray(roots, dtype=np.intp), columns[0].astype(np.intp), columns[1].astype(np.intp),
        columns[2].astype(np.intp), columns[3].astype(np.float64), columns[4],
        np.ascontiguousarray(columns[5], dtype=np.float64),
    )  # fmt: skip


def walk_numpy(nodes: Nodes, X: np.ndarray) -> np.ndarray:
    """(rows, outputs): the trees' leaf values summed in tree order, with NumPy."""
    total = np.zeros((X.shape[0], nodes.values.shape[1]))
    rows = np.arange(X.shape[0])
    for root in nodes.roots:
        at = np.full(X.shape[0], root)
        live = nodes.left[at] >= 0
        while live.any():
            node = at[live]
            x = X[rows[live], nodes.feature[node]]
            go_left = np.where(np.isnan(x), nodes.nan_left[node], x <= nodes.threshold[node])
            at[live] = np.where(go_left, nodes.left[node], nodes.right[node])
            live = nodes.left[at] >= 0
        total += nodes.values[at]
    return total


def _walk_rows(X, roots, left, right, feature, threshold, nan_left, values, out):  # noqa: ANN001
    """``walk_numpy`` in compiled loops, tree by tree (one tree's nodes stay in cache
    for every row): ``out`` (zeros) is filled."""
    for t in range(roots.shape[0]):
        for i in range(X.shape[0]):
            node = roots[t]
            while left[node] >= 0:
                x = X[i, feature[node]]
                if np.isnan(x):
                    node = left[node] if nan_left[node] else right[node]
                elif x <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            for k in range(values.shape[1]):
                out[i, k] += values[node, k]


_kernel: Callable[..., None] | None = None
_compiling: threading.Thread | None = None
_lock = threading.Lock()


def _compile() -> None:
    global _kernel
    try:
        from numba import njit

        kernel = njit(nogil=True, cache=True)(_walk_rows)
        leaf = np.full(1, -1, np.intp)  # one tree of one leaf
        one = Nodes(np.zeros(1, np.intp), leaf, leaf, np.zeros(1, np.intp), np.zeros(1),
                    np.zeros(1, np.bool_), np.zeros((1, 1)))  # fmt: skip
        kernel(np.zeros((1, 1)), *one.arguments(), np.zeros((1, 1)))  # type: ignore[call-arg]
        _kernel = kernel
    except Exception as error:  # noqa: BLE001 - NumPy gives the same numbers, slower
        logging.getLogger("loopml.serve").warning("forest kernel not compiled (%s)", error)


def warm_up(wait: bool = False) -> None:
    """Compile the walk in a background thread (once per process)."""
    global _compiling
    with _lock:
        if _compiling is None:
            _compiling = threading.Thread(target=_compile, name="loopml-forest-jit", daemon=True)
            _compiling.start()
    if wait:
        _compiling.join()


class CompiledForest:
    """``predict`` / ``predict_proba`` of a fitted random forest by the kernel's walk;
    anything else is delegated to the forest."""

    def __init__(self, model: Any, nodes: Nodes) -> None:
        self.model = model
        self.nodes = nodes
        self._allow_nan = bool(model.estimators_[0].__sklearn_tags__().input_tags.allow_nan)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def summed(self, X: np.ndarray, jit: bool | None = None) -> np.ndarray | None:
        """(rows, outputs): the trees' outputs summed; None for inputs the forest
        refuses."""
        with np.errstate(over="ignore"):  # beyond float32: infinite, refused below
            X = np.asarray(X, dtype=np.float32).astype(np.float64)  # as scikit-learn reads X
        finite = np.isfinite(X)
        if not finite.all() and (not self._allow_nan or np.isinf(X).any()):
            return None
        warm_up(wait=bool(jit))
        kernel = _kernel if jit is not False else None
        if kernel is None:
            return walk_numpy(self.nodes, X)
        out = np.zeros((X.shape[0], self.nodes.values.shape[1]))
        kernel(X, *self.nodes.arguments(), out)
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        total = self.summed(X)
        if total is None:
            return self.model.predict_proba(X)
        total /= len(self.model.estimators_)
        return total

    def predict(self, X: np.ndarray) -> np.ndarray:
        if hasattr(self.model, "classes_"):
            return self.model.classes_.take(np.argmax(self.predict_proba(X), axis=1), axis=0)
        total = self.summed(X)
        if total is None:
            return self.model.predict(X)
        total /= len(self.model.estimators_)
        return total.ravel()


def compile_forest(model: Any) -> Any:
    """A ``CompiledForest`` for a fitted single-output random forest (or extra trees);
    any other model is returned as it is."""
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )

    kinds = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier,
             ExtraTreesRegressor)  # fmt: skip
    if type(model) not in kinds or not getattr(model, "estimators_", None):
        return model
    if getattr(model, "n_outputs_", 1) != 1:
        return model
    return CompiledForest(model, forest_nodes(model))
