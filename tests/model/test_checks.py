"""The input check shared by batch scoring, the server and load_model: each rule, each
policy, the report and its examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.model.checks import InputChecker, InputPolicy, merged
from loopml.spec.serving import ServeSpec

SIGNATURE = Schema(
    (
        ColumnSchema("age", ColumnKind.NUMERIC, "float64", nullable=False, min=18, max=90),
        ColumnSchema("job", ColumnKind.CATEGORICAL, "str", categories=("admin", "cook")),
        ColumnSchema("city", ColumnKind.CATEGORICAL, "str", categories=("rome",)),
    )
)


def rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": ["41", "n/a", "forty", None, "100"],
            "job": ["admin", "pilot", None, "cook", "n/a"],
            "city": ["rome", "rome", "oslo", "rome", "rome"],
        }
    )


def found(report) -> set[tuple[int, str, str, str]]:
    return {(p.row, p.column, p.rule, p.action) for p in report.problems}


def test_refuse_by_default_and_warn_for_unseen_categories() -> None:
    checked, report = InputChecker(SIGNATURE).check_frame(rows(), None)
    assert found(report) == {
        (1, "age", "null", "refused"),
        (2, "age", "type", "refused"),
        (3, "age", "null", "refused"),
        (1, "job", "unseen_category", "warned"),
        (2, "city", "unseen_category", "warned"),
    }
    assert report.refused_rows == [1, 2, 3] and not report.ok
    assert checked["age"].tolist()[0] == 41.0 and pd.isna(checked["job"].iloc[4])  # 'n/a'
    assert "age: 2 refused (null, may not be missing), e.g. row 1: 'n/a', row 3: null" in (
        report.lines()
    )


def test_impute_blanks_bad_values_and_range_is_checked_when_asked() -> None:
    policy = InputPolicy(invalid="impute", unknown={"*": "other", "city": "error"},
                         check_range=True)  # fmt: skip
    checked, report = InputChecker(SIGNATURE, policy).check_frame(rows(), None)
    assert (4, "age", "out_of_range", "imputed") in found(report)
    assert (1, "job", "unseen_category", "counted") in found(report)
    assert (2, "city", "unseen_category", "refused") in found(report)
    assert report.refused_rows == [2]
    assert np.isnan(checked["age"].iloc[4])  # 100 is outside [18, 90]: left to imputation


def test_clean_rows_have_no_problem_and_reports_merge_by_position() -> None:
    clean = pd.DataFrame({"age": [20.0, 30.0], "job": ["cook", "admin"], "city": ["rome"] * 2})
    _, first = InputChecker(SIGNATURE).check_frame(clean, None)
    assert first.ok and first.problems == ()
    _, second = InputChecker(SIGNATURE).check_frame(rows(), None)
    both = merged([first, second.shifted(2)])
    assert both.rows == 7 and both.refused_rows == [3, 4, 5]
    table = both.to_frame()
    assert list(table.columns) == ["row", "column", "rule", "value", "action"]
    assert table.loc[table["rule"] == "type", "value"].tolist() == ["'forty'"]


def test_the_policy_comes_from_the_serve_section() -> None:
    policy = InputPolicy.of(ServeSpec.model_validate({"invalid": "impute", "unknown": "error"}))
    assert policy.unknown_for("job") == "error" and policy.invalid == "impute"
    with pytest.raises(ValueError, match="unknown: job"):
        InputChecker(SIGNATURE, InputPolicy(unknown={"job": "drop"}))


@pytest.mark.parametrize(
    "policy",
    [InputPolicy(), InputPolicy(invalid="impute", unknown={"*": "other"}, check_range=True)],
)
def test_many_rows_are_judged_as_a_few_are(policy: InputPolicy) -> None:
    """Up to 64 rows are checked value by value, more with numpy: the same findings."""
    many = pd.concat([rows()] * 20, ignore_index=True)
    checker = InputChecker(SIGNATURE, policy)
    few_checked, few = checker.check_frame(rows(), None)
    many_checked, report = checker.check_frame(many, None)
    expected = {(r + 5 * k, c, rule, a) for k in range(20) for r, c, rule, a in found(few)}
    assert found(report) == expected
    pd.testing.assert_frame_equal(many_checked.iloc[:5], few_checked, check_dtype=False)
