"""The business gate: go / no-go with reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.data.infer import infer_spec
from loopml.domain import Verdict
from loopml.evaluate.gate import ChampionRule, apply_gate, baseline_metrics
from loopml.spec import SuccessCriterion


def at_least(metric: str, value: float) -> SuccessCriterion:
    return SuccessCriterion(metric=metric, min=value)


def at_most(metric: str, value: float) -> SuccessCriterion:
    return SuccessCriterion(metric=metric, max=value)


def test_passing_criterion() -> None:
    result = apply_gate({"roc_auc": 0.7912}, [at_least("roc_auc", 0.7)])
    assert result.verdict is Verdict.GO and result.reasons == []
    (check,) = result.checks
    assert (check.metric, check.op, check.threshold, check.value) == ("roc_auc", ">=", 0.7, 0.7912)
    assert check.passed and check.reason == "roc_auc 0.791 >= min 0.700"


def test_failing_criterion_is_named() -> None:
    result = apply_gate(
        {"roc_auc": 0.612, "recall": 0.5},
        [at_least("recall", 0.4), at_least("roc_auc", 0.7)],
    )
    assert result.verdict is Verdict.NO_GO
    assert result.reasons == ["roc_auc 0.612 < min 0.700"]
    assert [c.passed for c in result.checks] == [True, False]


def test_max_criterion() -> None:
    passed = apply_gate({"rmse": 41.25}, [at_most("rmse", 50)])
    assert passed.checks[0].reason == "rmse 41.250 <= max 50.000"
    failed = apply_gate({"rmse": 61.0}, [at_most("rmse", 50)])
    assert failed.reasons == ["rmse 61.000 > max 50.000"]
    assert failed.checks[0].op == "<="


def test_missing_metric_fails_with_a_reason() -> None:
    result = apply_gate({"accuracy": 0.9}, [at_least("roc_auc", 0.7)])
    assert result.verdict is Verdict.NO_GO
    (check,) = result.checks
    assert check.value is None
    assert check.reason == "roc_auc was not computed; computed: accuracy"


def test_nan_counts_as_missing() -> None:
    result = apply_gate({"r2": float("nan")}, [at_least("r2", 0.3)])
    assert result.verdict is Verdict.NO_GO and "r2 was not computed" in result.reasons[0]


def test_no_criteria_is_go() -> None:
    assert apply_gate({}, []).verdict is Verdict.GO


def test_beats_the_baseline() -> None:
    result = apply_gate(
        {"roc_auc": 0.78},
        [at_least("roc_auc", 0.7)],
        baseline_metrics={"roc_auc": 0.5},
        primary_metric="roc_auc",
    )
    assert result.verdict is Verdict.GO
    check = result.checks[-1]
    assert (check.op, check.threshold) == (">", 0.5)
    assert check.reason == "roc_auc 0.780 > baseline 0.500"


def test_does_not_beat_the_baseline() -> None:
    result = apply_gate(
        {"accuracy": 0.88},
        [],
        baseline_metrics={"accuracy": 0.883},
        primary_metric="accuracy",
    )
    assert result.verdict is Verdict.NO_GO
    assert result.reasons[0].startswith("accuracy 0.880 <= baseline 0.883")


def test_baseline_on_a_smaller_is_better_metric() -> None:
    better = apply_gate({"rmse": 60.0}, [], baseline_metrics={"rmse": 180.0}, primary_metric="rmse")
    assert better.verdict is Verdict.GO and better.checks[0].op == "<"
    worse = apply_gate({"rmse": 200.0}, [], baseline_metrics={"rmse": 180.0}, primary_metric="rmse")
    assert worse.reasons[0].startswith("rmse 200.000 >= baseline 180.000")


def test_baseline_without_the_metric() -> None:
    result = apply_gate({"roc_auc": 0.8}, [], baseline_metrics={}, primary_metric="roc_auc")
    assert result.reasons == ["the baseline has no roc_auc to compare with"]


def test_baseline_needs_the_primary_metric() -> None:
    with pytest.raises(ValueError, match="primary_metric"):
        apply_gate({"roc_auc": 0.8}, [], baseline_metrics={"roc_auc": 0.5})


def test_baseline_metrics_majority_class() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "y": ["no"] * 150 + ["yes"] * 50})
    spec = infer_spec(frame, target="y", source_path="d.csv", column_map={}, name="d")
    train, test = frame.iloc[::2], frame.iloc[1::2]
    values = baseline_metrics(train, test, spec)
    assert values["roc_auc"] == 0.5
    assert values["accuracy"] == 0.75 and values["recall"] == 0.0
    assert values["brier"] == pytest.approx(0.25**2 * 0.75 + 0.75**2 * 0.25)


def test_baseline_metrics_mean() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "y": rng.normal(10, 2, size=40)})
    spec = infer_spec(frame, target="y", source_path="d.csv", column_map={}, name="d")
    train, test = frame.iloc[:20], frame.iloc[20:]
    values = baseline_metrics(train, test, spec)
    expected = np.abs(test["y"] - train["y"].mean()).mean()
    assert values["mae"] == pytest.approx(expected)


# -- intervals and the champion rule ------------------------------------------------


def test_checks_carry_their_confidence_interval() -> None:
    result = apply_gate(
        {"roc_auc": 0.78},
        [at_least("roc_auc", 0.7)],
        intervals={"roc_auc": [0.75, 0.81]},
    )
    (check,) = result.checks
    assert (check.low, check.high) == (0.75, 0.81)
    assert check.reason == "roc_auc 0.780 >= min 0.700 (CI 0.750 to 0.810)"


def test_a_failing_criterion_is_named_among_passing_ones() -> None:
    result = apply_gate(
        {"roc_auc": 0.78, "recall": 0.31},
        [at_least("roc_auc", 0.7), at_least("recall", 0.5)],
        intervals={"roc_auc": [0.75, 0.81], "recall": [0.27, 0.35]},
    )
    assert result.verdict is Verdict.NO_GO
    assert result.reasons == ["recall 0.310 < min 0.500 (CI 0.270 to 0.350)"]


def test_must_beat_the_champion_by_a_margin() -> None:
    champion = {"roc_auc": 0.78}
    close = ChampionRule("roc_auc", 0.01, "bank@3", champion)
    failed = apply_gate({"roc_auc": 0.785}, [], champion=close)
    assert failed.verdict is Verdict.NO_GO
    assert failed.checks[0].threshold == pytest.approx(0.79)
    assert failed.reasons == [
        "roc_auc 0.785 does not beat champion bank@3 (0.780) by 0.010 on the same hold-out"
    ]
    passed = apply_gate({"roc_auc": 0.80}, [], champion=close)
    assert passed.verdict is Verdict.GO and "beats champion bank@3" in passed.checks[0].reason
    smaller = ChampionRule("rmse", 5.0, "bike@2", {"rmse": 50.0})
    assert apply_gate({"rmse": 44.0}, [], champion=smaller).verdict is Verdict.GO
    assert apply_gate({"rmse": 46.0}, [], champion=smaller).verdict is Verdict.NO_GO


def test_no_champion_passes_and_an_unscored_one_fails() -> None:
    first = apply_gate({"roc_auc": 0.7}, [], champion=ChampionRule("roc_auc", 0.0, None, None))
    assert first.verdict is Verdict.GO and "no current champion" in first.checks[0].reason
    broken = ChampionRule("roc_auc", 0.0, "bank@1", None)
    result = apply_gate({"roc_auc": 0.7}, [], champion=broken)
    assert result.reasons == ["the champion bank@1 could not be scored on the hold-out"]


# -- criteria relative to the baseline and the linear model ---------------------------


def better_than(metric: str, model: str, by: float) -> SuccessCriterion:
    return SuccessCriterion(metric=metric, better_than=model, by=by)  # type: ignore[arg-type]


def test_relative_criteria_close_a_share_of_the_gap() -> None:
    criteria = [better_than("rmse", "baseline", 0.1), better_than("rmse", "linear", -0.02)]
    baseline, linear = {"rmse": 100.0}, {"rmse": 50.0}
    models = {"baseline": baseline, "linear": linear}
    passing = apply_gate({"rmse": 51.0}, criteria, references=models)
    assert passing.verdict is Verdict.GO
    vs_base, vs_linear = passing.checks
    assert vs_base.threshold == pytest.approx(90.0) and vs_linear.threshold == pytest.approx(51.0)
    assert vs_base.reason == "rmse 51.000 <= 90.000 (10% better than the baseline model's 100.000)"
    worse = apply_gate({"rmse": 60.0}, criteria, references=models)
    assert worse.verdict is Verdict.NO_GO and worse.reasons == [worse.checks[1].reason]
    assert "2% worse than the linear model's 50.000" in worse.reasons[0]
    auc_base = {"baseline": {"roc_auc": 0.5}}
    auc = apply_gate(
        {"roc_auc": 0.58}, [better_than("roc_auc", "baseline", 0.2)], references=auc_base
    )
    assert auc.checks[0].threshold == pytest.approx(0.6) and auc.verdict is Verdict.NO_GO


def test_a_relative_criterion_without_its_model_is_not_checked() -> None:
    result = apply_gate({"rmse": 5.0}, [better_than("rmse", "linear", 0.0)])
    assert result.verdict is Verdict.GO
    assert "not checked, the linear model has no rmse" in result.checks[0].reason


def test_a_criterion_names_exactly_one_bound() -> None:
    with pytest.raises(ValueError, match="exactly one of 'min', 'max' or 'better_than'"):
        SuccessCriterion(metric="rmse", max=3.0, better_than="baseline")


@pytest.mark.parametrize(
    ("labels", "metric"),
    [(None, "rmse"), (["no", "yes"], "roc_auc"), (["a", "b", "c"], "balanced_accuracy")],
)
def test_generated_gates_are_relative_for_every_task(labels: list[str] | None, metric: str) -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(10, 2, size=60) if labels is None else rng.choice(labels, size=60)
    frame = pd.DataFrame({"x": rng.normal(size=60), "y": y})
    spec = infer_spec(frame, target="y", source_path="d.csv", column_map={}, name="d")
    criteria = spec.problem.success_criteria
    assert [c.better_than for c in criteria] == ["baseline", "linear"]
    assert criteria[0].metric == metric and criteria[0].by is not None and criteria[0].by > 0
    assert all(c.min is None and c.max is None for c in criteria)


def test_the_baseline_is_the_mean_of_the_target_itself_under_a_log_transform() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "y": rng.lognormal(3, 1, size=40)})
    spec = infer_spec(frame, target="y", source_path="d.csv", column_map={}, name="d")
    logged = spec.model_copy(
        update={"problem": spec.problem.model_copy(update={"target_transform": "log"})}
    )
    train, test = frame.iloc[:20], frame.iloc[20:]
    expected = np.abs(test["y"] - train["y"].mean()).mean()
    assert baseline_metrics(train, test, logged)["mae"] == pytest.approx(expected)
