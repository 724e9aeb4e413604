"""Run in bench/.venv-mlflow: save the benchmark's pickled Pipeline as an MLflow model.

The pyfunc calls ``predict_proba``, as loopml's server does, so both do the same work.

    python mlflow_save.py PIPELINE_PICKLE SAMPLE_PARQUET OUT_DIR
"""

from __future__ import annotations

import pickle
import shutil
import sys
from pathlib import Path

import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature


def main(pipeline_path: str, sample_path: str, out: str) -> None:
    pipeline = pickle.loads(Path(pipeline_path).read_bytes())  # noqa: S301 - our own file
    sample = pd.read_parquet(sample_path)
    signature = infer_signature(sample, pipeline.predict_proba(sample))
    shutil.rmtree(out, ignore_errors=True)
    mlflow.sklearn.save_model(
        pipeline,
        out,
        signature=signature,
        pyfunc_predict_fn="predict_proba",
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
