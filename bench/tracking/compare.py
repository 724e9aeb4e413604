"""Print the tracking benchmark's table from the JSON that bench_loopml.py and
bench_mlflow.py wrote, with the ratios and the goals.

    python bench/tracking/compare.py bench/.cache/tracking_loopml.json \
        bench/.cache/tracking_mlflow.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PER_CALL_GOAL = 100.0  # loopml's per-call rate / MLflow's log_metric rate
QUERY_GOAL = 10.0  # MLflow's query seconds / loopml's


def rate(result: dict[str, Any], kind: str) -> float:
    return float(result[f"{kind}_values"]) / float(result[f"{kind}_s"])


def main(loopml_path: str, mlflow_path: str | None = None) -> None:
    ours = json.loads(Path(loopml_path).read_text(encoding="utf-8"))
    theirs = None
    if mlflow_path and Path(mlflow_path).exists():
        theirs = json.loads(Path(mlflow_path).read_text(encoding="utf-8"))
    tools = [ours] + ([theirs] if theirs else [])
    header = f"{'':<44}" + "".join(f"{t['tool']:>18}" for t in tools)
    header += f"{'loopml/MLflow':>16}" if theirs else ""
    print(header)
    print("-" * len(header))

    def line(label: str, values: list[str], ratio: str = "") -> None:
        print(f"{label:<44}" + "".join(f"{v:>18}" for v in values) + f"{ratio:>16}")

    per_call = [rate(t, "per_call") for t in tools]
    batch = [rate(t, "batch") for t in tools]
    query = [float(t["query_s"]) for t in tools]
    line(
        "per call (log_metric), values/s",
        [f"{v:,.0f}" for v in per_call],
        f"{per_call[0] / per_call[1]:,.0f}x" if theirs else "",
    )
    line("  values logged, durable after the run", [f"{t['per_call_stored']:,}" for t in tools])
    line(
        "batch (1,000 a call), values/s",
        [f"{v:,.0f}" for v in batch],
        f"{batch[0] / batch[1]:,.1f}x" if theirs else "",
    )
    line(
        f"find runs by a metric among {ours['runs']:,}, s",
        [f"{v:.4f}" for v in query],
        f"{query[1] / query[0]:,.1f}x faster" if theirs else "",
    )
    with_metrics = float(ours["query_with_metrics_s"])
    line(
        "  the same, with the 3 metrics' values, s",
        [f"{with_metrics:.4f}"] + ([f"{query[1]:.4f}"] if theirs else []),
        f"{query[1] / with_metrics:,.1f}x faster" if theirs else "",
    )
    line("  runs found / expected", [f"{t['query_found']}/{t['query_expected']}" for t in tools])
    if theirs and "client_query_s" in theirs:
        print(
            f"\n(MLflow's MlflowClient.search_runs, Run objects without a DataFrame: "
            f"{theirs['client_query_s']:.4f} s)"
        )
    print(
        "\nper call: loopml's plain `loopml.log_metric`, timed from the first call to the end "
        "of the run (final flush included); MLflow's `mlflow.log_metric` (synchronous), end "
        "of run included. batch: loopml `store.log_metrics`, MLflow `log_batch`, 1,000 values "
        "per call. query: best of 5 after a warm-up, the runs with their params and tags; "
        "loopml `store.search_runs(where=[m > 0.5])` (Run objects), then with the latest "
        "values of the three metrics (the search behind `loopml runs --where`); MLflow "
        "`mlflow.search_runs(filter_string='metrics.m > 0.5')` (a DataFrame with metrics, "
        "params and tags)."
    )
    if theirs:
        per_call_ratio = per_call[0] / per_call[1]
        query_ratio = query[1] / query[0]
        metrics_ratio = query[1] / with_metrics
        durable = ours["per_call_stored"] == ours["per_call_values"]
        print(
            f"\ngoal per call >= {PER_CALL_GOAL:.0f}x MLflow's log_metric: "
            f"{'met' if per_call_ratio >= PER_CALL_GOAL else 'NOT met'} ({per_call_ratio:,.0f}x); "
            f"every value durable: {'yes' if durable else 'NO'}; "
            f"goal query >= {QUERY_GOAL:.0f}x faster: "
            f"{'met' if query_ratio >= QUERY_GOAL else 'NOT met'} ({query_ratio:,.1f}x; "
            f"{metrics_ratio:,.1f}x with the metric values)"
        )


if __name__ == "__main__":
    main(*sys.argv[1:3])
