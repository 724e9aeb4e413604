"""Boosted trees as lookup tables: a prediction without a tree walk.

A fitted ensemble is first read into ``Tree`` objects (the library's nodes, each split
saying which values go left: ``x <= threshold``, where missing values go and, for a
categorical split, the values that go left). ``build_tables`` then cuts each feature's
real line at every value where any split on it changes its mind, so that a value falls
in one *bin* per feature (how many cuts lie below it, or the missing bin), and every
split on that feature is decided by the bin alone: each bin is asked once, at build
time, through one representative value. Each leaf of a tree is one bit; for every
(feature, bin) and tree the table holds the leaves that the splits on that feature leave
reachable. A row's leaf in a tree is then the one bit that survives the AND of its
features' masks: no branches, no node chasing, and a row costs ``features x trees``
ANDs that the CPU does several at a time. A de Bruijn multiply turns that bit into the
slot of the leaf's value, again without a branch.

The leaf values are summed in the library's order (baseline first, then tree after
tree, in float64 or, for XGBoost, float32) and the library's own link is applied by the
caller (``loopml.serve.boosters``, ``CompiledHGB`` here). The sum runs in a small Numba
kernel once it is compiled (in a background thread, so that a server starts at once and
the first requests do not wait for the compiler) and in NumPy until then.

HistGradientBoosting is read here (``compile_hgb``), categorical splits included: its
own ordinal encoding of categorical columns is folded into the cuts (each known category
is a bin of its own; an unknown value falls between them and goes where missing values
go). Trees of more than 64 leaves, or tables over ``MAX_TABLE_BYTES``, are left to the
library.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_TABLE_BYTES = 256 * 2**20
MAX_LEAVES = 64


@dataclass
class Tree:
    """One tree, as its library decides: node ``i`` is a leaf when ``left[i] < 0`` (its
    value ``value[i]``); otherwise ``x = X[:, feature[i]]`` goes left when ``x <=
    threshold[i]``, a missing ``x`` where ``nan_left[i]`` says, and when ``zero_band[i]``
    a value within ``ZERO_BAND`` of 0 where ``zero_left[i]`` says (LightGBM's zero as
    missing). A categorical node (in ``categories``) sends its left values left, its
    other known values right and anything else where missing values go."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    nan_left: np.ndarray
    value: np.ndarray
    zero_band: np.ndarray | None = None
    zero_left: np.ndarray | None = None
    categories: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def leaves(self) -> np.ndarray:
        return np.flatnonzero(self.left < 0)

    def cuts(self, node: int) -> np.ndarray:
        """The values ``c`` such that ``x <= c`` bounds this split's decision."""
        if node in self.categories:
            known = self.categories[node][1]
            return np.concatenate([np.nextafter(known, -np.inf), known])
        cuts = [self.threshold[node]]
        if self.zero_band is not None and self.zero_band[node]:
            cuts += [np.nextafter(-ZERO_BAND, -np.inf), ZERO_BAND]
        return np.asarray(cuts, dtype=np.float64)

    def goes_left(self, node: int, x: np.ndarray) -> np.ndarray:
        """Where each value of ``x`` goes at ``node`` (True: left)."""
        missing = np.isnan(x)
        if node in self.categories:
            lefts, known = self.categories[node]
            unknown = missing | ~np.isin(x, known)
            return np.where(unknown, bool(self.nan_left[node]), np.isin(x, lefts))
        out = np.where(missing, bool(self.nan_left[node]), x <= self.threshold[node])
        if self.zero_band is not None and self.zero_band[node]:
            assert self.zero_left is not None
            out[np.abs(x) <= ZERO_BAND] = bool(self.zero_left[node])
        return out


ZERO_BAND = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a C++ float)


@dataclass(frozen=True)
class Tables:
    """The compiled model: ``masks[bin, tree]`` are the reachable leaves of ``tree`` for a
    value in ``bin``; a feature's bins start at ``first_bin[feature]``; ``leaf_values[tree,
    slot(bit)]`` is the value of the leaf that owns that bit."""

    features: np.ndarray  # the features that are split on, in the model's column order
    cuts: np.ndarray  # every feature's sorted cuts, one after the other
    cut_start: np.ndarray  # feature j's cuts are cuts[cut_start[j]:cut_start[j + 1]]
    first_bin: np.ndarray  # per feature in ``features``: its first row in ``masks``
    masks: np.ndarray  # (bins, trees), uint32 or uint64
    all_leaves: np.ndarray  # (trees,): every leaf's bit set
    leaf_values: np.ndarray  # (trees, 64): a leaf's value at the ``slot`` of its bit
    baseline: np.ndarray  # (per_iteration,), the dtype of the sum
    per_iteration: int
    # where a value's search of its feature's cuts starts (see ``grid_of``)
    grid_low: np.ndarray  # per feature: its first cut
    grid_scale: np.ndarray  # per feature: cells per unit of the value
    grid_start: np.ndarray  # feature j's cells are grid[grid_start[j]:grid_start[j + 1]]
    grid: np.ndarray  # per cell: the cuts below its lower edge (int32)
    trees: tuple[Tree, ...] = ()  # what they were built from (``loopml.serve.folding``)

    @classmethod
    def empty(cls, dtype: type, values: type = np.float64) -> Tables:
        """A model of one leaf and no split."""
        none = np.zeros(0, dtype=np.intp)
        masks: np.ndarray = np.ones((0, 1), dtype=dtype)
        return cls(none, np.zeros(0), np.zeros(1, np.intp), none, masks, np.ones(1, dtype),
                   np.zeros((1, SLOTS), values), np.zeros(1, values), 1,
                   *grid_of(np.zeros(0), np.zeros(1, np.intp)))  # fmt: skip

    def kernel_arguments(self) -> tuple[Any, ...]:
        return (
            self.features, self.cuts, self.cut_start, self.first_bin, self.masks,
            self.all_leaves, self.leaf_values, self.baseline, self.per_iteration,
            self.grid_low, self.grid_scale, self.grid_start, self.grid,
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

    def raw_predict(self, X: np.ndarray, jit: bool | None = None) -> np.ndarray:
        """(rows, per_iteration) sums. ``jit`` forces the kernel (True, waiting for it) or
        NumPy (False); by default the kernel if it is ready."""
        warm_up(wait=bool(jit))  # the first call starts the compiler, and returns at once
        kernel = _kernel if jit is not False else None
        if kernel is None:
            return sum_leaves_numpy(self, self.bins(X))
        if not (X.flags.c_contiguous and X.flags.writeable):  # the layout it was compiled for
            X = np.array(X, order="C")
        out = np.empty((X.shape[0], self.per_iteration), dtype=self.baseline.dtype)
        kernel(X, *self.kernel_arguments(), out)
        return out


def build_tables(trees: list[Tree], baseline: Any, per_iteration: int) -> Tables | None:
    """The lookup tables of ``trees`` (tree ``t`` adds to output ``t % per_iteration``);
    None when they cannot be tabled (too many leaves, too large). ``baseline``'s dtype is
    the sum's (float64, or float32 for XGBoost)."""
    base = np.atleast_1d(np.asarray(baseline)).ravel()
    most_leaves = max((len(tree.leaves) for tree in trees), default=1)
    if most_leaves > MAX_LEAVES or len(trees) % per_iteration or base.size != per_iteration:
        return None
    dtype = np.uint32 if most_leaves <= 32 else np.uint64
    splits = [(tree, int(node)) for tree in trees for node in np.flatnonzero(tree.left >= 0)]
    features = np.unique([int(tree.feature[node]) for tree, node in splits]).astype(np.intp)
    column = {int(f): j for j, f in enumerate(features)}
    per_feature: list[list[np.ndarray]] = [[] for _ in features]
    for tree, node in splits:
        per_feature[column[int(tree.feature[node])]].append(tree.cuts(node))
    cuts_of = [np.unique(np.concatenate(c)) for c in per_feature]
    sizes = np.array([len(c) + 2 for c in cuts_of], dtype=np.intp)  # numbers, then missing
    first_bin = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    if int(sizes.sum()) * len(trees) * np.dtype(dtype).itemsize > MAX_TABLE_BYTES:
        return None
    # a bin's representative: its upper cut (the last one: +inf), then a missing value
    representatives = [np.concatenate([c, [np.inf, np.nan]]) for c in cuts_of]
    leaf_counts = [len(tree.leaves) for tree in trees]
    all_leaves = np.array([(1 << n) - 1 for n in leaf_counts], dtype=np.uint64).astype(dtype)
    masks = np.repeat(all_leaves[None, :], int(sizes.sum()), axis=0)
    leaf_values = np.zeros((len(trees), SLOTS), dtype=base.dtype)
    for t, tree in enumerate(trees):
        reach = _leaves_under(tree, leaf_values[t])
        for node in map(int, np.flatnonzero(tree.left >= 0)):
            j = column[int(tree.feature[node])]
            left = tree.goes_left(node, representatives[j])
            keep_if_left = ~dtype(reach[tree.right[node]])
            keep_if_right = ~dtype(reach[tree.left[node]])
            rows = slice(first_bin[j], first_bin[j] + sizes[j])
            masks[rows, t] &= np.where(left, keep_if_left, keep_if_right)
    cuts = np.concatenate([np.zeros(0), *cuts_of])
    cut_start = np.concatenate([[0], np.cumsum([len(c) for c in cuts_of])]).astype(np.intp)
    return Tables(features, cuts, cut_start, first_bin, masks, all_leaves, leaf_values, base,
                  per_iteration, *grid_of(cuts, cut_start), tuple(trees))  # fmt: skip


CELLS_PER_CUT = 8
MAX_CELLS = 4096


def grid_of(
    cuts: np.ndarray, cut_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per feature, a uniform grid over its cuts (``CELLS_PER_CUT`` cells per cut): the
    kernel finds a value's cell by one multiply and starts its search at the cell's
    count of cuts, a step or two from the answer, instead of a binary search (whose
    unpredictable branches cost most of a row). The start is only a guess: the kernel
    steps down and up from it to the exact count, so any grid gives the same bins."""
    lows, scales, starts, cells = [], [], [0], []
    for j in range(len(cut_start) - 1):
        own = cuts[cut_start[j] : cut_start[j + 1]]
        finite = own[np.isfinite(own)]
        count = max(1, min(MAX_CELLS, CELLS_PER_CUT * len(own)))
        low, high = (float(finite[0]), float(finite[-1])) if len(finite) else (0.0, 0.0)
        with np.errstate(over="ignore", divide="ignore"):
            scale = count / (high - low) if high > low else 0.0
        scale = scale if np.isfinite(scale) else 0.0
        edges = low + np.arange(count) / scale if scale else np.full(count, low)
        cells.append(np.searchsorted(own, edges, side="left"))
        lows.append(low)
        scales.append(scale)
        starts.append(starts[-1] + count)
    return (np.asarray(lows, dtype=np.float64), np.asarray(scales, dtype=np.float64),
            np.asarray(starts, dtype=np.intp),
            np.concatenate([np.zeros(0, np.int32), *cells]).astype(np.int32))  # fmt: skip


# A leaf's single bit times this de Bruijn constant has a distinct top 6 bits for each of
# the 64 bit positions: ``slot`` finds the leaf's value without a loop or a branch.
DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
SLOTS = 64


def slot(bits: Any) -> Any:
    """The 0-63 slot of a single set bit (works on NumPy arrays too; the product wraps)."""
    with np.errstate(over="ignore"):
        return (np.asarray(bits, dtype=np.uint64) * DE_BRUIJN) >> np.uint64(58)


def _leaves_under(tree: Tree, values: np.ndarray) -> list[int]:
    """Per node, the bits of the leaves below it (a leaf's own bit); fills ``values`` by
    ``slot``. Nodes are visited children first, whatever the library's numbering."""
    reach = [0] * len(tree.left)
    for bit, leaf in enumerate(tree.leaves):
        reach[leaf] = 1 << bit
        values[int(slot(1 << bit))] = tree.value[leaf]
    order, stack = [], [0]
    while stack:
        node = stack.pop()
        if tree.left[node] >= 0:
            order.append(node)
            stack += [int(tree.left[node]), int(tree.right[node])]
    for node in reversed(order):
        reach[node] = reach[tree.left[node]] | reach[tree.right[node]]
    return reach


def sum_leaves_numpy(tables: Tables, bins: np.ndarray) -> np.ndarray:
    """(rows, per_iteration) raw predictions, with NumPy."""
    reached = np.broadcast_to(tables.all_leaves, (bins.shape[0], len(tables.all_leaves)))
    for j in range(bins.shape[1]):
        reached = reached & np.take(tables.masks, bins[:, j], axis=0)
    at = slot(reached).astype(np.intp)
    values = tables.leaf_values[np.arange(len(tables.all_leaves)), at]
    out = np.empty((bins.shape[0], tables.per_iteration), dtype=tables.baseline.dtype)
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
    per_iteration, grid_low, grid_scale, grid_start, grid, out,
):  # fmt: skip
    """``Tables.bins`` then ``sum_leaves_numpy``, a row at a time: ``out`` is filled."""
    n_trees = all_leaves.shape[0]
    reached = np.empty(n_trees, dtype=masks.dtype)
    for i in range(X.shape[0]):
        reached[:] = all_leaves
        for j in range(features.shape[0]):
            x = X[i, features[j]]
            start, stop = cut_start[j], cut_start[j + 1]
            if np.isnan(x):
                where = stop - start + 1
            else:  # the cuts below x (np.searchsorted), from its grid cell's guess
                cells = grid_start[j + 1] - grid_start[j]
                u = (x - grid_low[j]) * grid_scale[j]
                if u >= cells:
                    cell = cells - 1
                elif u >= 0.0:
                    cell = int(u)
                else:  # below the grid, or NaN (an infinite x times a zero scale)
                    cell = 0
                at = start + grid[grid_start[j] + cell]
                while at > start and cuts[at - 1] >= x:
                    at -= 1
                while at < stop and cuts[at] < x:
                    at += 1
                where = at - start
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
    for dtype in (np.uint32, np.uint64):  # every mask width and sum, now, not on a request
        for values in (np.float64, np.float32):
            tables = Tables.empty(dtype, values)
            out = np.empty((1, 1), dtype=values)
            kernel(np.zeros((1, 1)), *tables.kernel_arguments(), out)  # type: ignore[call-arg]
    _kernel = kernel  # type: ignore[assignment]


def warm_up(wait: bool = False) -> None:
    """Compile the kernel in a background thread (once per process); ``wait`` blocks
    until it is ready. Until then the tables sum with NumPy."""
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


# --- HistGradientBoosting ------------------------------------------------------------


class CompiledHGB:
    """``predict`` / ``predict_proba`` of a fitted HistGradientBoosting model from its
    lookup tables; anything else is delegated to the model."""

    def __init__(self, model: Any, tables: Tables) -> None:
        self.model = model
        self.tables = tables
        # with categorical columns scikit-learn refuses infinities: let it say so
        self._finite_only = getattr(model, "_preprocessor", None) is not None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def raw_predict(self, X: np.ndarray, jit: bool | None = None) -> np.ndarray:
        """The model's ``_raw_predict``: (rows, trees per iteration)."""
        X = np.asarray(X, dtype=np.float64)
        if self._finite_only and np.isinf(X).any():
            return self.model._raw_predict(X)
        return self.tables.raw_predict(X, jit)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model._loss.predict_proba(self.raw_predict(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        if hasattr(self.model, "classes_"):
            raw = self.raw_predict(X)
            if raw.shape[1] == 1:  # as scikit-learn decides: > 0, not a probability
                return self.model.classes_[(raw.ravel() > 0).astype(int)]
            return self.model.classes_[np.argmax(raw, axis=1)]
        return self.model._loss.link.inverse(self.raw_predict(X).ravel())


def hgb_trees(model: Any) -> list[Tree] | None:
    """The model's trees on its input columns; None when its categorical preprocessing
    is not the one scikit-learn builds."""
    remap = _categorical_remap(model)
    if remap is None:
        return None
    columns, categories = remap
    trees = []
    for predictor in (tree for iteration in model._predictors for tree in iteration):
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        tree = Tree(
            left=np.where(leaf, -1, nodes["left"].astype(np.intp)),
            right=np.where(leaf, -1, nodes["right"].astype(np.intp)),
            feature=columns[nodes["feature_idx"]],
            threshold=nodes["num_threshold"].astype(np.float64),
            nan_left=nodes["missing_go_to_left"].astype(bool),
            value=nodes["value"].astype(np.float64),
        )
        for node in np.flatnonzero(nodes["is_categorical"].astype(bool) & ~leaf):
            known = categories[int(nodes["feature_idx"][node])]
            words = predictor.raw_left_cat_bitsets[nodes["bitset_idx"][node]]
            codes = _bitset_members(words, len(known))
            tree.categories[int(node)] = (known[codes], known)
        trees.append(tree)
    return trees


def _categorical_remap(model: Any) -> tuple[np.ndarray, dict[int, np.ndarray]] | None:
    """(the input column of each tree feature, the known categories of each categorical
    tree feature, in code order). scikit-learn ordinal-encodes the categorical columns
    (unknown values to NaN) and puts them first."""
    n = int(model.n_features_in_)
    preprocessor = getattr(model, "_preprocessor", None)
    if preprocessor is None:
        return np.arange(n, dtype=np.intp), {}
    columns = np.zeros(n, dtype=np.intp)
    categories: dict[int, np.ndarray] = {}
    for name, transformer, mask in preprocessor.transformers_:
        where = preprocessor.output_indices_[name]
        inputs = np.flatnonzero(np.asarray(mask, dtype=bool))
        if len(inputs) != where.stop - where.start:
            return None
        columns[where] = inputs
        if name == "encoder":
            for offset, known in enumerate(transformer.categories_):
                known = np.asarray(known, dtype=np.float64)
                categories[where.start + offset] = known[~np.isnan(known)]
    return columns, categories


def _bitset_members(words: np.ndarray, n: int) -> np.ndarray:
    codes = np.arange(n)
    bits = words[codes // 32].astype(np.int64) >> (codes % 32)
    return codes[(bits & 1) == 1]


def compile_hgb(model: Any) -> Any:
    """A ``CompiledHGB`` for a fitted HistGradientBoosting model that can be tabled; any
    other model is returned as it is."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if type(model) not in (HistGradientBoostingClassifier, HistGradientBoostingRegressor):
        return model
    if not getattr(model, "_predictors", None):
        return model
    trees = hgb_trees(model)
    baseline = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
    per_iteration = int(model.n_trees_per_iteration_)
    tables = None if trees is None else build_tables(trees, baseline, per_iteration)
    return model if tables is None else CompiledHGB(model, tables)
