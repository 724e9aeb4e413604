"""Bundles pickled by loopml 0.1.0 (class in ``loopml.train.bundle``, cleaning as a
partial of ``apply_cleaning_log``) still load and predict as they did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from loopml.data.ingest import clean_column_names
from loopml.model import ModelBundle

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_bundle_of_the_previous_release_loads_and_predicts_as_it_did() -> None:
    bundle = ModelBundle.from_bytes((FIXTURES / "bundle-0.1.0.pkl").read_bytes())
    rows, _ = clean_column_names(pd.read_csv(FIXTURES / "bundle-0.1.0-rows.csv"))
    expected = pd.read_csv(FIXTURES / "bundle-0.1.0-expected.csv")
    prediction = bundle.predict(rows)
    np.testing.assert_allclose(prediction.probabilities, expected["probability"], rtol=1e-9)
    assert list(prediction.predictions) == list(expected["prediction"])
