"""scikit-learn's own estimator checks, run against our numeric transformers."""

from __future__ import annotations

from typing import Any

from sklearn.utils.estimator_checks import parametrize_with_checks

from loopml.features.binning import Binner
from loopml.features.encoders import RareCategoryGrouper
from loopml.features.select import FeatureSelector

ESTIMATORS = [
    FeatureSelector(method="importance", task="regression", k=2),
    FeatureSelector(method="correlation"),
    Binner(n_bins=3),
    RareCategoryGrouper(),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator: Any, check: Any) -> None:
    check(estimator)
