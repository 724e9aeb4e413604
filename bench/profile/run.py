"""loopml's side of the profiling benchmark: profile, render and write one report.

Run it in a fresh process (``run.sh`` does): the peak RSS it reports is the whole
process's, reading the Parquet file included. Prints one JSON line; ``--json`` also
writes it to a file.

    .venv/bin/python bench/profile/run.py --rows 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_data import CORRELATED_PAIRS, LEAK, TARGET, data_path  # noqa: E402


def peak_rss_gib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None, help="report file to write")
    parser.add_argument("--json", type=Path, default=None, help="write the result here too")
    parser.add_argument("--stages", action="store_true", help="print progress stage times")
    args = parser.parse_args()

    import pandas as pd

    from loopml.profile import profile_frame, render_profile

    path = data_path(args.rows)
    out = args.out or HERE.parent / ".cache" / f"loopml_profile_{args.rows}.html"
    started = time.perf_counter()
    frame = pd.read_parquet(path)
    read_s = time.perf_counter() - started

    marks: list[tuple[str, float]] = []

    def progress(stage: str, share: float) -> None:
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.perf_counter()))

    started = time.perf_counter()
    profile = profile_frame(frame, target=TARGET, task=None, progress=progress, title="bench")
    profiled = time.perf_counter()
    html = render_profile(profile)
    out.write_text(html, encoding="utf-8")
    seconds = time.perf_counter() - started

    collinear = {frozenset(f.columns) for f in profile.findings if f.kind == "collinearity"}
    pairs_found = sum(frozenset(pair) in collinear for pair in CORRELATED_PAIRS)
    leak_found = any(f.kind == "leakage" and LEAK in f.columns for f in profile.findings)
    result = {
        "tool": "loopml",
        "rows": len(frame),
        "columns": frame.shape[1],
        "seconds": round(seconds, 2),
        "profile_seconds": round(profiled - started, 2),
        "render_seconds": round(seconds - (profiled - started), 2),
        "read_seconds": round(read_s, 2),
        "peak_gib": round(peak_rss_gib(), 3),
        "pairs_found": pairs_found,
        "pairs_total": len(CORRELATED_PAIRS),
        "leak_found": leak_found,
        "report_mib": round(out.stat().st_size / 2**20, 1),
        "report": str(out),
    }
    if args.stages:
        ends = [t for _, t in marks[1:]] + [profiled]
        for (stage, begin), end in zip(marks, ends, strict=True):
            print(f"  {stage:<14} {end - begin:6.2f} s", file=sys.stderr)
    line = json.dumps(result)
    print(line)
    if args.json:
        args.json.write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
