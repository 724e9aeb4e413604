"""The feature transform built from a schema."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from loopml.data.schema import infer_schema
from loopml.features.compile import compile_transform
from loopml.features.transform import to_float, to_strings
from loopml.spec import FeaturesSpec


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame(
        {
            "amount": np.where(rng.random(n) < 0.1, np.nan, rng.normal(100, 10, n)),
            "city": pd.Series(rng.choice(["paris", "rome", None], n), dtype="str"),
            "member": rng.random(n) < 0.5,
            "day": [f"{d.month}/{d.day}/{d:%y}" for d in pd.date_range("2011-01-01", periods=n)],
            "note": [f"a long free text comment number {i} about the order" for i in range(n)],
        }
    )


def test_unseen_category_and_one_row(frame: pd.DataFrame) -> None:
    transform = compile_transform(infer_schema(frame), FeaturesSpec(), "classification").fit(frame)
    row = frame.iloc[:1].copy()
    row["city"] = "tokyo"
    out = transform.transform(row)
    names = list(transform.get_feature_names_out())
    city = [i for i, n in enumerate(names) if n.startswith("categorical__city")]
    assert out.shape == (1, len(names))
    assert out[0, city].sum() == 0  # unknown: no column lights up


def test_pickled_transform_gives_the_same_output(frame: pd.DataFrame) -> None:
    transform = compile_transform(infer_schema(frame), FeaturesSpec(), "classification").fit(frame)
    again = pickle.loads(pickle.dumps(transform))
    np.testing.assert_array_equal(again.transform(frame), transform.transform(frame))


def test_helpers_convert_values() -> None:
    frame = pd.DataFrame({"n": ["1.5", "x", None], "b": [True, False, None]})
    assert np.isnan(to_float(frame[["n"]])).tolist() == [[False], [True], [True]]
    strings = to_strings(frame[["b"]])
    assert strings[0, 0] == "True" and strings[1, 0] == "False" and strings[2, 0] != strings[2, 0]
