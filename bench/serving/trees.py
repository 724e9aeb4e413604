"""The benchmark model's HistGradientBoosting predict, in process, one thread: scikit-learn
against loopml's lookup tables (NumPy, and the Numba kernel), for 1, 32 and 10,000 rows.

    OMP_NUM_THREADS=1 python trees.py CACHE_DIR   # after run.sh (it writes pipeline.pkl)

Prints the median of repeated calls and the ratio to scikit-learn; checks the outputs
are identical.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from loopml.serve.trees import compile_hgb, warm_up


def median_ms(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cache", type=Path)
    args = parser.parse_args()
    pipeline = pickle.loads((args.cache / "pipeline.pkl").read_bytes())  # noqa: S301 - the benchmark's own files
    features, model = pipeline[:-1], pipeline[-1]
    frame = pd.read_parquet(args.cache / "sample.parquet")
    X = np.asarray(features.transform(frame), dtype=np.float64)
    X = np.ascontiguousarray(X[np.random.default_rng(0).integers(0, len(X), 10_000)])
    compiled = compile_hgb(model)
    warm_up(wait=True)
    trees = sum(len(iteration) for iteration in model._predictors)
    print(f"HistGradientBoosting: {trees} trees, {X.shape[1]} features; one thread")
    print(f"{'rows':>8}{'scikit-learn':>15}{'loopml numpy':>15}{'loopml numba':>15}{'ratio':>9}")
    for rows in (1, 32, 10_000):
        part = X[:rows]
        repeats = 15 if rows > 1000 else 300
        expected = model.predict_proba(part)
        for jit in (False, True):
            got = model._loss.predict_proba(compiled.raw_predict(part, jit=jit))
            assert np.array_equal(got, expected), "outputs differ"
        sklearn = median_ms(lambda p=part: model.predict_proba(p), repeats)
        numpy = median_ms(lambda p=part: compiled.raw_predict(p, jit=False), repeats)
        numba = median_ms(lambda p=part: compiled.predict_proba(p), repeats)
        print(
            f"{rows:>8}{sklearn:>12.3f} ms{numpy:>12.3f} ms{numba:>12.3f} ms"
            f"{sklearn / numba:>8.1f}x"
        )
    print("(identical outputs; ratio: scikit-learn's time over the Numba kernel's)")


if __name__ == "__main__":
    main()
