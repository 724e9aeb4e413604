"""Write the drift benchmark's reference and current frames, and the truth.

20 numeric columns of five shapes (normal, log-normal, uniform, Poisson counts,
bimodal) and 5 categorical ones (3 to 40 categories). Drift is injected into 5 numeric
columns as mean shifts of 0.1 to 0.5 reference standard deviations, and into 2
categorical ones: a mild change (category shares moved by 2 to 4 points) and a strong
one. Every other column is drawn from the same distribution on both sides.

    python bench/drift/make_data.py --rows 100000 --out bench/.cache/drift-100000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

SHAPES = ("normal", "lognormal", "uniform", "poisson", "bimodal")
NUMERIC_SHIFTS = {"x00": 0.1, "x01": 0.2, "x02": 0.3, "x03": 0.4, "x04": 0.5}
CATEGORY_SIZES = {"c0": 5, "c1": 3, "c2": 10, "c3": 40, "c4": 4}


def numeric(shape: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if shape == "normal":
        return rng.normal(50, 10, n)
    if shape == "lognormal":
        return rng.lognormal(3, 0.5, n)
    if shape == "uniform":
        return rng.uniform(0, 100, n)
    if shape == "poisson":
        return rng.poisson(6, n).astype(float)
    mix = rng.random(n) < 0.3
    return np.where(mix, rng.normal(20, 3, n), rng.normal(40, 5, n))


def shares(size: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1)
    return weights / weights.sum()


def frames(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, object]]:
    rng = np.random.default_rng(seed)
    reference, current = {}, {}
    for i in range(20):
        name, shape = f"x{i:02d}", SHAPES[i % len(SHAPES)]
        reference[name] = numeric(shape, rows, rng)
        current[name] = numeric(shape, rows, rng)
        if name in NUMERIC_SHIFTS:
            current[name] = current[name] + NUMERIC_SHIFTS[name] * reference[name].std()
    for name, size in CATEGORY_SIZES.items():
        labels = np.array([f"{name}_{k}" for k in range(size)], dtype=object)
        p = shares(size)
        q = p.copy()
        if name == "c0":  # mild: 4 points from the first category to the next two
            q[0] -= 0.04
            q[1] += 0.02
            q[2] += 0.02
        elif name == "c1":  # strong
            q = p[::-1].copy()
        reference[name] = rng.choice(labels, rows, p=p)
        current[name] = rng.choice(labels, rows, p=q / q.sum())
    truth = {
        "drifted": sorted([*NUMERIC_SHIFTS, "c0", "c1"]),
        "numeric_shifts_std": NUMERIC_SHIFTS,
        "categorical": {"c0": "mild: 4 points moved", "c1": "strong: shares reversed"},
        "rows": rows,
    }
    return pd.DataFrame(reference), pd.DataFrame(current), truth


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    reference, current, truth = frames(args.rows, args.seed)
    reference.to_parquet(args.out / "reference.parquet", index=False)
    current.to_parquet(args.out / "current.parquet", index=False)
    (args.out / "truth.json").write_text(json.dumps(truth, indent=2))


if __name__ == "__main__":
    main()
