"""Batch scoring in chunks: the same answers as one predict call, atomic output."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.errors import DataError
from loopml.model.bundle import ModelBundle
from loopml.model.checks import InputChecker
from loopml.serve.batch import Predictor, score_checked, score_file

from .conftest import make_frame


@pytest.mark.parametrize(
    ("source_suffix", "output_suffix"), [(".csv", ".parquet"), (".parquet", ".csv")]
)
def test_chunks_give_the_answers_of_one_call(
    tmp_path: Path, classifier: ModelBundle, source_suffix: str, output_suffix: str
) -> None:
    frame = make_frame(1000, seed=3).drop(columns=["subscribed", "spend"])
    source = tmp_path / f"in{source_suffix}"
    if source_suffix == ".csv":
        frame.to_csv(source, index=False)
    else:
        frame.to_parquet(source, index=False)
    output = tmp_path / f"out{output_suffix}"
    seen: list[tuple[int, int | None]] = []
    rows = score_file(
        classifier, source, output, chunk_rows=128, progress=lambda d, t: seen.append((d, t))
    )
    assert rows == 1000
    total = 1000 if source_suffix == ".parquet" else None
    assert seen == [(min(128 * (i + 1), 1000), total) for i in range(8)]
    scored = pd.read_csv(output) if output_suffix == ".csv" else pd.read_parquet(output)
    expected = classifier.predict(frame)
    assert scored["prediction"].tolist() == list(expected.predictions)
    np.testing.assert_allclose(scored["probability"], expected.probabilities, rtol=1e-9)
    assert list(scored.columns[:3]) == ["age", "balance", "job"]
    assert not list(tmp_path.glob(".out*"))  # no temporary file left


def test_a_missing_column_names_it_and_writes_nothing(
    tmp_path: Path, classifier: ModelBundle
) -> None:
    source = tmp_path / "in.csv"
    make_frame(300).drop(columns=["job"]).to_csv(source, index=False)
    output = tmp_path / "out.csv"
    with pytest.raises(DataError, match=r"columns \['job'\] that bank@1 needs are missing"):
        score_file(classifier, source, output, chunk_rows=100, where="bank@1")
    assert not output.exists() and not list(tmp_path.glob(".out*"))
    with pytest.raises(DataError, match=r"out\.xlsx: write predictions to a \.csv or \.parquet"):
        score_file(classifier, source, tmp_path / "out.xlsx")
    with pytest.raises(DataError, match="nope.csv: no such file"):
        score_file(classifier, tmp_path / "nope.csv", output)


def test_the_array_path_in_threads_answers_as_the_bundle(
    classifier: ModelBundle, regressor: ModelBundle
) -> None:
    frame = make_frame(1000, seed=5)
    for bundle in (classifier, regressor):
        predictor = Predictor(bundle, threads=3, min_slice_rows=100)
        assert predictor.compiled  # one-hot + trees / linear: nothing left to scikit-learn
        checked, _ = InputChecker(bundle.signature).check_frame(frame, bundle.cleaner)
        got, expected = predictor.predict(checked), bundle.predict(frame)
        np.testing.assert_array_equal(got.predictions, expected.predictions)
        if expected.probabilities is not None:
            np.testing.assert_allclose(got.probabilities, expected.probabilities, rtol=1e-12)


def test_a_model_the_array_path_cannot_hold_is_scored_by_the_bundle(
    tmp_path: Path, classifier: ModelBundle
) -> None:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    whole = copy.copy(classifier)  # a step before the ColumnTransformer: the array path stops
    whole.pipeline = Pipeline([("same", FunctionTransformer()), ("all", classifier.pipeline)])
    assert not Predictor(whole).compiled
    frame = make_frame(500, seed=6)
    source = tmp_path / "in.parquet"
    frame.to_parquet(source, index=False)
    score_file(whole, source, tmp_path / "out.parquet", chunk_rows=200)
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert scored["prediction"].tolist() == list(classifier.predict(frame).predictions)


def test_text_deep_in_a_numeric_column_refuses_that_row_only(
    tmp_path: Path, classifier: ModelBundle
) -> None:
    frame = make_frame(1000, seed=7).drop(columns=["subscribed", "spend"])
    text = frame.astype({"age": object})
    text.loc[870, "age"] = "forty"
    source = tmp_path / "in.csv"
    text.to_csv(source, index=False)
    output = tmp_path / "out.csv"
    result = score_checked(classifier, source, output, chunk_rows=200)
    assert result.report.refused_rows == [870]
    (problem,) = result.report.problems
    assert (problem.column, problem.rule, problem.value) == ("age", "type", "forty")
    scored = pd.read_csv(output)
    assert scored["prediction"].isna().tolist() == [i == 870 for i in range(1000)]
    kept = frame.drop(index=870)
    assert scored["prediction"].dropna().tolist() == list(classifier.predict(kept).predictions)
