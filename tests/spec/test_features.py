"""The features section of the spec: defaults, YAML forms and the errors it reports."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from loopml.spec.features import FeaturesSpec

EXAMPLE = """
exclude: [duration]
numeric: {impute: median, scale: robust}
categorical: {encoding: target, rare_min_frequency: 0.02, max_categories: 30}
dates: [year, month, dayofweek, is_weekend]
text: {max_features: 500, ngram_max: 1}
derived:
  - {name: balance_per_campaign, expr: "balance / (campaign + 1)"}
bins:
  age: {bins: 4, strategy: uniform, encode: ordinal}
custom:
  - {function: "my_package.features:ratios", columns: [balance, campaign], name_prefix: r}
overrides:
  month: {encoding: onehot}
  pdays: {impute: constant, scale: none}
  previous: {drop: true}
selection: {method: mutual_info, k: 20}
"""


def parse(**fields: Any) -> FeaturesSpec:
    return FeaturesSpec.model_validate(fields)


def test_defaults() -> None:
    spec = FeaturesSpec()
    assert spec.exclude == [] and spec.selection is None
    assert (spec.numeric.impute, spec.numeric.scale) == ("median", "standard")
    assert spec.categorical.encoding == "onehot" and spec.categorical.impute == "constant"
    assert spec.categorical.rare_min_frequency == 0.01 and spec.categorical.max_categories == 50
    assert spec.dates == ["year", "month", "dayofweek", "hour"]
    assert (spec.text.max_features, spec.text.ngram_max) == (2000, 2)


def test_the_yaml_example_parses() -> None:
    spec = FeaturesSpec.model_validate(yaml.safe_load(EXAMPLE))
    assert spec.derived[0].name == "balance_per_campaign"
    assert spec.bins["age"].encode == "ordinal"
    assert spec.overrides["previous"].drop
    assert spec.named_columns() == [
        ("features.exclude", "duration"),
        ("features.bins", "age"),
        ("features.overrides", "month"),
        ("features.overrides", "pdays"),
        ("features.overrides", "previous"),
        ("features.custom[0].columns", "balance"),
        ("features.custom[0].columns", "campaign"),
    ]


def test_named_columns_leave_out_derived_ones() -> None:
    spec = parse(derived=[{"name": "r", "expr": "a / b"}], bins={"r": {}})
    assert spec.named_columns() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"numeric": {"scale": "log"}}, "scale"),
        ({"categorical": {"encoding": "hash"}}, "encoding"),
        ({"categorical": {"rare_min_frequency": 1.5}}, "rare_min_frequency"),
        ({"dates": ["week"]}, "dates"),
        ({"dates": ["year", "year"]}, "a part is listed twice"),
        ({"derived": [{"name": "a b", "expr": "x"}]}, "not a usable column name"),
        ({"derived": [{"name": "a__b", "expr": "x"}]}, "not a usable column name"),
        ({"derived": [{"name": "r", "expr": "x +"}]}, "not a valid expression"),
        ({"derived": [{"name": "r", "expr": "x"}, {"name": "r", "expr": "y"}]}, "given twice"),
        ({"bins": {"age": {"bins": 1}}}, "bins"),
        ({"custom": [{"function": "ratios", "columns": ["a"]}]}, "not an import path"),
        ({"custom": [{"function": "m:f", "columns": []}]}, "columns"),
        ({"overrides": {"x": {"encode": "onehot"}}}, "encode"),
        ({"bins": {"x": {}}, "overrides": {"x": {"scale": "none"}}}, "only 'drop' applies"),
        ({"selection": {"method": "mutual_info"}}, "needs 'k'"),
        ({"selection": {"method": "correlation", "k": 3}}, "not 'k'"),
        ({"selection": {"method": "correlation", "threshold": 1.5}}, r"\(0, 1\]"),
        ({"selection": {"method": "importance", "k": 3, "threshold": 0.1}}, "not both"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse(**fields)


def test_sections_are_frozen() -> None:
    spec = FeaturesSpec()
    with pytest.raises(ValidationError):
        spec.numeric.scale = "none"  # type: ignore[misc]
    assert parse(selection={"method": "correlation"}).selection.correlation_threshold == 0.95  # type: ignore[union-attr]
