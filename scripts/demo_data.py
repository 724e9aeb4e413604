"""Demo helper: split the bundled bank marketing data into history and later traffic.

The rows are in call order (May 2008 to Nov 2010), so the last rows are the most recent
calls: they stand in for traffic that arrives after the model was trained.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import pandas as pd


def main(out_dir: str, later_rows: int = 400) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = resources.files("loopml.resources") / "bank_marketing.csv"
    with source.open("rb") as handle:
        frame = pd.read_csv(handle)
    history, later = frame.iloc[:-later_rows], frame.iloc[-later_rows:]
    history.to_csv(out / "bank_marketing.csv", index=False)
    # later calls arrive without the outcome, and without `duration`, which is known
    # only once a call has ended
    unknown_yet = [c for c in later.columns if c.strip() in {"subscribed", "duration"}]
    later.drop(columns=unknown_yet).to_csv(out / "later_calls.csv", index=False)
    print(f"history: {len(history)} rows, later traffic: {len(later)} rows, in {out}/")


if __name__ == "__main__":
    main(sys.argv[1])
