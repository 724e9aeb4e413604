"""Write the synthetic data set of the profiling benchmark to Parquet (deterministic).

30 columns: 16 numeric (some with ~5 % missing values; three strongly correlated pairs,
r >= 0.95; skewed, heavy-tailed, zero-inflated and integer ones; one leaky feature that
is the target plus a little noise), 11 categoricals with 2 to 200 categories, one date,
one free-text column and a binary target. Only numpy, pandas and pyarrow are needed, so
it runs in either benchmark environment.

    python bench/profile/make_data.py --rows 1000000   # -> bench/.cache/profile_1000000.parquet
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

CACHE = Path(__file__).resolve().parent.parent / ".cache"
CORRELATED_PAIRS = (("signal", "signal_scaled"), ("income", "spend"), ("temp_c", "temp_f"))
LEAK = "followup_score"
TARGET = "converted"
CATEGORY_SIZES = (2, 3, 5, 8, 12, 20, 30, 50, 100, 150, 200)
_VOCABULARY = (
    "the a an order delivery late early great poor price quality service support refund "
    "package box item size colour color fit wrong right again never always friendly rude "
    "fast slow app website checkout payment card cash discount coupon return exchange "
    "staff store online phone email chat issue problem solved open closed waiting happy "
    "unhappy recommend would not buy more less cheap expensive fresh broken damaged "
    "missing extra gift wrap shipping tracking address"
)


def data_path(rows: int) -> Path:
    return CACHE / f"profile_{rows}.parquet"


def make_frame(rows: int, seed: int = 42) -> pd.DataFrame:
    """The benchmark frame with ``rows`` rows (the same for the same arguments)."""
    rng = np.random.default_rng(seed)
    n = rows

    def with_missing(values: np.ndarray, share: float = 0.05) -> np.ndarray:
        values = values.astype(float)
        values[rng.random(n) < share] = np.nan
        return values

    signal = rng.normal(0, 1, n)
    income = rng.lognormal(10, 0.6, n)
    temp_c = rng.normal(15, 8, n)
    age = rng.integers(18, 90, n)
    visits = rng.poisson(0.8, n)
    cats = {}
    for size in CATEGORY_SIZES:
        weights = 1.0 / np.arange(1, size + 1) ** 0.8  # Zipf-like: a few common categories
        codes = rng.choice(size, n, p=weights / weights.sum())
        labels = np.array([f"c{size}_{i:03d}" for i in range(size)], dtype=object)
        values = labels[codes]
        if size in (8, 50, 150):
            values[rng.random(n) < 0.02] = None
        cats[f"cat_{size}"] = (codes, values)
    logit = (
        -1.6
        + 0.8 * signal
        + 0.5 * (np.log(income) - 10)
        - 0.02 * (age - 50)
        + 0.3 * visits
        + 0.4 * (cats["cat_5"][0] == 1)
    )
    target = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    frame = pd.DataFrame(
        {
            TARGET: target,
            "signal": with_missing(signal),
            "signal_scaled": 2 * signal + rng.normal(0, 0.25, n),  # r ~ 0.99
            "income": income,
            "spend": with_missing(0.3 * income + rng.normal(0, 400, n)),  # r ~ 0.96
            "temp_c": temp_c,
            "temp_f": with_missing(temp_c * 1.8 + 32 + rng.normal(0, 2, n)),  # r ~ 0.99
            "age": age,
            "visits": visits,
            "tenure_days": with_missing(rng.exponential(400, n).round()),
            "score_a": rng.random(n),
            "score_b": rng.beta(2, 5, n),
            "ratio": with_missing(rng.normal(1, 0.3, n)),
            "balance": rng.standard_t(3, n) * 1000,
            "discount": np.where(rng.random(n) < 0.7, 0.0, rng.uniform(1, 50, n).round(2)),
            "rating": rng.integers(1, 6, n),
            LEAK: target * 2.0 + rng.normal(0, 0.35, n),  # known only after the outcome
        }
    )
    for name, (_, values) in cats.items():
        frame[name] = pd.Series(values, dtype="str")
    days = rng.integers(0, 4 * 365, n)
    frame["signup_date"] = pd.Timestamp("2019-01-01") + pd.to_timedelta(days, unit="D")
    frame["comment"] = pd.Series(_comments(rng, n), dtype="str")
    return frame


def _comments(rng: np.random.Generator, n: int) -> list[str]:
    words = np.array(_VOCABULARY.split(), dtype=object)
    lengths = rng.integers(3, 16, n)
    picks = words[rng.integers(0, len(words), (n, 15))]
    return [" ".join(row[:k]) for row, k in zip(picks, lengths, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--force", action="store_true", help="write even if cached")
    args = parser.parse_args()
    path = data_path(args.rows)
    if path.exists() and not args.force:
        print(f"cached: {path}")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = make_frame(args.rows)
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    print(f"wrote {path} ({args.rows:,} rows x {frame.shape[1]} columns)")


if __name__ == "__main__":
    main()
