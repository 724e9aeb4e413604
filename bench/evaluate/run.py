"""Bootstrap intervals of every binary metric on the bank hold-out: loopml's vectorised
resampling against the plain loop (scikit-learn's scorers on each resample).

    .venv/bin/python bench/evaluate/run.py [--samples 200]

Trains HistGradientBoosting on the bank training split, scores the 8,985-row hold-out,
and prints both timings, their ratio and the largest difference between the intervals.
"""

from __future__ import annotations

import argparse
import time
from importlib import resources

import numpy as np
from threadpoolctl import threadpool_limits

from loopml.data.infer import infer_spec
from loopml.data.ingest import clean_column_names, read_source
from loopml.data.split import split_frame
from loopml.evaluate import bootstrap as bs
from loopml.evaluate.holdout import score_rows
from loopml.evaluate.metrics import binary_metrics
from loopml.train.train import fit_bundle, infer_signature


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    samples = parser.parse_args().samples
    path = resources.files("loopml.resources") / "bank_marketing.csv"
    frame, columns = clean_column_names(read_source(str(path)))
    spec = infer_spec(
        frame,
        target="subscribed",
        source_path="bank.csv",
        column_map=columns,
        name="b",
        exclude=["duration"],
    )
    train, test = split_frame(frame, spec.split, "subscribed", "classification")
    with threadpool_limits(limits=1):
        bundle = fit_bundle("hist_gradient_boosting", train, spec, infer_signature(train, spec))
    scored = score_rows(bundle, test)
    truth, proba = scored.y, scored.score

    started = time.perf_counter()
    fast = bs.bootstrap(scored.metric_arrays, len(truth), samples=samples, confidence=0.95, seed=0)
    vectorised = time.perf_counter() - started

    started = time.perf_counter()
    rng = np.random.default_rng(0)
    values: dict[str, list[float]] = {}
    for _ in range(samples):
        rows = rng.integers(0, len(truth), len(truth))
        for name, value in binary_metrics(truth[rows], proba[rows]).items():
            values.setdefault(name, []).append(value)
    looped = time.perf_counter() - started
    slow = {k: tuple(np.percentile(v, [2.5, 97.5])) for k, v in values.items()}

    gap = max(abs(a - b) for k in slow for a, b in zip(fast[k], slow[k], strict=True))
    print(f"{len(truth):,} hold-out rows, {samples} resamples, {len(fast)} metrics")
    print(f"loopml vectorised : {vectorised:7.3f} s")
    print(f"scikit-learn loop : {looped:7.3f} s   ({looped / vectorised:.0f}x slower)")
    print(f"largest interval difference (different resamples): {gap:.4f}")


if __name__ == "__main__":
    main()
