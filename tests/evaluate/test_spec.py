"""The `evaluation:` spec section: defaults, validation with the field named."""

from __future__ import annotations

import pytest
import yaml

from loopml.errors import SpecError
from loopml.spec import parse_spec

BASE = """
name: churn
problem: {task: classification, target: y, primary_metric: roc_auc}
data:
  source: {path: data.csv}
  columns: {y: numeric, age: numeric, region: categorical}
"""


def parse(extra: str = ""):
    return parse_spec(BASE + extra, "loopml.yaml")


def test_defaults_need_no_yaml() -> None:
    evaluation = parse().evaluation
    assert evaluation.threshold.by is None and evaluation.threshold.metric == "f1"
    assert evaluation.bootstrap.samples == 200 and evaluation.bootstrap.confidence == 0.95
    assert evaluation.slices == [] and evaluation.worst_slices == 5
    assert evaluation.beat_champion is None
    assert parse().split.sample_share == 0.0


def test_full_section_parses() -> None:
    spec = parse(
        """
split: {method: time, time_column: age}
evaluation:
  threshold: {by: precision, target: 0.6}
  slices: [region]
  bootstrap: {samples: 500, confidence: 0.9, seed: 3}
  beat_champion: {metric: roc_auc, by: 0.01}
"""
    )
    assert spec.evaluation.threshold.target == 0.6
    assert spec.evaluation.beat_champion is not None and spec.evaluation.beat_champion.by == 0.01
    assert spec.split.sample_share == 0.1  # a time split keeps an out-of-sample hold-out
    assert "evaluation" in yaml.safe_load(yaml.safe_dump(spec.model_dump(mode="json")))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("evaluation: {slices: [income]}", "evaluation.slices: column 'income'"),
        ("evaluation: {threshold: {by: recall}}", "needs 'target'"),
        ("evaluation: {threshold: {by: margin}}", "threshold.by"),
        ("evaluation: {bootstrap: {confidence: 1.5}}", "confidence"),
        ("evaluation: {treshold: {by: value}}", "treshold"),
    ],
)
def test_mistakes_name_the_field(extra: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse(extra)
