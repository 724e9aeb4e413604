"""Train the benchmark's model once and write everything both servers need.

The model is the one the issue names: a scikit-learn Pipeline of an ordinal encoder for
the categorical columns (numbers passed through) and a HistGradientBoostingClassifier,
fitted on the bundled bank marketing data. The same pickled Pipeline becomes a loopml
package (``loopml package`` format) and, in the MLflow virtualenv, an MLflow model.

    python prepare.py OUT_DIR
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from loopml.data.schema import infer_schema
from loopml.domain import ColumnKind
from loopml.model.bundle import ModelBundle
from loopml.serve.package import COMPILE_KERNEL, write_package

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "loopml" / "resources" / "bank_marketing.csv"
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
CATEGORICAL = ["default", "housing", "loan", "month"]


def load() -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(DATA)
    frame.columns = [c.strip() for c in frame.columns]
    y = frame.pop("subscribed").to_numpy()
    frame = frame.drop(columns=["duration"])  # leakage
    for column in ("default", "housing", "loan"):
        frame[column] = np.where(frame[column] == 1, "yes", "no").astype(object)
    frame["month"] = np.asarray(MONTHS, dtype=object)[frame["month"].to_numpy() - 1]
    numeric = [c for c in frame.columns if c not in CATEGORICAL]
    frame[numeric] = frame[numeric].astype("float64")
    return frame, y


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    X, y = load()
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
    )
    features = ColumnTransformer([("cat", encoder, CATEGORICAL)], remainder="passthrough")
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0)
    pipeline = Pipeline([("features", features), ("model", model)]).fit(X, y)
    (out / "pipeline.pkl").write_bytes(pickle.dumps(pipeline))
    kinds = {c: ColumnKind.CATEGORICAL for c in CATEGORICAL}
    signature = infer_schema(X, kinds)
    bundle = ModelBundle(
        pipeline=pipeline,
        signature=signature,
        task="classification",
        target="subscribed",
        model_kind="hist_gradient_boosting",
        classes=list(pipeline.classes_),
        positive_class=1,
    )
    meta = {"name": "bank", "version": 1, "signature": signature.to_dict()}
    folder = write_package(out / "package", bundle.to_bytes(), meta, force=True)
    # the Dockerfile's compile step: the servers load the tree kernel, as in an image
    subprocess.run([sys.executable, "-c", COMPILE_KERNEL], cwd=folder, check=True)  # noqa: S603 - our own commands
    rows = X.sample(10_000, random_state=0)
    records = json.loads(rows.to_json(orient="records"))
    one = records[0]
    (out / "row_loopml.json").write_text(json.dumps({"row": one}))
    (out / "row_mlflow.json").write_text(json.dumps({"dataframe_records": [one]}))
    (out / "batch_loopml.json").write_text(json.dumps({"rows": records}))
    (out / "batch_mlflow.json").write_text(json.dumps({"dataframe_records": records}))
    columns = {name: [r[name] for r in records] for name in records[0]}
    (out / "columns_loopml.json").write_text(json.dumps({"columns": columns}))
    split = {"columns": list(records[0]), "data": [list(r.values()) for r in records]}
    (out / "columns_mlflow.json").write_text(json.dumps({"dataframe_split": split}))
    rows.head(200).to_parquet(out / "sample.parquet")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
