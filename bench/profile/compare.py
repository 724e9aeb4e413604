"""Print the side-by-side table of the profiling benchmark from the JSON lines that
``run.py`` and ``run_ydata.py`` wrote (any number of files, loopml's first).

    python bench/profile/compare.py bench/.cache/result_loopml_100000.json \\
        bench/.cache/result_ydata_100000.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(paths: list[str]) -> None:
    results = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths if Path(p).exists()]
    if not results:
        sys.exit("no results to compare")
    base = next((r for r in results if r["tool"] == "loopml"), None)
    header = (
        f"{'tool':<28} {'rows':>10} {'seconds':>9} {'peak GiB':>9} {'pairs':>6} "
        f"{'leak':>5} {'report MiB':>10} {'x loopml':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = f"{r['seconds'] / base['seconds']:.1f}" if base and base["seconds"] else "-"
        print(
            f"{r['tool']:<28} {r['rows']:>10,} {r['seconds']:>9.2f} {r['peak_gib']:>9.2f} "
            f"{r['pairs_found']:>4}/{r['pairs_total']} {'yes' if r['leak_found'] else 'no':>5} "
            f"{r['report_mib']:>10.1f} {ratio:>9}"
        )
    print(
        "\nseconds: profile + render + write, the Parquet read excluded; peak GiB: the "
        "process's peak RSS, read included; pairs: correlated pairs flagged (of 3); leak: "
        "the leaky feature flagged (ydata: only as a high correlation with the target)."
    )


if __name__ == "__main__":
    main(sys.argv[1:])
