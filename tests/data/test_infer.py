"""Inferring a project spec from data: target, task, metric, split, columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.data.infer import infer_spec, infer_task, is_id_like, project_name
from loopml.data.ingest import clean_column_names, read_source
from loopml.domain import ColumnKind
from loopml.errors import DataError
from loopml.spec import dump_spec, parse_spec


@pytest.fixture(scope="module")
def bank(bank_csv: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    return clean_column_names(read_source(bank_csv))


@pytest.fixture(scope="module")
def bike(bike_csv: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    return clean_column_names(read_source(bike_csv))


def _infer(df: pd.DataFrame, target: str, column_map: dict[str, str] | None = None):
    return infer_spec(
        df, target=target, source_path="data.csv", column_map=column_map or {}, name="t"
    )


@pytest.mark.parametrize("target", ["subscribed ", "subscribed", " subscribed"])
def test_bank_target_by_clean_or_original_name(bank, target: str) -> None:
    frame, column_map = bank
    spec = infer_spec(
        frame, target=target, source_path="data/bank.csv", column_map=column_map, name="bank"
    )
    assert spec.problem.target == "subscribed"


@pytest.mark.parametrize("target", ["Subscribed", " SUBSCRIBED"])
def test_target_in_another_case_is_refused_with_the_name(bank, target: str) -> None:
    frame, column_map = bank
    with pytest.raises(DataError) as info:
        infer_spec(frame, target=target, source_path="b.csv", column_map=column_map, name="b")
    message = str(info.value)
    assert f"no column '{target}'" in message and "case included" in message
    assert "Did you mean 'subscribed'?" in message


def test_original_name_in_another_case_is_refused() -> None:
    frame, column_map = clean_column_names(pd.DataFrame({"Price": [1.0, 2.0, 3.0], "x": [1, 2, 3]}))
    assert _infer(frame, "Price", column_map).problem.target == "price"  # the header
    assert _infer(frame, "price", column_map).problem.target == "price"  # the clean name
    with pytest.raises(DataError, match=r"Did you mean 'price' or 'Price'\?"):
        _infer(frame, "PRICE", column_map)


def test_bank_spec(bank) -> None:
    frame, column_map = bank
    spec = infer_spec(
        frame,
        target="subscribed ",
        source_path="data/bank.csv",
        column_map=column_map,
        name="bank marketing!",
    )
    assert spec.name == "bank-marketing"
    assert spec.problem.task == "classification"
    assert spec.problem.positive_class == 1
    assert spec.problem.primary_metric == "roc_auc"
    assert [(c.metric, c.better_than, c.by) for c in spec.problem.success_criteria] == [
        ("roc_auc", "baseline", 0.2),
        ("roc_auc", "linear", -0.02),
    ]
    assert spec.split.method == "stratified" and spec.split.time_column is None
    assert spec.data.all_sources[0].path == "data/bank.csv"
    assert list(spec.data.columns) == list(frame.columns)
    assert set(spec.data.columns.values()) == {ColumnKind.NUMERIC}
    assert spec.features.exclude == []
    assert "duration" in spec.feature_columns and "subscribed" not in spec.feature_columns
    assert parse_spec(dump_spec(spec)) == spec  # what `loopml init` writes loads back


def test_bike_spec(bike) -> None:
    frame, column_map = bike
    spec = infer_spec(
        frame, target="cnt", source_path="bike.csv", column_map=column_map, name="bike"
    )
    assert spec.problem.task == "regression"
    assert spec.problem.positive_class is None
    assert spec.problem.primary_metric == "rmse"
    assert [(c.metric, c.better_than, c.by) for c in spec.problem.success_criteria] == [
        ("rmse", "baseline", 0.1),
        ("rmse", "linear", -0.02),
    ]
    assert spec.split.method == "time" and spec.split.time_column == "dteday"
    assert spec.data.columns["dteday"] is ColumnKind.DATETIME
    # the unnamed index, X and instant are row ids; casual + registered == cnt is leakage
    assert spec.features.exclude == ["column_0", "x", "instant", "casual", "registered"]
    assert "dteday" not in spec.feature_columns and "hr" in spec.feature_columns


def test_unknown_target_lists_the_columns(bank) -> None:
    frame, column_map = bank
    with pytest.raises(DataError) as info:
        infer_spec(frame, target="subscribd", source_path="b.csv", column_map=column_map, name="b")
    message = str(info.value)
    assert "no column 'subscribd'" in message and "b.csv" in message
    assert "age, default, balance" in message
    assert "Did you mean 'subscribed'" in message


def test_one_class_target() -> None:
    frame = pd.DataFrame({"x": range(30), "y": ["yes"] * 30})
    with pytest.raises(DataError, match="single value") as info:
        _infer(frame, "y")
    assert "'yes', 30 rows" in str(info.value)


def test_all_missing_target() -> None:
    frame = pd.DataFrame({"x": range(5), "y": [np.nan] * 5})
    with pytest.raises(DataError, match="holds no values"):
        _infer(frame, "y")


def test_string_target_positive_word() -> None:
    frame = pd.DataFrame({"x": range(40), "y": ["no", "yes", "no", "no"] * 10})
    spec = _infer(frame, "y")
    assert spec.problem.positive_class == "yes"
    assert spec.split.method == "stratified"


def test_minority_class_is_positive_without_a_positive_word() -> None:
    frame = pd.DataFrame({"x": range(40), "y": ["cat", "dog", "dog", "dog"] * 10})
    assert _infer(frame, "y").problem.positive_class == "cat"


def test_boolean_target_positive_is_true() -> None:
    frame = pd.DataFrame({"x": range(40), "churned": [True, False, False, False] * 10})
    spec = _infer(frame, "churned")
    assert spec.problem.task == "classification"
    assert spec.problem.positive_class == "True"


def test_multiclass() -> None:
    frame = pd.DataFrame({"x": range(60), "y": ["a", "b", "c"] * 20})
    problem = _infer(frame, "y").problem
    assert problem.primary_metric == "accuracy" and problem.positive_class is None
    assert [(c.metric, c.better_than, c.by) for c in problem.success_criteria] == [
        ("balanced_accuracy", "baseline", 0.25),
        ("accuracy", "linear", -0.02),
    ]


def test_rare_class_gets_a_random_split() -> None:
    frame = pd.DataFrame({"x": range(30), "y": ["a"] * 29 + ["b"]})
    assert _infer(frame, "y").split.method == "random"


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1] * 20, "classification"),
        ([1.0, 2.0, np.nan, 3.0] * 10, "classification"),
        (list(range(40)), "regression"),
        ([0.5, 1.25] * 20, "regression"),
        (["a", "b"] * 20, "classification"),
        ([True, False] * 20, "classification"),
    ],
)
def test_infer_task(values: list[object], task: str) -> None:
    assert infer_task(pd.Series(values)) == task


def test_id_like_columns() -> None:
    n = 50
    rng = np.random.default_rng(0)
    assert is_id_like(pd.Series(range(1, n + 1)), ColumnKind.NUMERIC)
    assert is_id_like(pd.Series(rng.permutation(n)), ColumnKind.NUMERIC)
    assert is_id_like(pd.Series(np.linspace(0, 1, n)), ColumnKind.NUMERIC)
    assert is_id_like(pd.Series([f"c{i}" for i in range(n)]), ColumnKind.CATEGORICAL)
    assert is_id_like(pd.Series(rng.choice(10**6, n, replace=False)), ColumnKind.NUMERIC, "id")
    assert not is_id_like(pd.Series(rng.normal(size=n)), ColumnKind.NUMERIC)
    assert not is_id_like(pd.Series([1, 2] * 25), ColumnKind.NUMERIC)
    assert not is_id_like(pd.Series(range(10)), ColumnKind.NUMERIC)  # too few rows to tell


def test_time_split_needs_dates_in_row_order() -> None:
    days = pd.date_range("2020-01-01", periods=40, freq="D").strftime("%Y-%m-%d")
    frame = pd.DataFrame({"day": days, "x": np.arange(40) % 7, "y": [0.5, 1.5] * 20})
    assert _infer(frame, "y").split.time_column == "day"
    shuffled = frame.sample(frac=1, random_state=0).reset_index(drop=True)
    assert _infer(shuffled, "y").split.method == "random"


def test_copy_of_the_target_is_excluded() -> None:
    frame = pd.DataFrame({"y": ["a", "b"] * 20, "y_copy": ["a", "b"] * 20, "x": [1, 2, 3, 4] * 10})
    assert _infer(frame, "y").features.exclude == ["y_copy"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("bank marketing!", "bank-marketing"), ("__x", "x"), ("", "project"), ("a.b_c-1", "a.b_c-1")],
)
def test_project_name(name: str, expected: str) -> None:
    assert project_name(name) == expected


def test_the_search_gets_a_time_budget_scaled_to_rows_columns_and_cores(bank) -> None:
    from loopml.data.infer import search_time_budget

    assert search_time_budget(54_000, 9, cores=2) == 180  # diamonds on a busy laptop
    assert search_time_budget(54_000, 9, cores=16) == 80
    assert search_time_budget(100, 3, cores=1) == 60  # tiny data: a minute
    assert search_time_budget(10_000_000, 50, cores=2) == 1800  # at most 30 minutes
    frame, column_map = bank
    for cores, budget in ((1, 310), (8, 90)):  # 44,923 rows x 11 feature columns
        spec = infer_spec(
            frame,
            target="subscribed",
            source_path="b.csv",
            column_map=column_map,
            name="b",
            cores=cores,
        )
        assert spec.models.search.timeout_s == budget
        assert f"timeout_s: {float(budget)}" in dump_spec(spec)  # the generated spec says so
