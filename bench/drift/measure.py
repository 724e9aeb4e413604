"""Run one tool on one data folder in this process; print time, peak memory, flags.

    python bench/drift/measure.py loopml bench/.cache/drift-100000 --json out.json
    python bench/drift/measure.py evidently bench/.cache/drift-100000 --json out.json

Both tools get the same two in-memory pandas frames (read from Parquet first, not
timed). Peak memory is the process's maximum resident set size (the frames included);
``extra_mib`` is that peak less the resident size once the frames were loaded.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import pandas as pd


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_loopml(reference: pd.DataFrame, current: pd.DataFrame) -> set[str]:
    import loopml

    return set(loopml.drift(reference, current).drifted_features)


def run_evidently(reference: pd.DataFrame, current: pd.DataFrame) -> set[str]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[c for c in reference.columns if c.startswith("x")],
        categorical_columns=[c for c in reference.columns if c.startswith("c")],
    )
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    flagged = set()
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config.get("type", "").endswith("ValueDrift"):
            continue
        method, score, threshold = config["method"], metric["value"], config["threshold"]
        distance = any(w in method for w in ("distance", "Wasserstein", "PSI", "Jensen"))
        # distances drift at or above the threshold, p-values (small samples) below it
        if (score >= threshold) if distance else (score < threshold):
            flagged.add(config["column"])
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tool", choices=["loopml", "evidently"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    reference = pd.read_parquet(args.folder / "reference.parquet")
    current = pd.read_parquet(args.folder / "current.parquet")
    truth = set(json.loads((args.folder / "truth.json").read_text())["drifted"])
    loaded = rss_mib()
    started = time.perf_counter()
    flagged = (run_loopml if args.tool == "loopml" else run_evidently)(reference, current)
    seconds = time.perf_counter() - started
    peak = peak_mib()
    result = {
        "tool": args.tool,
        "rows": len(reference),
        "seconds": seconds,
        "peak_mib": peak,
        "extra_mib": peak - loaded,
        "flagged": sorted(flagged),
        "missed": sorted(truth - flagged),
        "false_alarms": sorted(flagged - truth),
    }
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
