"""Calibrated probabilities of binary classifiers: fitted on out-of-fold scores of the
training part, applied by the bundle before the threshold, kept as plain data."""

from __future__ import annotations

import functools
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from tests.evaluate.projects import make_project

from loopml.data.ingest import clean_column_names
from loopml.evaluate.calibration import choose_method, fit_calibration
from loopml.evaluate.evaluation import (
    STOPPING_PARAMS,
    out_of_fold_scores,
    refittable,
    tune_threshold,
)
from loopml.evaluate.gate import baseline_metrics
from loopml.evaluate.holdout import positive_truth
from loopml.evaluate.report import render_evaluation
from loopml.features.compile import compile_transform
from loopml.model.bundle import ModelBundle, calibrate
from loopml.service import ProjectService, RunSummary
from loopml.spec import load_spec
from loopml.spec.evaluation import EvaluationSpec
from loopml.spec.model import ProjectSpec
from loopml.train.search import fit_default
from loopml.train.train import infer_signature


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory, bank_sample: pd.DataFrame) -> dict[str, Any]:
    """The bank sample's project spec (balanced class weights by default), a 75/25
    stratified split and a HistGradientBoosting bundle fitted on the 75 %."""
    folder = tmp_path_factory.mktemp("calibration") / "bank"
    make_project(folder, bank_sample.head(4000), "subscribed ", ["duration"])
    spec = load_spec(folder / "loopml.yaml")
    frame, _ = clean_column_names(bank_sample)
    train, test = train_test_split(
        frame, test_size=0.25, stratify=frame[spec.problem.target], random_state=0
    )
    signature = infer_signature(train, spec)
    make = functools.partial(
        compile_transform, signature, spec.features, spec.problem.task, random_state=0
    )
    bundle = fit_default("hist_gradient_boosting", train, spec, make, signature, n_threads=1)
    truth = positive_truth(bundle, test[bundle.target])
    return {"spec": spec, "train": train, "test": test, "bundle": bundle, "truth": truth}


def with_calibration(spec: ProjectSpec, method: str, **threshold: Any) -> ProjectSpec:
    evaluation = spec.evaluation.model_copy(update={"calibration": method})
    if threshold:
        changed = evaluation.threshold.model_copy(update=threshold)
        evaluation = evaluation.model_copy(update={"threshold": changed})
    return spec.model_copy(update={"evaluation": evaluation})


def tuned(bank: dict[str, Any], method: str, **threshold: Any) -> ModelBundle:
    """A copy of the bank bundle, calibrated and thresholded as ``method`` says."""
    bundle = ModelBundle.from_bytes(bank["bundle"].to_bytes())
    tuning = tune_threshold(
        bundle, bank["train"], with_calibration(bank["spec"], method, **threshold)
    )
    assert tuning is not None
    tuning.apply(bundle)
    return bundle


@pytest.fixture(scope="module")
def isotonic(bank: dict[str, Any]) -> ModelBundle:
    return tuned(bank, "auto")


def test_calibration_lowers_the_brier_score_below_the_baseline(bank, isotonic) -> None:
    test, truth = bank["test"], bank["truth"]
    raw = bank["bundle"].predict(test).probabilities
    calibrated = isotonic.predict(test).probabilities
    assert isotonic.calibration["method"] == "isotonic"  # 6,000 rows: auto is isotonic
    baseline = baseline_metrics(bank["train"], test, bank["spec"])["brier"]
    assert brier_score_loss(truth, calibrated) < brier_score_loss(truth, raw)
    assert brier_score_loss(truth, calibrated) <= baseline < brier_score_loss(truth, raw)
    assert abs(roc_auc_score(truth, calibrated) - roc_auc_score(truth, raw)) < 0.01
    assert (
        abs(average_precision_score(truth, calibrated) - average_precision_score(truth, raw)) < 0.01
    )


def test_the_threshold_is_chosen_on_calibrated_scores(bank, isotonic) -> None:
    uncalibrated = tuned(bank, "none")
    assert uncalibrated.calibration is None
    # balanced class weights push raw scores up; calibrated ones sit near the base rate
    assert isotonic.threshold < uncalibrated.threshold
    test = bank["test"]
    prediction = isotonic.predict(test)
    called = prediction.probabilities >= isotonic.threshold
    assert list(prediction.predictions == isotonic.positive_class) == list(called)
    share = lambda b: np.mean(b.predict(test).predictions == b.positive_class)  # noqa: E731
    assert abs(share(isotonic) - share(uncalibrated)) < 0.05  # about as many called


def test_platt_keeps_the_ranking_exactly(bank) -> None:
    platt = tuned(bank, "platt")
    test, truth = bank["test"], bank["truth"]
    raw = bank["bundle"].predict(test).probabilities
    calibrated = platt.predict(test).probabilities
    assert platt.calibration["method"] == "platt" and platt.calibration["a"] > 0
    assert roc_auc_score(truth, calibrated) == roc_auc_score(truth, raw)
    assert brier_score_loss(truth, calibrated) < brier_score_loss(truth, raw)


def test_calibration_none_leaves_probabilities_untouched(bank) -> None:
    bundle = tuned(bank, "none", by="fixed", target=0.5)
    assert bundle.calibration is None and bundle.threshold == 0.5
    rows = bank["test"].head(500)
    expected = bank["bundle"].pipeline.predict_proba(rows[bundle.feature_names])[:, 1]
    np.testing.assert_array_equal(bundle.predict(rows).probabilities, expected)


def test_a_fixed_threshold_still_gets_a_calibrator(bank) -> None:
    bundle = tuned(bank, "platt", by="fixed", target=0.3)
    assert bundle.threshold == 0.3 and bundle.calibration["method"] == "platt"


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_early_stopped_boosters_get_out_of_fold_scores(bank, kind: str) -> None:
    spec, train = bank["spec"], bank["train"].head(3000)
    signature = infer_signature(train, spec)
    make = functools.partial(
        compile_transform, signature, spec.features, spec.problem.task, random_state=0
    )
    bundle = fit_default(kind, train, spec, make, signature, n_threads=1)
    params = bundle.pipeline.get_params(deep=True)
    assert any(k.endswith(STOPPING_PARAMS) and v for k, v in params.items())  # stopped early
    copy = refittable(bundle.pipeline).get_params(deep=True)
    assert not any(k.endswith(STOPPING_PARAMS) and v for k, v in copy.items())
    assert bundle.info["n_iter"] in {v for k, v in copy.items() if k.endswith("n_estimators")}
    truth, proba, note = out_of_fold_scores(bundle, train, spec)
    assert note.startswith("out-of-fold") and len(proba) == len(truth) == 3000


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_is_monotone_and_within_zero_one(method: str) -> None:
    rng = np.random.default_rng(0)
    truth = rng.random(3000) < 0.1
    proba = np.clip(truth * 0.3 + rng.random(3000) * 0.7, 0, 1)
    fitted = fit_calibration(truth.astype(int), proba, method)
    grid = np.linspace(0.0, 1.0, 2001)
    mapped = calibrate(grid, fitted)
    assert np.all(np.diff(mapped) >= 0) and mapped.min() >= 0 and mapped.max() <= 1
    assert mapped[-1] > mapped[0]
    if method == "isotonic":  # centred: strictly increasing between its first and last knot
        inside = (grid > fitted["x"][0]) & (grid < fitted["x"][-1])
        assert inside.sum() > 100 and np.all(np.diff(mapped[inside]) > 0)


def test_the_bundle_and_its_calibrator_round_trip_through_pickle(isotonic, bank) -> None:
    calibration = isotonic.calibration
    assert len(pickle.dumps(calibration)) < 100_000  # plain lists of floats, small
    again = ModelBundle.from_bytes(isotonic.to_bytes())
    assert again.calibration == calibration
    rows = bank["test"].head(300)
    np.testing.assert_array_equal(
        again.predict(rows).probabilities, isotonic.predict(rows).probabilities
    )
    proba = again.predict_proba(rows)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    positive = list(again.classes).index(again.positive_class)
    np.testing.assert_array_equal(proba[:, positive], again.predict(rows).probabilities)


def test_auto_picks_isotonic_only_with_enough_rows_of_each_class() -> None:
    many = np.r_[np.ones(60), np.zeros(1000)]
    assert choose_method(many) == "isotonic"
    assert choose_method(many[:999]) == "platt"  # under 1,000 rows
    assert choose_method(np.r_[np.ones(49), np.zeros(2000)]) == "platt"  # 49 positives
    assert choose_method(many, "platt") == "platt"
    with pytest.raises(ValueError, match="unknown calibration method 'sigmoid'"):
        choose_method(many, "sigmoid")
    assert fit_calibration(np.zeros(5, int), np.linspace(0, 1, 5), "platt") is None
    with pytest.raises(ValueError, match="5 labels but 4 scores"):
        fit_calibration(np.zeros(5, int), np.zeros(4), "platt")


def test_the_spec_names_the_allowed_methods() -> None:
    assert EvaluationSpec().calibration == "auto"
    with pytest.raises(ValidationError, match="calibration"):
        EvaluationSpec.model_validate({"calibration": "sigmoid"})


def test_the_run_reports_calibrated_probabilities(bank_run: RunSummary) -> None:
    evaluation = bank_run.evaluation
    assert evaluation["calibration"]["method"] == "isotonic"
    assert "out-of-fold" in evaluation["calibration"]["chosen_on"]
    assert evaluation["calibration"]["brier_after"] < evaluation["calibration"]["brier_before"]
    holdout = evaluation["holdouts"][evaluation["gated"]]
    assert holdout["metrics"]["brier"] <= evaluation["baseline"]["brier"]
    chart = holdout["charts"]["calibration"]
    gap = np.average(
        np.abs(np.subtract(chart["predicted"], chart["observed"])), weights=chart["rows"]
    )
    assert gap < 0.03  # the chart is drawn from the calibrated probabilities
    html = Path(bank_run.report_path).read_text()
    assert "calibrated by <strong>isotonic regression</strong>" in html


@pytest.mark.parametrize(
    ("calibration", "says"),
    [
        ({"method": "none", "requested": "none", "chosen_on": ""}, "not calibrated"),
        (
            {"method": "platt", "requested": "platt", "chosen_on": "out-of-fold scores of 9 rows"},
            "calibrated by <strong>Platt scaling</strong>",
        ),
    ],
)
def test_the_report_names_the_calibration(bank_run: RunSummary, calibration, says: str) -> None:
    evaluation = {**bank_run.evaluation, "calibration": calibration}
    service = ProjectService.open(bank_run.report_path.parents[2])
    spec = service.spec
    service.close()
    html = render_evaluation(spec, "bank@1", evaluation, bank_run.gate)
    paragraph = html.split('id="calibration-method">')[1].split("</p>")[0]
    assert says in paragraph and "Brier score" not in paragraph
    assert calibration["chosen_on"] in paragraph


def test_explanations_of_a_calibrated_model_name_the_uncalibrated_probability(
    bank, isotonic
) -> None:
    from loopml.evaluate.explain import explain_prediction

    rows = bank["test"].head(5)
    items = explain_prediction(isotonic, rows, bank["train"].head(200))
    raw = bank["bundle"].predict(rows).probabilities
    for item, p in zip(items, raw, strict=True):
        assert item["uncalibrated_probability"] == pytest.approx(p)
        assert item["probability"] == pytest.approx(
            calibrate(np.array([p]), isotonic.calibration)[0]
        )
        if item["units"] == "log-odds":
            assert item["output"] == pytest.approx(np.log(p / (1 - p)), abs=1e-6)
    assert "uncalibrated_probability" not in explain_prediction(bank["bundle"], rows.head(1))[0]
