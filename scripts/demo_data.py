"""Demo helper: cut the bundled data sets into history (to train on) and later traffic.

    python demo_data.py bank OUT_DIR        # bank calls: history + the latest 400 calls
    python demo_data.py bike OUT_DIR        # bike rentals: 2011 + 2012 in two stretches
    python demo_data.py bike-spec SPEC      # the bike project's spec for closing the loop
    python demo_data.py churn OUT_DIR       # telco churn: customers to train on + the latest
    python demo_data.py churn-spec SPEC     # the churn project's spec: a short search

The rows are in time order, so the last rows stand in for traffic that arrives after the
model was trained; their outcome is kept so that the demo can send it back as feedback.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml


def _bundled(name: str) -> pd.DataFrame:
    with (resources.files("loopml.resources") / name).open("rb") as handle:
        return pd.read_csv(handle)


def bank(out: Path, later_rows: int = 400) -> None:
    frame = _bundled("bank_marketing.csv")
    history, later = frame.iloc[:-later_rows], frame.iloc[-later_rows:]
    history.to_csv(out / "bank_marketing.csv", index=False)
    later.to_csv(out / "later_calls.csv", index=False)
    print(f"history: {len(history)} calls, later traffic: {len(later)} calls, in {out}/")


def bike(out: Path) -> None:
    frame = _bundled("bike_sharing_hourly.csv")
    year = pd.to_datetime(frame["dteday"], format="%m/%d/%y").dt.year
    year_2011, year_2012 = frame[year == 2011], frame[year == 2012]
    year_2011.to_csv(out / "bike_2011.csv", index=False)
    year_2012.iloc[:2400].to_csv(out / "traffic_2012_winter.csv", index=False)
    year_2012.iloc[2400:3000].to_csv(out / "traffic_2012_spring.csv", index=False)
    print(f"2011: {len(year_2011)} hours to train on; 2012: 2,400 + 600 hours of traffic")


def churn(out: Path, later_rows: int = 300) -> None:
    frame = _bundled("telco_churn.csv")
    history, later = frame.iloc[:-later_rows], frame.iloc[-later_rows:]
    history.to_csv(out / "telco_churn.csv", index=False)
    later.drop(columns=["churned"]).to_csv(out / "new_customers.csv", index=False)
    print(f"history: {len(history)} customers, to score: {len(later)} new ones, in {out}/")


def churn_spec(path: Path) -> None:
    """A short search (the demo's third act shows the data, not the search)."""
    spec = yaml.safe_load(path.read_text())
    spec["models"]["candidates"] = ["hist_gradient_boosting", "linear"]
    spec["models"]["search"].update(trials=4, folds=2)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    print(f"{path}: a short search")


def bike_spec(path: Path) -> None:
    """The date becomes a feature (year, month, weekday, hour) so that a retrained model
    can learn that 2012 is busier; monitoring retrains when the live RMSE degrades."""
    spec = yaml.safe_load(path.read_text())
    spec["split"] = {"method": "random", "test_size": 0.2, "random_state": 42}
    spec["models"]["candidates"] = ["hist_gradient_boosting", "lightgbm"]
    spec["models"]["search"].update(trials=6, folds=2)
    spec["serve"] = {"log_flush_s": 0.2, "watch_interval_s": 0.2}
    spec["monitor"] = {
        "window": {"by": "count", "size": 1500},
        "performance": {"max_drop": 0.1, "min_feedback": 100},
        "policies": [
            {"when": ["drift", "performance"], "action": "log"},
            {"when": ["performance"], "action": "retrain"},
        ],
        "retrain": {
            "min_labelled": 500,
            "recent_share": 0.3,
            "min_improvement": 0.05,
            "shadow_requests": 400,
            "min_shadow_feedback": 200,
        },
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    print(f"{path}: date as a feature, monitoring policies log + retrain")


if __name__ == "__main__":
    command, target = sys.argv[1], Path(sys.argv[2])
    if command.endswith("-spec"):
        {"bike-spec": bike_spec, "churn-spec": churn_spec}[command](target)
    else:
        target.mkdir(parents=True, exist_ok=True)
        {"bank": bank, "bike": bike, "churn": churn}[command](target)
