"""Batch scoring in chunks: the same answers as one predict call, atomic output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.errors import DataError
from loopml.model.bundle import ModelBundle
from loopml.serve.batch import score_file

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
