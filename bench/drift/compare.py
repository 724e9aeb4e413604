"""Print the drift benchmark's results side by side, with ratios.

python bench/drift/compare.py bench/.cache/drift-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    results = [json.loads(Path(p).read_text()) for p in sys.argv[1:] if Path(p).exists()]
    by = {(r["tool"], r["rows"]): r for r in results}
    header = f"{'rows':>10} {'tool':<10} {'seconds':>8} {'peak MiB':>9} {'extra MiB':>9}  found"
    print(header + "  missed / false alarms")
    for rows in sorted({r["rows"] for r in results}):
        for tool in ("evidently", "loopml"):
            r = by.get((tool, rows))
            if r is None:
                continue
            found = len(r["flagged"]) - len(r["false_alarms"])
            missed = ", ".join(r["missed"]) or "-"
            false = ", ".join(r["false_alarms"]) or "-"
            print(
                f"{rows:>10,} {tool:<10} {r['seconds']:>8.2f} {r['peak_mib']:>9.0f} "
                f"{r['extra_mib']:>9.0f}  {found:>2}/{found + len(r['missed'])}  "
                f"missed: {missed}; false alarms: {false}"
            )
        ev, lm = by.get(("evidently", rows)), by.get(("loopml", rows))
        if ev and lm:
            print(
                f"{'':>10} ratio      {ev['seconds'] / lm['seconds']:>7.1f}x "
                f"{ev['peak_mib'] / lm['peak_mib']:>8.1f}x "
                f"{ev['extra_mib'] / max(lm['extra_mib'], 1):>8.1f}x  (evidently / loopml)"
            )


if __name__ == "__main__":
    main()
