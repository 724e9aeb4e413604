"""The models section: candidates, custom estimators, search spaces, search settings."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from loopml.spec.models import BUILTIN_KINDS, ModelsSpec, ParamSpace

EXAMPLE = """
candidates: [linear, lightgbm, my_svm]
custom:
  - name: my_svm
    estimator: sklearn.svm:SVC
    params: {probability: true}
    space: {C: {low: 0.01, high: 100, log: true}}
spaces:
  lightgbm:
    num_leaves: {low: 8, high: 64}
    learning_rate: {low: 0.02, high: 0.2, log: true}
    boosting_type: {choices: [gbdt, dart]}
search: {trials: 30, timeout_s: 600, folds: 5, pruning: false, workers: 2, seed: 7}
imbalance: none
early_stopping: false
device: cuda
"""


def test_defaults() -> None:
    models = ModelsSpec()
    assert tuple(models.candidates) == BUILTIN_KINDS and models.custom == []
    assert (models.search.trials, models.search.folds, models.search.workers) == (50, 3, 1)
    assert models.search.timeout_s is None and models.search.pruning
    assert (models.imbalance, models.early_stopping, models.device) == ("balanced", True, "cpu")
    assert ModelsSpec(candidates=["linear"], random_state=3).random_state == 3  # old form


def test_the_documented_example_parses() -> None:
    models = ModelsSpec.model_validate(yaml.safe_load(EXAMPLE))
    svm = models.custom_model("my_svm")
    assert svm is not None and svm.params == {"probability": True}
    assert svm.space["C"].kind == "float" and svm.space["C"].log
    space = models.spaces["lightgbm"]
    assert space["num_leaves"].kind == "int" and space["learning_rate"].kind == "float"
    assert space["boosting_type"].kind == "categorical"
    assert models.search.workers == 2 and models.device == "cuda"
    assert models.custom_model("linear") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"candidates": ["svm"]}, "unknown model 'svm'"),
        ({"candidates": []}, "at least 1"),
        ({"candidates": ["linear", "linear"]}, "listed twice"),
        ({"custom": [{"name": "linear", "estimator": "a.b:C"}]}, "is a built-in kind"),
        (
            {"custom": [{"name": "x", "estimator": "a.b:C"}, {"name": "x", "estimator": "a:D"}]},
            "defined twice",
        ),
        ({"custom": [{"name": "x", "estimator": "SVC"}]}, "not an import path"),
        ({"spaces": {"svm": {}}}, "spaces: unknown model 'svm'"),
        ({"search": {"trials": -1}}, "greater than or equal to 0"),
        ({"search": {"folds": 1}}, "greater than or equal to 2"),
        ({"search": {"workers": 0}}, "greater than or equal to 1"),
        ({"search": {"budget": 3}}, "Extra inputs"),
        ({"imbalance": "smote"}, "'none' or 'balanced'"),
        ({"device": "tpu"}, "'cpu' or 'cuda'"),
    ],
)
def test_invalid_sections_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelsSpec.model_validate(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"low": 1}, "give 'low' and 'high'"),
        ({"low": 2, "high": 1}, "low <= high"),
        ({"low": 0, "high": 1, "log": True}, "low > 0"),
        ({"low": 1, "high": 9, "step": 0}, "above 0"),
        ({"low": 1, "high": 9, "step": 0.5}, "integer step"),
        ({"low": 1.0, "high": 9.0, "step": 1.0, "log": True}, "cannot be combined"),
        ({"choices": []}, "at least one"),
        ({"choices": [1], "low": 0, "high": 1}, "not both"),
        ({"low": "a", "high": 2}, "must be a number"),
        ({"low": True, "high": 2}, "must be a number"),
        ({"choices": [[1, 2]]}, "choices"),
    ],
)
def test_invalid_param_spaces_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ParamSpace.model_validate(data)


def test_param_space_kinds_and_membership() -> None:
    ints = ParamSpace(low=1, high=10, step=3)
    assert ints.kind == "int" and ints.contains(4) and not ints.contains(4.5)
    assert not ints.contains(11) and not ints.contains(True)
    floats = ParamSpace(low=1, high=10.0)
    assert floats.kind == "float" and floats.contains(4) and floats.contains(4.5)
    choices = ParamSpace(choices=["a", 1, None, True])
    assert choices.kind == "categorical"
    assert choices.contains("a") and choices.contains(None) and choices.contains(True)
    assert not choices.contains("b") and not choices.contains(1.0)
