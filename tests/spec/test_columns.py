"""data.columns with ordinal columns and their order; features.overrides.COL.order."""

from __future__ import annotations

import pytest

from loopml.domain import ColumnKind
from loopml.errors import SpecError
from loopml.spec.features import FeaturesSpec
from loopml.spec.load import dump_spec, parse_spec

SPEC = """\
name: t
problem: {task: classification, target: y, primary_metric: accuracy}
data:
  source: {path: a.csv}
  columns:
    y: categorical
    satisfaction: {kind: ordinal, order: [very low, low, medium, high, very high]}
    grade: ordinal
    code: {kind: ordinal, order: [1, 2.0, 10]}
"""


def test_an_ordinal_column_takes_its_order_and_the_spec_writes_it_back():
    spec = parse_spec(SPEC)
    assert spec.data.columns["satisfaction"] is ColumnKind.ORDINAL
    assert spec.data.columns["grade"] is ColumnKind.ORDINAL
    assert spec.data.orders == {
        "satisfaction": ["very low", "low", "medium", "high", "very high"],
        "code": ["1", "2", "10"],  # levels are category strings
    }
    again = parse_spec(dump_spec(spec))
    assert again.data.columns == spec.data.columns
    assert again.data.orders == spec.data.orders
    assert again.section_hash("data") == spec.section_hash("data")
    changed = parse_spec(SPEC.replace("[very low, low,", "[low, very low,"))
    assert changed.section_hash("data") != spec.section_hash("data")  # the order counts


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{kind: numeric, order: [a, b]}", "'order' applies to 'kind: ordinal' only"),
        ("{kind: ordinal, order: [a, a]}", "the level 'a' is listed twice"),
        ("{kind: ordinal, order: [a]}", "at least two levels"),
        ("{kind: ordinal, order: abc}", "give the levels as a list"),
        ("{kind: ordinal, levels: [a, b]}", "unknown key 'levels'"),
    ],
)
def test_a_wrong_ordinal_entry_names_the_column(entry, message):
    with pytest.raises(SpecError, match=message) as error:
        parse_spec(SPEC.replace("grade: ordinal", f"grade: {entry}"))
    assert "columns.grade" in str(error.value)


def test_an_override_takes_an_order_only_with_ordinal_encoding():
    spec = FeaturesSpec.model_validate(
        {"overrides": {"cut": {"encoding": "ordinal", "order": ["Fair", "Good", "Ideal"]}}}
    )
    assert spec.overrides["cut"].levels == ["Fair", "Good", "Ideal"]
    assert FeaturesSpec.model_validate({"overrides": {"n": {"order": [1, 2]}}}).overrides[
        "n"
    ].levels == ["1", "2"]
    with pytest.raises(ValueError, match="'order' needs 'encoding: ordinal', not 'onehot'"):
        FeaturesSpec.model_validate(
            {"overrides": {"cut": {"encoding": "onehot", "order": ["a", "b"]}}}
        )
    with pytest.raises(ValueError, match="listed twice"):
        FeaturesSpec.model_validate({"overrides": {"cut": {"order": ["a", "a"]}}})
