"""LightGBM and XGBoost on loopml's tree tables (``loopml.serve.trees``).

Each library's trees are read from its own model dump into ``Tree`` objects that decide
as the library does, then tabled; the outputs are the library's own:

- **LightGBM** (``Booster.dump_model``, the iterations its predict uses): ``x <=
  threshold`` in float64; a missing value goes to the default side when the split's
  missing type is NaN, is read as 0 when it is None, and with missing type Zero any value
  within 1e-35 of 0 goes to the default side too. The leaves are summed from 0 in float64,
  tree after tree, and the objective's output applied as LightGBM's C++ does (sigmoid,
  softmax with the maximum taken out, identity). Identical to ``predict_proba`` up to
  ``exp``: NumPy's and the C library's may differ in the last bit (<= 1e-15 seen).
- **XGBoost** (``save_raw("json")``, up to the best iteration): the input is rounded to
  float32 and ``x < threshold`` (float32) goes left, a missing value to the default side;
  the leaves are summed in float32 from the base margin, tree after tree, and XGBoost's
  float32 sigmoid (``1 / (exp(min(-x, 88.7)) + 1)``) or softmax applied. The margins are
  identical; the probabilities are within 6e-8 of XGBoost's (absolute: a float32 rounding
  near 0.5; XGBoost's own ``exp`` is a few float32 steps off the exact one for small
  probabilities, which no C library ``expf`` reproduces).

Categorical splits, linear trees, DART, multi-output trees, random-forest boosting,
other objectives or a ``missing`` other than NaN are left to the library
(``compile_booster`` returns the model as it is), as are trees the tables cannot hold.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from loopml.serve.trees import Tables, Tree, build_tables

Link = Callable[[np.ndarray], np.ndarray]  # (rows, per_iteration) sums -> the output


class CompiledBooster:
    """``predict`` / ``predict_proba`` of a LightGBM or XGBoost estimator from its tables;
    anything else is delegated to the estimator."""

    def __init__(self, model: Any, tables: Tables, link: Link, float32_input: bool) -> None:
        self.model = model
        self.tables = tables
        self.link = link
        self.float32_input = float32_input

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def raw_predict(self, X: np.ndarray, jit: bool | None = None) -> np.ndarray:
        """The margins: (rows, trees per iteration), float64 (float32 for XGBoost)."""
        X = np.asarray(X, dtype=np.float64)
        if self.float32_input:  # XGBoost reads every value as a float32
            with np.errstate(over="ignore"):  # beyond float32: infinite, as in XGBoost
                X = X.astype(np.float32).astype(np.float64)
        return self.tables.raw_predict(X, jit)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.link(self.raw_predict(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = self.link(self.raw_predict(X))
        if hasattr(self.model, "classes_"):
            return np.asarray(self.model.classes_)[np.argmax(out, axis=1)]
        return out


def compile_booster(model: Any) -> Any:
    """A ``CompiledBooster`` for a fitted LightGBM or XGBoost scikit-learn estimator that
    can be tabled; any other model is returned as it is."""
    module = type(model).__module__.split(".")[0]
    try:
        if module == "lightgbm":
            compiled = _lightgbm(model)
        elif module == "xgboost":
            compiled = _xgboost(model)
        else:
            return model
    except (KeyError, ValueError, TypeError, AttributeError):  # a dump it does not know
        return model
    return model if compiled is None else compiled


# --- LightGBM ------------------------------------------------------------------------

_LGBM_IDENTITY = {"regression", "regression_l1", "huber", "fair", "quantile", "mape"}


def _lightgbm(model: Any) -> CompiledBooster | None:
    dump = model.booster_.dump_model()
    objective = dump.get("objective", "").split()
    per_iteration = int(dump["num_tree_per_iteration"])
    link = _lightgbm_link(objective, per_iteration, hasattr(model, "classes_"))
    if link is None or dump.get("average_output") or _is_linear(model):
        return None
    trees = [_lightgbm_tree(info["tree_structure"]) for info in dump["tree_info"]]
    if any(tree is None for tree in trees):
        return None
    tables = build_tables(trees, np.zeros(per_iteration), per_iteration)  # type: ignore[arg-type]
    return None if tables is None else CompiledBooster(model, tables, link, False)


def _is_linear(model: Any) -> bool:
    params = {**model.get_params(), **model.booster_.params}
    return bool(params.get("linear_tree")) or params.get("boosting", "gbdt") != "gbdt"


def _lightgbm_link(objective: list[str], per_iteration: int, classifier: bool) -> Link | None:
    if not objective:
        return None
    name, options = objective[0], dict(o.split(":", 1) for o in objective[1:] if ":" in o)
    if classifier and name == "binary" and per_iteration == 1:
        return _binary_link(float(options.get("sigmoid", 1.0)))
    if classifier and name in ("multiclass", "softmax") and per_iteration > 1:
        return _softmax64
    if not classifier and name in _LGBM_IDENTITY and "sqrt" not in objective:
        return lambda raw: raw.ravel()
    return None


def _binary_link(sigmoid: float) -> Link:
    def link(raw: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-sigmoid * raw[:, 0]))
        return np.vstack((1.0 - p, p)).transpose()

    return link


def _softmax64(raw: np.ndarray) -> np.ndarray:
    """LightGBM's ``Common::Softmax``: the maximum out, exp, a sum in class order."""
    e = np.exp(raw - raw.max(axis=1, keepdims=True))
    total = e[:, 0].copy()
    for k in range(1, e.shape[1]):
        total += e[:, k]
    return e / total[:, None]


def _lightgbm_tree(root: dict[str, Any]) -> Tree | None:
    """A tree of the dump, numbered in preorder; None for a categorical split."""
    nodes: list[dict[str, Any]] = []
    children: list[list[int]] = []
    stack: list[tuple[dict[str, Any], int, int]] = [(root, -1, 0)]
    while stack:
        node, parent, side = stack.pop()
        if parent >= 0:
            children[parent][side] = len(nodes)
        nodes.append(node)
        children.append([-1, -1])
        if "split_feature" in node:
            if node.get("decision_type", "<=") != "<=":
                return None
            at = len(nodes) - 1
            stack += [(node["right_child"], at, 1), (node["left_child"], at, 0)]
    split = ["split_feature" in node for node in nodes]
    missing = [node.get("missing_type", "None") for node in nodes]
    default = np.array([bool(node.get("default_left", False)) for node in nodes])
    threshold = np.array([float(node.get("threshold", 0.0)) for node in nodes])
    none_left = threshold >= 0.0  # missing type None: a missing value is read as 0
    nan_left = np.where(np.array(missing) == "None", none_left, default)
    return Tree(
        left=np.array([c[0] for c in children], dtype=np.intp),
        right=np.array([c[1] for c in children], dtype=np.intp),
        feature=np.array([node.get("split_feature", 0) for node in nodes], dtype=np.intp),
        threshold=threshold,
        nan_left=nan_left,
        value=np.array([float(node.get("leaf_value", 0.0)) for node in nodes]),
        zero_band=np.array([m == "Zero" for m in missing]) & np.array(split),
        zero_left=default,
    )


# --- XGBoost -------------------------------------------------------------------------

_XGB_IDENTITY = {"reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror"}
_EXP_LIMIT = np.float32(88.7)


def _xgboost(model: Any) -> CompiledBooster | None:
    missing = getattr(model, "missing", np.nan)
    if not (isinstance(missing, float) and np.isnan(missing)):
        return None
    booster = model.get_booster()
    learner = json.loads(booster.save_raw(raw_format="json"))["learner"]
    booster_json = learner["gradient_booster"]
    if booster_json.get("name") != "gbtree":
        return None
    forest = booster_json["model"]
    objective = learner["objective"]["name"]
    classes = int(learner["learner_model_param"].get("num_class", "0"))
    per_iteration = max(classes, 1)
    link = _xgboost_link(objective, per_iteration, hasattr(model, "classes_"))
    if link is None:
        return None
    end = _xgboost_tree_count(model, forest, per_iteration)
    trees_json, info = forest["trees"][:end], forest["tree_info"][:end]
    if list(info) != [t % per_iteration for t in range(len(info))]:
        return None  # parallel trees or another order: not one tree per output per round
    trees = [_xgboost_tree(tree) for tree in trees_json]
    if any(tree is None for tree in trees):
        return None
    baseline = _base_margin(learner["learner_model_param"]["base_score"], objective, per_iteration)
    tables = build_tables(trees, baseline, per_iteration)  # type: ignore[arg-type]
    return None if tables is None else CompiledBooster(model, tables, link, True)


def _xgboost_tree_count(model: Any, forest: dict[str, Any], per_iteration: int) -> int:
    """How many trees the estimator's predict uses (up to its best iteration)."""
    begin, end = model._get_iteration_range(None)
    if begin != 0:
        raise ValueError("an iteration range that does not start at 0")
    pointers = forest.get("iteration_indptr")
    if end == 0:
        return len(forest["trees"])
    if pointers is not None:
        return int(pointers[end])
    return end * per_iteration


def _xgboost_tree(tree: dict[str, Any]) -> Tree | None:
    if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
        return None  # a multi-output tree
    if any(int(t) != 0 for t in tree.get("split_type", [])):
        return None  # a categorical split
    left = np.asarray(tree["left_children"], dtype=np.intp)
    conditions = np.asarray(tree["split_conditions"], dtype=np.float64).astype(np.float32)
    # on float32 values, x < t is x <= the float64 just below t
    below = np.nextafter(conditions.astype(np.float64), -np.inf)
    return Tree(
        left=np.where(left < 0, -1, left),
        right=np.where(left < 0, -1, np.asarray(tree["right_children"], dtype=np.intp)),
        feature=np.asarray(tree["split_indices"], dtype=np.intp),
        threshold=below,
        nan_left=np.asarray(tree["default_left"], dtype=bool),
        value=conditions,
    )


def _base_margin(text: str, objective: str, per_iteration: int) -> np.ndarray:
    """The margin every row starts from, in float32: the base score, through the
    logistic's inverse link for ``binary:logistic`` (a multiclass base score is a margin
    already)."""
    values = np.asarray(json.loads(text) if text.startswith("[") else [float(text)])
    base = np.broadcast_to(values.astype(np.float32), (per_iteration,)).copy()
    if objective == "binary:logistic":
        one = np.float32(1.0)
        base = -np.log(one / base - one)
    return base.astype(np.float32)


def _xgboost_link(objective: str, per_iteration: int, classifier: bool) -> Link | None:
    if classifier and objective == "binary:logistic" and per_iteration == 1:
        return _sigmoid32
    if classifier and objective == "multi:softprob" and per_iteration > 1:
        return _softmax32
    if not classifier and objective in _XGB_IDENTITY and per_iteration == 1:
        return lambda raw: raw.ravel()
    return None


def _sigmoid32(raw: np.ndarray) -> np.ndarray:
    """XGBoost's ``common::Sigmoid`` in float32, then ``[1 - p, p]``."""
    one = np.float32(1.0)
    denom = _exp32(np.minimum(-raw[:, 0], _EXP_LIMIT)) + one + np.float32(1e-16)
    p = one / denom
    return np.vstack((1.0 - p, p)).transpose()


def _softmax32(raw: np.ndarray) -> np.ndarray:
    """XGBoost's ``common::Softmax``: float32 exp of the values less their maximum, the
    sum in float64 (class order), each divided by the sum rounded to float32."""
    e = _exp32(raw - raw.max(axis=1, keepdims=True))
    total = e[:, 0].astype(np.float64)
    for k in range(1, e.shape[1]):
        total += e[:, k]
    return e / total.astype(np.float32)[:, None]


def _exp32(x: np.ndarray) -> np.ndarray:
    """exp of float32 values, correctly rounded to float32 (closer to XGBoost's than
    NumPy's float32 ``exp``)."""
    return np.exp(x.astype(np.float64)).astype(np.float32)
