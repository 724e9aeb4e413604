"""The array path codes ordinal columns in their own order, as the fitted encoder does."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from tests.serve.test_arrays import fitted, make_frame, served_columns

from loopml.serve.arrays import compile_bundle

ORDER = ["student", "retired", "admin", "blue-collar"]  # not alphabetical; no 'rare-job'


@pytest.mark.parametrize("rows", [1, 7, 300])
@pytest.mark.parametrize("impute", ["constant", "most_frequent"])
def test_an_ordinal_order_is_served_on_arrays_as_sklearn_serves_it(rows: int, impute: str):
    features = {
        "categorical": {"impute": impute},
        "overrides": {"job": {"encoding": "ordinal", "order": ORDER}},
    }
    bundle = fitted(features, "binary", LogisticRegression(max_iter=200))
    encoder = bundle.model_pipeline.steps[0][1].named_steps["columns"].named_transformers_
    assert list(encoder["ordinal"].named_steps["encode"].categories_[0]) == ORDER
    model = compile_bundle(bundle)
    assert not any(name.startswith("columns.ordinal") for name in model.fallbacks)
    frame = make_frame(rows, seed=rows + 3)
    frame.loc[frame.index[0], "job"] = "never-seen"  # unknown, beside 'rare-job' and nulls
    expected = bundle.predict(frame)
    got = model.predict_columns(served_columns(frame))
    assert list(got.predictions) == list(expected.predictions)
    np.testing.assert_allclose(got.probabilities, expected.probabilities, rtol=0, atol=1e-12)
