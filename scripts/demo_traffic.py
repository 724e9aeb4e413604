"""Demo helper: send each row of a CSV file to a running loopml server, one request each."""

from __future__ import annotations

import math
import sys

import httpx
import pandas as pd


def main(url: str, path: str) -> None:
    frame = pd.read_csv(path)
    frame.columns = [c.strip().lower() for c in frame.columns]
    ok = 0
    with httpx.Client(base_url=url, timeout=10) as client:
        for i, row in enumerate(frame.to_dict(orient="records"), start=1):
            row = {
                k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()
            }
            response = client.post("/predict", json={"row": row})
            response.raise_for_status()
            ok += 1
            if i % 100 == 0 or i == len(frame):
                print(f"  sent {i}/{len(frame)} rows", flush=True)
    print(f"{ok} predictions served")


def _missing(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
