"""Write src/loopml/resources/telco_churn.csv: a seeded, synthetic subscription-churn table.

The bundled real data sets are all numeric; this one holds what real exports hold and
what broke loopml before: categorical columns, yes/no columns in two spellings, numbers
written as text (currency signs, thousands separators), dates as text, an ordered scale,
blank values and header names with spaces. The label follows a known logistic model of
the columns, so a model trained on it has something real to find.

    python scripts/make_churn_data.py   # rewrites the file; the same bytes every time
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 6000
OUT = Path(__file__).resolve().parents[1] / "src" / "loopml" / "resources" / "telco_churn.csv"
SATISFACTION = ["very low", "low", "medium", "high", "very high"]


def make(rows: int = ROWS, seed: int = 20261204) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signup = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 1095, rows), "D")
    contract = rng.choice(["Month-to-month", "One year", "Two year"], rows, p=[0.55, 0.25, 0.2])
    plan = rng.choice(["basic", "standard", "premium"], rows, p=[0.4, 0.4, 0.2])
    region = rng.choice(["north", "south", "east", "west", "central", "islands"], rows)
    paperless = rng.random(rows) < 0.6
    partner = rng.random(rows) < 0.45
    tenure = rng.gamma(2.0, 12.0, rows).round().astype(int) + 1
    calls = rng.poisson(1.5, rows)
    satisfaction = rng.integers(0, 5, rows)
    base = {"basic": 29.0, "standard": 59.0, "premium": 99.0}
    monthly = np.array([base[p] for p in plan]) + rng.normal(0, 8, rows)
    monthly = np.clip(monthly, 12, None).round(2)
    total = (monthly * tenure * rng.uniform(0.9, 1.05, rows)).round(2)
    logit = (
        -1.2
        + 1.4 * (contract == "Month-to-month")
        - 0.8 * (contract == "Two year")
        + 0.5 * paperless
        - 0.4 * partner
        - 0.035 * tenure
        + 0.45 * calls
        - 0.45 * (satisfaction - 2)
        + 0.012 * (monthly - 60)
        + 0.3 * (region == "islands")
    )
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "Customer ID": [f"C{i:05d}" for i in range(1, rows + 1)],
            "Signup Date": signup.strftime("%Y-%m-%d"),
            "contract": contract,
            "plan": plan,
            "region": region,
            "Paperless Billing": np.where(paperless, "yes", "no"),
            "partner": np.where(partner, "Yes", "No"),
            "tenure_months": tenure.astype(float),
            "support_calls": calls,
            "satisfaction": [SATISFACTION[s] for s in satisfaction],
            "Monthly Charges": [f"${v:,.2f}" for v in monthly],
            "Total Charges": [f"{v:,.2f}" for v in total],
            "churned": np.where(churned, "yes", "no"),
        }
    )
    blank = rng.random((rows, 3)) < [0.03, 0.05, 0.02]
    frame.loc[blank[:, 0], "tenure_months"] = np.nan
    frame.loc[blank[:, 1], "satisfaction"] = ""
    frame.loc[blank[:, 2], "Total Charges"] = " "
    return frame.sort_values("Signup Date", kind="stable").reset_index(drop=True)


if __name__ == "__main__":
    make().to_csv(OUT, index=False)
    print(f"wrote {OUT} ({ROWS} rows)")
