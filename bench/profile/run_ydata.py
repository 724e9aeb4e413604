"""ydata-profiling's side of the profiling benchmark, in its default mode.

Runs in its own virtualenv (``bench/.venv-ydata``: ydata-profiling needs ``pandas<3``),
in a fresh process, and prints one JSON line like ``run.py``: seconds for
``ProfileReport(df).to_file(...)``, peak RSS, and whether its alerts name the three
correlated pairs (a HIGH_CORRELATION alert on one column listing the other) and the leaky
feature (ydata has no notion of a target: a high-correlation alert between the leak and
the target is counted as found).

    bench/.venv-ydata/bin/python bench/profile/run_ydata.py --rows 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_data import CORRELATED_PAIRS, LEAK, TARGET, data_path  # noqa: E402


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None, help="report file to write")
    parser.add_argument("--json", type=Path, default=None, help="write the result here too")
    parser.add_argument(
        "--minimal", action="store_true", help="ydata's minimal mode (correlations off)"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import pandas as pd
    from ydata_profiling import ProfileReport

    path = data_path(args.rows)
    mode = "minimal" if args.minimal else "default"
    out = args.out or HERE.parent / ".cache" / f"ydata_profile_{mode}_{args.rows}.html"
    started = time.perf_counter()
    frame = pd.read_parquet(path)
    read_s = time.perf_counter() - started

    started = time.perf_counter()
    report = ProfileReport(frame, title="bench", progress_bar=False, minimal=args.minimal)
    report.to_file(out)
    seconds = time.perf_counter() - started

    correlated: set[frozenset[str]] = set()
    for alert in report.get_description().alerts:
        if alert.alert_type.name == "HIGH_CORRELATION":
            for other in (alert.values or {}).get("fields", []):
                correlated.add(frozenset((alert.column_name, other)))
    result = {
        "tool": f"ydata-profiling ({mode})",
        "rows": len(frame),
        "columns": frame.shape[1],
        "seconds": round(seconds, 2),
        "read_seconds": round(read_s, 2),
        "peak_gib": round(peak_rss_gib(), 3),
        "pairs_found": sum(frozenset(pair) in correlated for pair in CORRELATED_PAIRS),
        "pairs_total": len(CORRELATED_PAIRS),
        "leak_found": frozenset((LEAK, TARGET)) in correlated,
        "report_mib": round(out.stat().st_size / 2**20, 1),
        "report": str(out),
    }
    line = json.dumps(result)
    print(line)
    if args.json:
        args.json.write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
