"""Declarative cleaning: each step, its log entries, and the real data sets' quirks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.data.clean import (
    CleaningLog,
    apply_cleaning_log,
    clean_frame,
    parse_booleans,
    parse_numbers,
)
from loopml.data.ingest import clean_column_names, read_source
from loopml.data.schema import infer_schema
from loopml.domain import ColumnKind
from loopml.errors import DataError, SpecError
from loopml.spec.quality import CleaningSpec, Fill, OutlierSpec

NOTHING = CleaningSpec(coerce_types=False, drop_duplicates=False, drop_constant=False)


def _spec(**changes: object) -> CleaningSpec:
    return NOTHING.model_copy(update=changes)


def _frame(n: int = 40, **columns: object) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    base = {"y": rng.integers(0, 2, n).astype(float), "num": rng.normal(50, 10, n)}
    return pd.DataFrame(base | columns)


# -- coercion -------------------------------------------------------------------------------


def test_parse_numbers() -> None:
    text = ["1,234.5", "1 234", "$12", "12 €", "12%", "(5)", "1.234,5", "12,5", "-$3.5", "7"]
    parsed = parse_numbers(pd.Series([*text, "abc", None], dtype=object))
    assert parsed.tolist()[:10] == [1234.5, 1234.0, 12.0, 12.0, 0.12, -5.0, 1234.5, 12.5, -3.5, 7]
    assert parsed.iloc[10:].isna().all() and parsed.dtype == float


def test_numbers_with_separators_and_currency_become_numeric() -> None:
    prices = ["$1,234.50", "€ 99", "1 000", "n/a", None, "12%"] * 20
    frame = _frame(120, price=prices, code=["007", "012", "123"] * 40, note=["1.5", "x"] * 60)
    out, log = clean_frame(frame, _spec(coerce_types=True), target="y")
    assert out["price"].dtype == float
    assert out["price"].head(6).tolist()[:3] == [1234.5, 99.0, 1000.0]
    assert out["price"].isna().sum() == 40  # 'n/a' is a null token, not an invalid value
    (entry,) = log.of("coerce")
    assert entry == {
        "action": "coerce",
        "column": "price",
        "from": "str",
        "to": "numeric",
        "rows": 80,
        "invalid": 0,
        "null_tokens": 20,
    }
    assert out["code"].tolist()[:3] == ["007", "012", "123"]  # codes keep leading zeros
    assert out["note"].tolist()[:2] == ["1.5", "x"]  # half text: left alone


def test_a_few_bad_values_are_counted_as_invalid() -> None:
    values = [str(i) for i in range(99)] + ["oops"]
    out, log = clean_frame(_frame(100, amount=values), _spec(coerce_types=True), target="y")
    assert out["amount"].isna().sum() == 1
    (entry,) = log.of("coerce")
    assert (entry["rows"], entry["invalid"], entry["example"]) == (100, 1, "oops")


@pytest.mark.parametrize(
    ("values", "fmt", "first"),
    [
        (["1/1/11", "12/31/12", "2/29/12"], "%m/%d/%y", "2011-01-01"),  # bike's dteday
        (["2011-01-01", "2012-12-31", "2012-02-29"], "ISO8601", "2011-01-01"),
        (["2011-01-01T10:00:00", "2012-12-31T23:59:00", None], "ISO8601", "2011-01-01 10:00"),
        (["13.01.2011", "31.12.2012", "29.02.2012"], "%d.%m.%Y", "2011-01-13"),
    ],
)
def test_dates_in_various_formats(values: list[str | None], fmt: str, first: str) -> None:
    out, log = clean_frame(_frame(30, when=values * 10), _spec(coerce_types=True), target="y")
    assert pd.api.types.is_datetime64_any_dtype(out["when"].dtype)
    assert out["when"].iloc[0] == pd.Timestamp(first)
    (entry,) = log.of("coerce")
    assert (entry["to"], entry["format"], entry["invalid"]) == ("datetime", fmt, 0)


def test_dates_tolerate_a_few_bad_values() -> None:
    days = pd.date_range("2020-01-01", periods=99).strftime("%d.%m.%Y").tolist() + ["31.02.2020"]
    out, log = clean_frame(_frame(100, day=days), _spec(coerce_types=True), target="y")
    assert out["day"].isna().sum() == 1
    assert log.of("coerce")[0]["invalid"] == 1


def test_bool_like_strings() -> None:
    frame = _frame(40, ok=["yes", "No", None, "Y"] * 10, flag=["t", "f"] * 20)
    out, log = clean_frame(frame, _spec(coerce_types=True), target="y")
    assert out["ok"].tolist()[:4] == [True, False, pd.NA, True]
    assert out["flag"].dtype == "boolean" and out["flag"].iloc[0]
    assert {e["column"]: e["to"] for e in log.of("coerce")} == {"ok": "boolean", "flag": "boolean"}
    assert parse_booleans(pd.Series(["1", "0", "maybe"])).tolist() == [True, False, pd.NA]


def test_coercion_follows_the_schema() -> None:
    train = pd.DataFrame({"y": [0, 1, 0], "n": [1.0, 2.0, 3.0], "zip": ["02134", "10001", "9"]})
    train["when"] = ["2020-01-01", "2020-01-02", "2020-01-03"]
    train["ok"] = [True, False, True]
    schema = infer_schema(train, kinds={"zip": ColumnKind.CATEGORICAL})
    live = pd.DataFrame(
        {
            "y": ["0", "1", None],  # the target is never coerced
            "n": ["1,5", "abc", "3"],
            "zip": ["1234", "5678", "0001"],
            "when": ["2020-01-05", "5 Jan 2020", "2020-01-07"],
            "ok": ["1", "0", "yes"],
        }
    )
    out, log = clean_frame(live, _spec(coerce_types=True), target="y", schema=schema)
    assert out["n"].tolist()[0] == 1.5 and np.isnan(out["n"].iloc[1])
    assert out["zip"].tolist() == ["1234", "5678", "0001"]
    assert out["y"].tolist()[:2] == ["0", "1"]
    assert out["ok"].tolist() == [True, False, True]
    assert out["when"].iloc[0] == pd.Timestamp("2020-01-05")
    entries = {e["column"]: e for e in log.of("coerce")}
    assert set(entries) == {"n", "when", "ok"}
    assert (entries["n"]["invalid"], entries["n"]["example"]) == (1, "abc")


# -- rows -------------------------------------------------------------------------------------


def test_duplicates_are_dropped_and_counted() -> None:
    frame = _frame(10)
    doubled = pd.concat([frame, frame.iloc[[1, 2, 3]]], ignore_index=True)
    out, log = clean_frame(doubled, _spec(drop_duplicates=True), target="y")
    assert len(out) == 10 and out.index.equals(pd.RangeIndex(10))
    assert log.of("drop_duplicates") == [{"action": "drop_duplicates", "rows": 3}]
    assert (log.rows_in, log.rows_out, log.counts()) == (13, 10, {"drop_duplicates": 3})


@pytest.fixture
def gappy() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": [1.0, None, 0.0, 1.0, 0.0, None, 1.0, 0.0],
            "age": [20.0, None, 40.0, 30.0, None, 50.0, 20.0, 100.0],
            "job": ["a", "b", None, "b", "b", None, "a", "c"],
            "city": ["x", None, "y", "y", "x", "x", "x", None],
            "score": [1.0, 2.0, None, 4.0, 5.0, 6.0, 7.0, 8.0],
        }
    )


@pytest.mark.parametrize(
    ("policy", "value", "rows"),
    [("mean", 260 / 6, 2), ("median", 35.0, 2), ("mode", 20.0, 2), (Fill(fill=-1), -1, 2)],
)
def test_fill_policies(gappy: pd.DataFrame, policy: object, value: float, rows: int) -> None:
    out, log = clean_frame(gappy, _spec(missing={"age": policy}), target="y")
    assert out["age"].notna().all()
    assert out.loc[[1, 4], "age"].tolist() == pytest.approx([value, value])
    (entry,) = log.of("fill_missing")
    name = policy if isinstance(policy, str) else "fill"
    assert entry == {
        "action": "fill_missing",
        "column": "age",
        "policy": name,
        "value": pytest.approx(value),
        "rows": rows,
    }
    assert out["y"].isna().sum() == 2  # the target is never filled
    assert out["job"].isna().sum() == 2  # other columns untouched without "*"


def test_drop_keep_and_the_default(gappy: pd.DataFrame) -> None:
    spec = _spec(missing={"*": "median", "job": "drop", "city": "keep", "score": Fill(fill=0)})
    out, log = clean_frame(gappy, spec, target="y")
    assert len(out) == 6 and out["job"].notna().all()  # rows 2 and 5 dropped
    assert out["city"].isna().sum() == 2  # kept
    assert out["y"].isna().sum() == 1  # the unlabelled row 1 stays for labelling
    assert out["age"].isna().sum() == 0
    assert [(e["action"], e["column"], e["rows"]) for e in log.actions] == [
        ("drop_missing", "job", 2),
        ("fill_missing", "age", 2),  # the median of the rows left
    ]
    assert log.of("fill_missing")[0]["value"] == 25.0
    assert log.counts() == {"drop_missing": 2, "fill_missing": 2}


def test_default_median_falls_back_to_mode_for_text(gappy: pd.DataFrame) -> None:
    out, log = clean_frame(gappy, _spec(missing={"*": "median"}), target="y", protect=["city"])
    entries = {e["column"]: (e["policy"], e["value"]) for e in log.of("fill_missing")}
    assert entries == {"age": ("median", 35.0), "job": ("mode", "b"), "score": ("median", 5.0)}
    assert out["city"].isna().sum() == 2  # protected columns are not filled by "*"
    assert out["job"].dtype == gappy["job"].dtype


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ({"y": "median"}, "data.cleaning.missing.y: the target 'y' is never filled"),
        ({"agee": "median"}, "data.cleaning.missing.agee: no column 'agee'"),
        ({"job": "mean"}, "data.cleaning.missing.job: 'mean' needs a numeric column"),
        ({"age": Fill(fill="old")}, "fill value 'old' does not fit numeric column 'age'"),
    ],
)
def test_missing_policy_errors(gappy: pd.DataFrame, missing: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        clean_frame(gappy, _spec(missing=missing), target="y")


# -- outliers ---------------------------------------------------------------------------------


@pytest.fixture
def spiky() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    values = rng.normal(100.0, 10.0, 200)
    values[[3, 50]] = [1000.0, -500.0]
    return pd.DataFrame(
        {
            "y": np.r_[[10_000.0], rng.normal(0, 1, 199)],  # an extreme target, left alone
            "v": values,
            "count": np.r_[[900], rng.integers(0, 20, 199)],
            "flag": np.r_[[1], np.zeros(199, dtype=int)],  # binary: never an outlier
            "key": np.r_[[10**9], np.arange(199)],  # protected
        }
    )


def test_iqr_clip(spiky: pd.DataFrame) -> None:
    spec = _spec(outliers=OutlierSpec(method="iqr", action="clip"))
    out, log = clean_frame(spiky, spec, target="y", protect=["key"])
    q1, q3 = spiky["v"].quantile([0.25, 0.75])
    low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    entry = {e["column"]: e for e in log.of("clip_outliers")}
    assert set(entry) == {"v", "count"}
    assert entry["v"]["low"] == pytest.approx(low) and entry["v"]["high"] == pytest.approx(high)
    outside = int(((spiky["v"] < low) | (spiky["v"] > high)).sum())
    assert entry["v"]["rows"] == outside >= 2 and entry["v"]["method"] == "iqr"
    assert out["v"].max() == pytest.approx(high) and out["v"].min() >= low
    assert out["count"].dtype == spiky["count"].dtype  # integer bounds keep integers
    assert isinstance(entry["count"]["high"], int)
    for untouched in ("y", "flag", "key"):
        assert out[untouched].equals(spiky[untouched])
    assert len(out) == len(spiky)


def test_zscore_drop(spiky: pd.DataFrame) -> None:
    spec = _spec(outliers=OutlierSpec(method="zscore", action="drop", z=3.0, columns=["v"]))
    out, log = clean_frame(spiky, spec, target="y", protect=["key"])
    mean, std = spiky["v"].mean(), spiky["v"].std()
    far = (spiky["v"] - mean).abs() > 3 * std
    (entry,) = log.of("drop_outliers")
    assert entry["rows"] == int(far.sum()) == len(spiky) - len(out) >= 2
    assert entry["low"] == pytest.approx(mean - 3 * std)
    assert log.rows_out == len(out)


def test_drop_counts_each_row_once(spiky: pd.DataFrame) -> None:
    spiky.loc[3, "count"] = 5000  # row 3 is extreme in two columns
    spec = _spec(outliers=OutlierSpec(action="drop"))
    out, log = clean_frame(spiky, spec, target="y", protect=["key"])
    assert sum(e["rows"] for e in log.of("drop_outliers")) == len(spiky) - len(out)


@pytest.mark.parametrize(
    ("columns", "message"),
    [(["y"], "'y' is the target or a protected"), (["key"], "protected"), (["zz"], "no column")],
)
def test_outlier_column_errors(spiky: pd.DataFrame, columns: list[str], message: str) -> None:
    spec = _spec(outliers=OutlierSpec(columns=columns))
    with pytest.raises(SpecError, match=message):
        clean_frame(spiky, spec, target="y", protect=["key"])


# -- columns ----------------------------------------------------------------------------------


def test_constant_and_id_like_columns(bike_csv: Path) -> None:
    bike, _ = clean_column_names(read_source(bike_csv, "csv"))
    bike = bike.assign(source="bike", empty=None)
    spec = _spec(drop_constant=True, drop_id_like=True)
    out, log = clean_frame(bike, spec, target="cnt", protect=["instant"])
    drops = {e["column"]: e["reason"] for e in log.of("drop_column")}
    assert drops == {
        "source": "constant",
        "empty": "constant",
        "column_0": "id_like",  # the unnamed index column
        "x": "id_like",  # a permutation of 1..n (its rows are shuffled in places)
    }
    assert log.of("drop_column")[0]["value"] == "bike"
    assert "instant" in out.columns and "cnt" in out.columns  # protected, target
    assert log.counts() == {"drop_column": 4}
    assert (log.columns_in - log.columns_out) == 4


def test_target_missing_is_an_error() -> None:
    with pytest.raises(DataError, match="the target 'label' is not a column"):
        clean_frame(_frame(), CleaningSpec(), target="label")


# -- the real data sets -----------------------------------------------------------------------


def test_default_cleaning_of_the_real_data(bank_csv: Path, bike_csv: Path) -> None:
    bank, _ = clean_column_names(read_source(bank_csv))
    out, log = clean_frame(bank, CleaningSpec(), target="subscribed")
    assert log.actions == () and out.equals(bank)  # the bank data needs no cleaning

    bike, _ = clean_column_names(read_source(bike_csv))
    spec = CleaningSpec(missing={"*": "median"}, drop_id_like=True)
    out, log = clean_frame(bike, spec, target="cnt")
    (dates,) = log.of("coerce")
    assert (dates["column"], dates["format"], dates["rows"]) == ("dteday", "%m/%d/%y", 17520)
    assert out["dteday"].min() == pd.Timestamp("2011-01-01")
    assert out["dteday"].max() == pd.Timestamp("2012-12-31")
    fills = {e["column"]: e["rows"] for e in log.of("fill_missing")}
    assert fills == dict.fromkeys(["weathersit", "temp", "atemp", "hum", "windspeed"], 141)
    assert {e["column"] for e in log.of("drop_column")} == {"column_0", "x", "instant"}
    assert out.isna().sum().sum() == 0
    assert log.counts() == {"coerce": 17520, "fill_missing": 5 * 141, "drop_column": 3}
    assert out["cnt"].equals(bike["cnt"])
    # the text duplicates of numeric columns are categories, not dates or numbers
    assert {"mnth2", "weekday2", "hr2"} <= set(out.columns)
    assert out["hr2"].iloc[0] == "12 AM"

    replayed = apply_cleaning_log(bike, log)
    assert replayed.columns.equals(out.columns)
    pd.testing.assert_frame_equal(replayed, out)

    data = json.loads(json.dumps(log.to_dict()))
    assert data["counts"] == log.counts() and CleaningLog.from_dict(data) == log
