"""HistGradientBoosting's fitted trees as lookup tables: a prediction without a tree walk.

Every split of a fitted HistGradientBoosting model compares one feature with a threshold
(``x <= num_threshold`` goes left; a missing value goes where ``missing_go_to_left``
says). ``compile_hgb`` sorts the thresholds each feature is split on, so that a value
falls in one *bin* per feature (how many thresholds lie below it, or the missing bin),
and every split on that feature is decided by the bin alone. Each leaf of a tree is one
bit; for every (feature, bin) and tree the table holds the leaves that the splits on that
feature leave reachable. A row's leaf in a tree is then the one bit that survives the AND
of its features' masks: no branches, no node chasing, and a row costs
``features x trees`` ANDs that the CPU does several at a time. A de Bruijn multiply
turns that bit into the slot of the leaf's value, again without a branch.

The leaf values are summed in scikit-learn's order (baseline first, then tree after
tree) and the model's own link is applied, so the outputs are identical to the model's,
bit for bit (the tests compare them exactly). The sum runs in a small Numba kernel once it
is compiled (in a background thread, so that a server starts at once and the first
requests do not wait for the compiler) and in NumPy until then.

Models with categorical splits, trees of more than 64 leaves, or tables over
``MAX_TABLE_BYTES`` are left to scikit-learn.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_TABLE_BYTES = 256 * 2**20
MAX_LEAVES = 64


@dataclass(frozen=True)
class Tables:
    """The compiled model: ``masks[bin, tree]`` are the reachable leaves of ``tree`` for a
    value in ``bin``; a feature's bins start at ``first_bin[feature]``; ``leaf_values[tree,
    slot(bit)]`` is the value of the leaf that owns that bit."""

    features: np.ndarray  # the features that are split on, in the model's column order
    cuts: np.ndarray  # every feature's sorted thresholds, one after the other
    cut_start: np.ndarray  # feature j's thresholds are cuts[cut_start[j]:cut_start[j + 1]]
    first_bin: np.ndarray  # per feature in ``features``: its first row in ``masks``
    masks: np.ndarray  # (bins, trees), uint32 or uint64
    all_leaves: np.ndarray  # (trees,): every leaf's bit set
    leaf_values: np.ndarray  # (trees, 64): a leaf's value at the ``slot`` of its bit
    baseline: np.ndarray  # (per_iteration,)
    per_iteration: int

    @classmethod
    def empty(cls, dtype: type) -> Tables:
        """A model of one leaf and no split."""
        none = np.zeros(0, dtype=np.intp)
        masks: np.ndarray = np.ones((0, 1), dtype=dtype)
        return cls(none, np.zeros(0), np.zeros(1, np.intp), none, masks, np.ones(1, dtype),
                   np.zeros((1, SLOTS)), np.zeros(1), 1)  # fmt: skip

    def kernel_arguments(self) -> tuple[Any, ...]:
        return (
            self.features, self.cuts, self.cut_start, self.first_bin, self.masks,
            self.all_leaves, self.leaf_values, self.baseline, self.per_iteration,
        )  # fmt: skip

    def bins(self, X: np.ndarray) -> np.ndarray:
        """(rows, split features): each value's row in ``masks``."""
        out = np.empty((X.shape[0], len(self.features)), dtype=np.intp)
        for j, feature in enumerate(self.features):
            thresholds = self.cuts[self.cut_start[j] : self.cut_start[j + 1]]
            x = X[:, feature]
            where = np.searchsorted(thresholds, x, side="left")
            where[np.isnan(x)] = len(thresholds) + 1
            out[:, j] = where + self.first_bin[j]
        return out


def build_tables(model: Any) -> Tables | None:
    """The lookup tables of a fitted HistGradientBoosting model; None when it cannot be
    tabled (categorical splits, too many leaves, too large)."""
    trees = [tree.nodes for iteration in model._predictors for tree in iteration]
    if any(nodes["is_categorical"].any() for nodes in trees):
        return None
    most_leaves = max(int(nodes["is_leaf"].sum()) for nodes in trees)
    if most_leaves > MAX_LEAVES:
        return None
    dtype = np.uint32 if most_leaves <= 32 else np.uint64
    split = [nodes[~nodes["is_leaf"].astype(bool)] for nodes in trees]
    every = np.concatenate(split) if split else np.empty(0, trees[0].dtype)
    features = np.unique(every["feature_idx"]).astype(np.intp)
    thresholds = [np.unique(every["num_threshold"][every["feature_idx"] == f]) for f in features]
    sizes = np.array([len(t) + 2 for t in thresholds], dtype=np.intp)  # numbers, then missing
    first_bin = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    if int(sizes.sum()) * len(trees) * np.dtype(dtype).itemsize > MAX_TABLE_BYTES:
        return None
    all_leaves = np.array(
        [(1 << int(nodes["is_leaf"].sum())) - 1 for nodes in trees], dtype=np.uint64
    ).astype(dtype)
    masks = np.repeat(all_leaves[None, :], int(sizes.sum()), axis=0)
    leaf_values = np.zeros((len(trees), SLOTS), dtype=np.float64)
    column = {int(f): j for j, f in enumerate(features)}
    for t, nodes in enumerate(trees):
        reach = _leaves_under(nodes, leaf_values[t])
        for node in np.flatnonzero(~nodes["is_leaf"].astype(bool)):
            j = column[int(nodes["feature_idx"][node])]
            _apply_split(masks[:, t], nodes[node], reach, first_bin[j], thresholds[j])
    baseline = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
    cuts = np.concatenate([np.zeros(0), *thresholds])
    cut_start = np.concatenate([[0], np.cumsum([len(t) for t in thresholds])]).astype(np.intp)
    return Tables(
        features, cuts, cut_start, first_bin, masks, all_leaves, leaf_values, baseline,
        int(model.n_trees_per_iteration_),
    )  # fmt: skip


# A leaf's single bit times this de Bruijn constant has a distinct top 6 bits for each of
# the 64 bit positions: ``slot`` finds the leaf's value without a loop or a branch.
DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
SLOTS = 64


def slot(bits: Any) -> Any:
    """The 0-63 slot of a single set bit (works on NumPy arrays too; the product wraps)."""
    with np.errstate(over="ignore"):
        return (np.asarray(bits, dtype=np.uint64) * DE_BRUIJN) >> np.uint64(58)


def _leaves_under(nodes: np.ndarray, values: np.ndarray) -> list[int]:
    """Per node, the bits of the leaves below it (a leaf's own bit); fills ``values`` by
    ``slot``. scikit-learn numbers a child after its parent, so children are done first."""
    reach = [0] * len(nodes)
    for bit, leaf in enumerate(np.flatnonzero(nodes["is_leaf"])):
        reach[leaf] = 1 << bit
        values[int(slot(1 << bit))] = nodes["value"][leaf]
    for node in range(len(nodes) - 1, -1, -1):
        if not nodes["is_leaf"][node]:
            reach[node] = reach[nodes["left"][node]] | reach[nodes["right"][node]]
    return reach


def _apply_split(
    column: np.ndarray, node: np.void, reach: list[int], first: int, thresholds: np.ndarray
) -> None:
    """AND one split into its tree's masks: the bins up to its threshold go left (its right
    subtree is out), the bins above go right (its left subtree is out), the missing bin
    goes where the model sends missing values."""
    dtype = column.dtype.type
    keep_if_left = ~dtype(reach[node["right"]])
    keep_if_right = ~dtype(reach[node["left"]])
    at = int(np.searchsorted(thresholds, node["num_threshold"]))
    missing = first + len(thresholds) + 1
    column[first : first + at + 1] &= keep_if_left
    column[first + at + 1 : missing] &= keep_if_right
    column[missing] &= keep_if_left if node["missing_go_to_left"] else keep_if_right


def sum_leaves_numpy(tables: Tables, bins: np.ndarray) -> np.ndarray:
    """(rows, per_iteration) raw predictions, with NumPy."""
    reached = np.broadcast_to(tables.all_leaves, (bins.shape[0], len(tables.all_leaves)))
    for j in range(bins.shape[1]):
        reached = reached & np.take(tables.masks, bins[:, j], axis=0)
    at = slot(reached).astype(np.intp)
    values = tables.leaf_values[np.arange(len(tables.all_leaves)), at]
    out = np.empty((bins.shape[0], tables.per_iteration), dtype=np.float64)
    for k in range(tables.per_iteration):
        total = np.full(bins.shape[0], tables.baseline[k])
        for t in range(k, values.shape[1], tables.per_iteration):
            total += values[:, t]
        out[:, k] = total
    return out


# --- the Numba kernel, compiled once per process in the background ----------------------

_kernel: Callable[..., None] | None = None
_compiling: threading.Thread | None = None
_compiling_lock = threading.Lock()


def _predict_rows(  # noqa: ANN001 - Numba compiles it
    X, features, cuts, cut_start, first_bin, masks, all_leaves, leaf_values, baseline,
    per_iteration, out,
):  # fmt: skip
    """``Tables.bins`` then ``sum_leaves_numpy``, a row at a time: ``out`` is filled."""
    n_trees = all_leaves.shape[0]
    reached = np.empty(n_trees, dtype=masks.dtype)
    for i in range(X.shape[0]):
        reached[:] = all_leaves
        for j in range(features.shape[0]):
            x = X[i, features[j]]
            start, stop = cut_start[j], cut_start[j + 1]
            missing = np.isnan(x)
            where = stop - start + 1 if missing else np.searchsorted(cuts[start:stop], x)
            row = masks[first_bin[j] + where]
            for t in range(n_trees):
                reached[t] &= row[t]
        for k in range(per_iteration):  # tree t adds to output t % per_iteration
            total = baseline[k]
            for t in range(k, n_trees, per_iteration):
                at = (np.uint64(reached[t]) * DE_BRUIJN) >> np.uint64(58)
                total += leaf_values[t, at]
            out[i, k] = total


def _compile_kernel() -> None:
    global _kernel
    from numba import njit

    kernel = njit(nogil=True, cache=True)(_predict_rows)
    for dtype in (np.uint32, np.uint64):  # both mask widths, now rather than on a request
        tables = Tables.empty(dtype)
        kernel(np.zeros((1, 1)), *tables.kernel_arguments(), np.empty((1, 1)))  # type: ignore[call-arg]
    _kernel = kernel  # type: ignore[assignment]


def warm_up(wait: bool = False) -> None:
    """Compile the kernel in a background thread (once per process); ``wait`` blocks
    until it is ready. Until then ``CompiledHGB`` sums with NumPy."""
    global _compiling
    if _compiling is not None and not wait:
        return
    with _compiling_lock:
        if _compiling is None:
            _compiling = threading.Thread(target=_compile_or_keep_numpy, name="loopml-jit")
            _compiling.daemon = True
            _compiling.start()
    if wait:
        _compiling.join()


def _compile_or_keep_numpy() -> None:
    try:
        _compile_kernel()
    except Exception as error:  # noqa: BLE001 - NumPy gives the same numbers, slower
        logging.getLogger("loopml.serve").warning(
            "tree kernel not compiled (%s): using NumPy", error
        )


class CompiledHGB:
    """``predict`` / ``predict_proba`` of a fitted HistGradientBoosting model from its
    lookup tables; anything else is delegated to the model."""

    def __init__(self, model: Any, tables: Tables) -> None:
        self.model = model
        self.tables = tables

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def raw_predict(self, X: np.ndarray, jit: bool | None = None) -> np.ndarray:
        """The model's ``_raw_predict``: (rows, trees per iteration). ``jit`` forces the
        kernel (True, waiting for it) or NumPy (False); by default the kernel if ready."""
        X = np.asarray(X, dtype=np.float64)
        warm_up(wait=bool(jit))  # the first call starts the compiler, and returns at once
        kernel = _kernel if jit is not False else None
        if kernel is None:
            return sum_leaves_numpy(self.tables, self.tables.bins(X))
        if not (X.flags.c_contiguous and X.flags.writeable):  # the layout it was compiled for
            X = np.array(X, order="C")
        out = np.empty((X.shape[0], self.tables.per_iteration), dtype=np.float64)
        kernel(X, *self.tables.kernel_arguments(), out)
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model._loss.predict_proba(self.raw_predict(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        if hasattr(self.model, "classes_"):
            return self.model.classes_[self.predict_proba(X).argmax(axis=1)]
        return self.model._loss.link.inverse(self.raw_predict(X).ravel())


def compile_hgb(model: Any) -> Any:
    """A ``CompiledHGB`` for a fitted HistGradientBoosting model that can be tabled; any
    other model is returned as it is."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if type(model) not in (HistGradientBoostingClassifier, HistGradientBoostingRegressor):
        return model
    if not getattr(model, "_predictors", None):
        return model
    tables = build_tables(model)
    return model if tables is None else CompiledHGB(model, tables)
