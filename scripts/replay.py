"""Replay labelled rows through a running loopml server: each batch is predicted, then its
truth is sent back as feedback for the prediction ids the server returned.

    python scripts/replay.py URL ROWS.csv --target cnt --project PROJECT_DIR [--batch 20]

Column names are cleaned the way ``loopml init`` cleans them, and the model's input
columns are read from the project's champion, so the server gets exactly the fields it
expects (it answers unknown fields with 422).
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd


@dataclass
class Replayed:
    predictions: int = 0
    feedback: int = 0
    models: Counter[str] = field(default_factory=Counter)


def replay(
    url: str,
    rows: pd.DataFrame,
    target: str,
    columns: list[str],
    *,
    batch: int = 20,
    token: str | None = None,
) -> Replayed:
    """Send ``rows`` in batches to ``url``/predict and their ``target`` to /feedback."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    done = Replayed()
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        for start in range(0, len(rows), batch):
            part = rows.iloc[start : start + batch]
            records = [_json_row(r) for r in part[columns].to_dict(orient="records")]
            answer = client.post("/predict", json={"rows": records})
            answer.raise_for_status()
            body = answer.json()
            done.predictions += len(body["prediction_ids"])
            done.models[body["model"]] += len(body["prediction_ids"])
            items = [
                {"prediction_id": pid, "value": _json_value(value)}
                for pid, value in zip(body["prediction_ids"], part[target], strict=True)
            ]
            client.post("/feedback", json={"items": items}).raise_for_status()
            done.feedback += len(items)
    return done


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _json_value(v) for k, v in row.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def model_columns(project: Path) -> list[str]:
    from loopml.service import ProjectService

    service = ProjectService.open(project)
    try:
        version, _ = service.load_model()
        return version.signature.names()
    finally:
        service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("rows", type=Path)
    parser.add_argument("--target", required=True)
    parser.add_argument("--project", type=Path, default=Path("."))
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    from loopml.data.ingest import clean_column_names

    rows, _ = clean_column_names(pd.read_csv(args.rows))  # the names the project uses
    done = replay(args.url, rows, args.target, model_columns(args.project), batch=args.batch)
    served = ", ".join(f"{model}: {n}" for model, n in sorted(done.models.items()))
    print(f"{done.predictions} predictions ({served}), {done.feedback} feedback values sent")


if __name__ == "__main__":
    main()
