"""Scoring straight from Arrow writes what the pandas way writes, problems included."""

from __future__ import annotations

from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from loopml.compute import LocalExecutor
from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.features.transform import to_float
from loopml.model.bundle import ModelBundle
from loopml.model.checks import InputChecker, InputPolicy
from loopml.serve.batch import Predictor, score_checked, score_chunk
from loopml.serve.columnar import arrow_plan
from loopml.serve.parts import list_parts, score_parts

COLUMNS = ["a", "b", "c"]
ROWS = 300


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    """A LightGBM classifier on a median imputer and a scaler (folded into its cuts);
    ``c`` may not be missing, ``a`` lies in [-2, 2] at training."""
    signature = Schema((
        ColumnSchema("a", ColumnKind.NUMERIC, "float32", min=-2.0, max=2.0),
        ColumnSchema("b", ColumnKind.NUMERIC, "float32"),
        ColumnSchema("c", ColumnKind.NUMERIC, "float32", nullable=False),
    ))  # fmt: skip
    numeric = Pipeline([
        ("to_float", FunctionTransformer(to_float, feature_names_out="one-to-one")),
        ("impute", SimpleImputer(strategy="median")),
        ("scale", StandardScaler()),
    ])  # fmt: skip
    transform = ColumnTransformer([("numeric", numeric, COLUMNS)], sparse_threshold=0.0)
    model = lightgbm.LGBMClassifier(n_estimators=5, min_child_samples=5, verbose=-1)
    pipeline = Pipeline([("transform", transform), ("model", model)])
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.normal(0.0, 1.0, 400) for c in COLUMNS})
    y = np.where(frame["a"] + 0.5 * frame["b"] - frame["c"] > 0, "yes", "no")
    pipeline.fit(frame, y)
    return ModelBundle(pipeline=pipeline, signature=signature, task="classification",
                       target="y", model_kind="test", classes=list(pipeline.classes_),
                       positive_class="yes")  # fmt: skip


def source_frame() -> pd.DataFrame:
    """Float32 columns under source names (``A`` is cleaned to ``a``), an extra column
    passed through; nulls, a NaN, values outside ``a``'s range, a missing ``c``."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "A": rng.normal(0.0, 1.5, ROWS), "b": rng.normal(0.0, 1.0, ROWS),
        "c": rng.normal(0.0, 1.0, ROWS), "Extra Value": rng.normal(0.0, 1.0, ROWS),
    }).astype(np.float32)  # fmt: skip
    frame.loc[rng.random(ROWS) < 0.1, "b"] = np.nan
    frame.loc[[5, 77, 250], "c"] = np.nan
    frame.loc[[3, 120], "Extra Value"] = np.nan
    return frame


def write_with_nan(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as Parquet, its missing values nulls but row 7 of ``b`` a real NaN."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    b = table.column("b").to_pylist()
    b[7] = float("nan")
    table = table.set_column(1, "b", pa.array(b, type=pa.float32(), from_pandas=False))
    pq.write_table(table, path)


@pytest.mark.parametrize("invalid", ["refuse", "impute"])
def test_the_arrow_way_writes_what_the_pandas_way_writes(
    tmp_path: Path, bundle: ModelBundle, invalid: str
) -> None:
    source, output = tmp_path / "in.parquet", tmp_path / "out.parquet"
    write_with_nan(source_frame(), source)
    policy = InputPolicy(invalid=invalid, check_range=True)
    predictor = Predictor(bundle, threads=2, min_slice_rows=50)
    plan = arrow_plan(predictor, pq.read_schema(source), ["a", "b", "c", "extra_value"])
    assert plan is not None  # this file is scored straight from Arrow

    result = score_checked(bundle, source, output, policy=policy, chunk_rows=64, threads=2)

    checker = InputChecker(bundle.signature, policy)
    whole = pq.read_table(source).to_pandas()
    expected, report = score_chunk(predictor, checker, whole)
    got = pq.read_table(output)
    wanted = pa.Table.from_pandas(expected, preserve_index=False)
    assert got.schema.equals(wanted.schema, check_metadata=True)
    assert got.equals(wanted)
    assert got.column("b").null_count == whole["b"].isna().sum()  # the NaN written as null
    assert result.report == report and result.rows == ROWS
    rules = {(p.column, p.rule) for p in report.problems}
    assert rules == {("a", "out_of_range"), ("c", "null")}
    if invalid == "refuse":
        assert got.column("prediction").null_count == len(report.refused_rows) > 0
    else:  # every value blanked for the model's imputation: every row scored
        assert got.column("prediction").null_count == 0
        assert {p.action for p in report.problems} == {"imputed"}


def test_text_in_a_column_and_a_csv_take_the_pandas_way_with_the_same_answers(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    frame = source_frame()
    floats, texts, csv = tmp_path / "f.parquet", tmp_path / "t.parquet", tmp_path / "in.csv"
    frame.to_parquet(floats, index=False)
    with_text = frame.copy()  # b as text: each number exactly, row 11 not a number
    with_text["b"] = [None if np.isnan(v) else repr(float(v)) for v in frame["b"]]
    with_text.loc[11, "b"] = "forty"
    with_text.to_parquet(texts, index=False)
    frame.to_csv(csv, index=False)
    predictor = Predictor(bundle)
    assert arrow_plan(predictor, pq.read_schema(texts), ["a", "b", "c", "extra_value"]) is None

    scored = {}
    for path in (floats, texts, csv):
        result = score_checked(bundle, path, tmp_path / f"{path.stem}.out.parquet", chunk_rows=100)
        scored[path] = (pd.read_parquet(tmp_path / f"{path.stem}.out.parquet"), result.report)
    fast, fast_report = scored[floats]
    found = [(p.row, p.rule) for p in fast_report.problems]
    assert found == [(5, "null"), (77, "null"), (250, "null")]
    assert [(p.row, p.rule) for p in scored[texts][1].problems] == sorted([*found, (11, "type")])
    kept = fast.index != 11
    for path in (texts, csv):
        other = scored[path][0]
        assert other["prediction"][kept].tolist() == fast["prediction"][kept].tolist()
        np.testing.assert_allclose(other["probability"][kept], fast["probability"][kept])
    assert pd.isna(scored[texts][0].loc[11, "prediction"])
    np.testing.assert_allclose(scored[csv][0]["extra_value"], fast["extra_value"], rtol=1e-6)


def test_parts_of_a_float_file_are_scored_from_arrow_as_the_whole_file(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    source = tmp_path / "in.parquet"
    table = pa.Table.from_pandas(source_frame(), preserve_index=False)
    pq.write_table(table, source, row_group_size=100)
    policy = InputPolicy(check_range=True)
    whole = score_checked(bundle, source, tmp_path / "whole.parquet", policy=policy, chunk_rows=50)
    result = score_parts(
        bundle, str(source), str(tmp_path / "parts.parquet"), LocalExecutor(1),
        policy=policy, chunk_rows=25,
    )  # fmt: skip
    assert len(list_parts(str(source), 25 * 8, {})) == 2  # parts of 200 rows, chunks of 25
    got, wanted = (
        pq.read_table(tmp_path / "parts.parquet"),
        pq.read_table(tmp_path / "whole.parquet"),
    )
    assert got.schema.equals(wanted.schema, check_metadata=True) and got.equals(wanted)
    assert result.report == whole.report and len(whole.report.refused_rows) > 0
