"""Explanations: contributions per input column that add up to the model's output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit
from sklearn.neighbors import KNeighborsClassifier
from tests.train.frames import bank_sample

from loopml.errors import DataError
from loopml.evaluate.explain import (
    explain_prediction,
    explain_rows,
    feature_columns,
    permutation_importance,
    shap_importance,
)
from loopml.model.bundle import ModelBundle
from loopml.spec import ProjectSpec
from loopml.train.train import fit_bundle, infer_signature


@pytest.fixture(scope="module")
def bank() -> tuple[pd.DataFrame, ProjectSpec]:
    """Bank rows with ``month`` as a one-hot encoded category."""
    frame, spec = bank_sample(1500)
    data = spec.model_dump()
    data["data"]["columns"]["month"] = "categorical"
    return frame, ProjectSpec.model_validate(data)


def fit(kind: str, bank: tuple[pd.DataFrame, ProjectSpec]) -> ModelBundle:
    frame, spec = bank
    train = frame.iloc[:1200]
    return fit_bundle(kind, train, spec, infer_signature(train, spec))


def positive_proba(bundle: ModelBundle, rows: pd.DataFrame) -> np.ndarray:
    return np.asarray(bundle.predict(rows).probabilities)


def test_tree_shap_adds_up_to_the_log_odds(bank) -> None:
    bundle = fit("hist_gradient_boosting", bank)
    rows = bank[0].iloc[1200:1300]
    explanation = explain_rows(bundle, rows)
    assert (explanation.method, explanation.units) == ("shap", "log-odds")
    assert explanation.columns == bundle.feature_names  # input columns, not one-hot parts
    total = explanation.base_value + explanation.values.sum(axis=1)
    np.testing.assert_allclose(total, logit(positive_proba(bundle, rows)), atol=1e-6)
    np.testing.assert_allclose(explanation.output, total)


def test_one_hot_parts_add_up_to_their_column(bank) -> None:
    import shap

    bundle = fit("hist_gradient_boosting", bank)
    rows = bank[0].iloc[1200:1250]
    transform = bundle.pipeline[:-1]
    names = list(transform.get_feature_names_out())
    months = [i for i, n in enumerate(names) if n.startswith("categorical__month_")]
    assert len(months) > 3
    raw = shap.TreeExplainer(bundle.pipeline[-1]).shap_values(transform.transform(rows))
    month = explain_rows(bundle, rows).values[:, bundle.feature_names.index("month")]
    np.testing.assert_allclose(month, np.asarray(raw)[:, months].sum(axis=1), atol=1e-9)


def test_feature_names_map_to_the_longest_matching_column() -> None:
    names = ["numeric__age", "categorical__job_admin", "categorical__job_type_x", "derived__r"]
    columns = ["age", "job", "job_type"]
    assert feature_columns(names, columns) == ["age", "job", "job_type", "r"]


def test_linear_contributions_add_up_to_the_log_odds(bank) -> None:
    bundle = fit("linear", bank)
    rows = bank[0].iloc[1200:1300]
    explanation = explain_rows(bundle, rows, background=bank[0].iloc[:1200])
    assert (explanation.method, explanation.units) == ("linear", "log-odds")
    total = explanation.base_value + explanation.values.sum(axis=1)
    np.testing.assert_allclose(total, logit(positive_proba(bundle, rows)), atol=1e-8)


def test_other_models_fall_back_to_occlusion(bank) -> None:
    bundle = fit("linear", bank)
    frame = bank[0]
    transform = bundle.pipeline[:-1]
    knn = KNeighborsClassifier(n_neighbors=15).fit(
        transform.transform(frame.iloc[:1200][bundle.feature_names]),
        frame.iloc[:1200]["subscribed"],
    )
    bundle.pipeline.steps[-1] = ("model", knn)
    rows = frame.iloc[1200:1220]
    explanation = explain_rows(bundle, rows, background=frame.iloc[:1200])
    assert (explanation.method, explanation.units) == ("occlusion", "probability")
    total = explanation.base_value + explanation.values.sum(axis=1)
    np.testing.assert_allclose(total, positive_proba(bundle, rows), atol=1e-9)


def test_explain_prediction_names_missing_columns(bank) -> None:
    bundle = fit("linear", bank)
    row = bank[0].iloc[[1300]].drop(columns=["balance"])
    with pytest.raises(DataError, match=r"lack columns \['balance'\]"):
        explain_prediction(bundle, row)
    with pytest.raises(DataError, match="no row"):
        explain_prediction(bundle, bank[0].iloc[:0])


def test_explain_prediction_returns_the_prediction_with_contributions(bank) -> None:
    bundle = fit("hist_gradient_boosting", bank)
    (result,) = explain_prediction(bundle, bank[0].iloc[[1300]])
    assert result["probability"] == pytest.approx(positive_proba(bundle, bank[0].iloc[[1300]])[0])
    assert result["prediction"] in bundle.classes
    contributions = list(result["contributions"].values())
    assert sorted(result["contributions"]) == sorted(bundle.feature_names)
    assert [abs(v) for v in contributions] == sorted(map(abs, contributions), reverse=True)
    assert result["base_value"] + sum(contributions) == pytest.approx(result["output"])


def test_permutation_importance_measures_the_score_drop(bank) -> None:
    bundle = fit("linear", bank)
    rows = bank[0].iloc[1200:1500].reset_index(drop=True)
    original = rows["age"].to_numpy()

    def score(_: ModelBundle, frame: pd.DataFrame) -> float:  # only 'age' matters
        return float((frame["age"].to_numpy() == original).mean())

    importance = permutation_importance(bundle, rows, score)
    assert next(iter(importance.values)) == "age"
    assert importance.values["age"] > 0.8
    assert all(v == 0 for c, v in importance.values.items() if c != "age")


def test_mean_absolute_contributions_rank_columns(bank) -> None:
    bundle = fit("hist_gradient_boosting", bank)
    explanation = explain_rows(bundle, bank[0].iloc[1200:1400])
    ranked = shap_importance(explanation).values
    assert list(ranked.values()) == sorted(ranked.values(), reverse=True)
    means = np.abs(explanation.values).mean(axis=0)
    assert ranked[explanation.columns[int(means.argmax())]] == pytest.approx(means.max())
