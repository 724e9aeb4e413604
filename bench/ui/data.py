"""The runs both sides of the ui benchmark store: the same values from the same seed.

Each run: 20 params (``model`` one of four names, ``lr``, ``depth``, ... ), a ``tags.state``
and 50 metrics: ``roc_auc``, ``accuracy``, ``log_loss``, ``f1``, ``recall`` logged over
10 steps (the latest is the one searched and shown) and ``m05`` to ``m49`` once. Pure
Python (no loopml, no MLflow), imported by both sides.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

MODELS = ("lightgbm", "xgboost", "logistic", "forest")
CURVES = ("roc_auc", "accuracy", "log_loss", "f1", "recall")
SCALARS = tuple(f"m{i:02d}" for i in range(len(CURVES), 50))
METRIC_KEYS = CURVES + SCALARS
STEPS = 10
# The page both sides are asked for: a metric condition and a param condition, sorted by
# the metric, descending, 50 runs.
WHERE = ("roc_auc > 0.7", "params.model == lightgbm")
SORT = "-roc_auc"
MLFLOW_FILTER = "metrics.roc_auc > 0.7 and params.model = 'lightgbm'"
MLFLOW_ORDER = "metrics.roc_auc DESC"


@dataclass(frozen=True)
class BenchRun:
    name: str
    params: dict[str, str | int | float]
    tags: dict[str, str]
    metrics: list[tuple[str, float, int]]  # key, value, step


def make_runs(count: int, seed: int = 0) -> Iterator[BenchRun]:
    """``count`` runs, the same for the same seed."""
    rng = random.Random(seed)
    for i in range(count):
        params: dict[str, str | int | float] = {
            "model": MODELS[rng.randrange(len(MODELS))],
            "lr": round(10 ** rng.uniform(-4, -1), 6),
            "depth": rng.randint(2, 12),
        }
        for p in range(len(params), 20):
            params[f"p{p:02d}"] = round(rng.random(), 4)
        metrics: list[tuple[str, float, int]] = []
        for key in CURVES:
            final = rng.random()
            for step in range(STEPS):
                metrics.append((key, round(final * (step + 1) / STEPS, 6), step))
        for key in SCALARS:
            metrics.append((key, round(rng.random(), 6), 0))
        state = "pruned" if rng.random() < 0.1 else "complete"
        yield BenchRun(f"trial-{i:05d}", params, {"state": state}, metrics)
