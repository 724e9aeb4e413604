"""The cleaning step: scikit-learn's contract, the replay of each action, source names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from loopml.errors import DataError
from loopml.model.cleaning import CleaningTransformer

ACTIONS = (
    {"action": "coerce", "column": "owner", "to": "boolean"},
    {"action": "coerce", "column": "income", "to": "numeric"},
    {"action": "coerce", "column": "signup", "to": "datetime", "format": "%m/%d/%Y"},
    {"action": "fill_missing", "column": "age", "value": 40.0},
    {"action": "clip_outliers", "column": "age", "low": 18.0, "high": 90.0},
    {"action": "drop_duplicates", "rows": 3},
    {"action": "drop_column", "column": "junk"},
)
COLUMN_MAP = {"Home Owner": "owner", "income": "income", "Age": "age", "signup": "signup"}


def raw_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Age": [25.0, np.nan, 120.0],
            "Home Owner": ["yes", "No", " n/a "],
            "income": ["$1,200.50", "3 400", "12%"],
            "signup": ["01/31/2024", "02/01/2024", ""],
            "junk": [1, 2, 3],
        }
    )


@parametrize_with_checks([CleaningTransformer()])
def test_scikit_learn_estimator_checks(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


def test_source_rows_become_the_rows_training_saw() -> None:
    cleaner = CleaningTransformer(ACTIONS, COLUMN_MAP).fit(raw_rows())
    out = cleaner.transform(raw_rows())
    assert list(out.columns) == ["age", "owner", "income", "signup"]
    assert out["age"].tolist() == [25.0, 40.0, 90.0]  # filled, then clipped
    assert out["owner"].tolist()[:2] == [True, False] and pd.isna(out["owner"].iloc[2])
    np.testing.assert_allclose(out["income"], [1200.5, 3400.0, 0.12])
    assert out["signup"].iloc[0] == pd.Timestamp("2024-01-31") and pd.isna(out["signup"].iloc[2])


def test_it_is_idempotent_on_cleaned_rows_and_clones() -> None:
    cleaner = CleaningTransformer(ACTIONS, COLUMN_MAP, columns=["age", "owner", "income"])
    once = cleaner.fit(raw_rows()).transform(raw_rows())
    again = clone(cleaner).fit(once).transform(once)
    pd.testing.assert_frame_equal(once, again)


def test_a_column_under_both_names_or_a_missing_one_is_refused() -> None:
    cleaner = CleaningTransformer(ACTIONS, COLUMN_MAP, columns=["age", "owner"]).fit(raw_rows())
    with pytest.raises(DataError, match="given twice"):
        cleaner.transform(raw_rows().assign(owner=True))
    with pytest.raises(DataError, match=r"lack the model's columns \['owner'\]"):
        cleaner.transform(raw_rows().drop(columns=["Home Owner"]))


def test_invalid_values_are_located() -> None:
    cleaner = CleaningTransformer(ACTIONS, COLUMN_MAP).fit(raw_rows())
    coercion = cleaner.coercions_["income"]
    values = pd.Series(["12", "lots", None, "", "1,000"], dtype=object)
    assert coercion.invalid(values, coercion.apply(values)).tolist() == [1]
    assert cleaner.source_names() == {"owner": "Home Owner", "age": "Age"}
    assert cleaner.get_feature_names_out().tolist() == ["age", "owner", "income", "signup"]


SPELLINGS = [
    "12", " 12 ", "-3.5", "+7", ".5", "5.", "1e3", "1,234.5", "1,234", "12,5", "1.234,5",
    "1 234", "1\u00a0234,5", "1'234", "$12", "$ 1,200.50", "-$5", "12 €", "€12", "12%",
    " 7.5 % ", "(5)", "($1,000)", "(12%)", "inf", "-inf", "nan", "1_000", "0x10", "abc",
    "", "n/a", "--5", "1,23,4", "12,345,678.9", "1.2.3", "١٢", 3, 4.25, True, None,
    float("nan"), "  ", "5e-3%", "1,5%",
]  # fmt: skip


def test_one_value_at_a_time_reads_as_the_column_at_once_does() -> None:
    from loopml.model.cleaning import SCALAR_ROWS, Coercion

    assert len(SPELLINGS) <= SCALAR_ROWS
    values = np.empty(len(SPELLINGS), dtype=object)
    values[:] = SPELLINGS
    for to in ("numeric", "boolean"):
        coercion = Coercion("c", to)
        fast, fast_bad = coercion.read(values)
        many = np.concatenate([values] * 2)  # past SCALAR_ROWS: pandas reads the column
        slow, slow_bad = coercion.read(many)
        assert fast_bad == [i for i in slow_bad if i < len(values)]
        for got, want in zip(fast.tolist(), slow[: len(values)].tolist(), strict=True):
            assert (pd.isna(got) and pd.isna(want)) or got == want, (to, got, want)


def test_booleans_read_from_words_and_digits() -> None:
    from loopml.model.cleaning import Coercion

    values = np.array(["yes", "No", " TRUE ", "f", "1", 0, "perhaps", None], dtype=object)
    read, bad = Coercion("c", "boolean").read(values)
    assert read[:6].tolist() == [True, False, True, False, True, False]
    assert bad == [6] and pd.isna(read[7])


def test_the_column_form_replays_as_the_frame_form_does() -> None:
    from loopml.domain import ColumnKind

    actions = (
        *ACTIONS,
        {"action": "fill_missing", "column": "signup", "value": "2024-01-15T00:00:00"},
        {"action": "fill_missing", "column": "owner", "value": False},
    )
    cleaner = CleaningTransformer(actions, COLUMN_MAP).fit(raw_rows())
    frame = cleaner.transform(raw_rows())
    kinds = {"age": ColumnKind.NUMERIC, "owner": ColumnKind.BOOLEAN,
             "income": ColumnKind.NUMERIC, "signup": ColumnKind.DATETIME}  # fmt: skip
    renamed = cleaner.renamed(raw_rows())
    columns = {c: renamed[c].to_numpy(dtype=object) for c in kinds}
    columns["age"] = renamed["age"].to_numpy(dtype=float)
    out = cleaner.on_columns(kinds)(columns)
    np.testing.assert_allclose(out["age"], frame["age"].to_numpy(dtype=float))
    np.testing.assert_allclose(out["income"], frame["income"].to_numpy(dtype=float))
    assert out["owner"].tolist() == frame["owner"].astype(object).tolist()
    assert pd.Series(out["signup"]).tolist() == frame["signup"].tolist()
