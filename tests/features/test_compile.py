"""The transform compiled from the features spec: each option, unknown values, pickling,
cloning, and whole models on the bundled data."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from loopml.data.ingest import clean_column_names, read_source
from loopml.data.schema import infer_schema
from loopml.domain import ColumnKind, Schema
from loopml.errors import DataError, SpecError
from loopml.features.compile import compile_transform
from loopml.spec.features import FeaturesSpec


def features(**fields: Any) -> FeaturesSpec:
    return FeaturesSpec.model_validate(fields)


def names_of(transform: Any) -> list[str]:
    return [str(n) for n in transform.get_feature_names_out()]


def column(transform: Any, X: np.ndarray, name: str) -> np.ndarray:
    return X[:, names_of(transform).index(name)]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    city = rng.choice(["paris", "rome", "oslo"], n, p=[0.6, 0.35, 0.05]).astype(object)
    city[:4] = ["lima", None, None, "paris"]  # lima: 1 row in 120, below 1 %
    return pd.DataFrame(
        {
            "amount": np.where(rng.random(n) < 0.1, np.nan, rng.normal(100, 10, n)),
            "visits": rng.integers(0, 4, n),
            "city": pd.Series(city, dtype="str"),
            "member": rng.random(n) < 0.5,
            "day": [f"{d.month}/{d.day}/{d:%y}" for d in pd.date_range("2011-01-01", periods=n)],
            "note": [f"order {i} was {'late' if i % 3 else 'on time'} again" for i in range(n)],
        }
    )


@pytest.fixture
def target(frame: pd.DataFrame) -> np.ndarray:
    return np.where(frame["city"].eq("paris").to_numpy(), 1, 0) ^ (np.arange(len(frame)) % 7 == 0)


def test_default_spec_gives_dense_floats_by_kind(frame: pd.DataFrame) -> None:
    assert frame["city"].dtype == "str"  # pandas 3 strings
    transform = compile_transform(infer_schema(frame), FeaturesSpec(), "classification")
    X = transform.fit_transform(frame)
    names = names_of(transform)
    assert isinstance(X, np.ndarray) and X.dtype == np.float64
    assert X.shape == (len(frame), len(names)) and not np.isnan(X).any()
    assert "numeric__amount" in names and "numeric__visits" in names
    assert {"categorical__city_paris", "categorical__city_rome", "categorical__city_oslo"} < set(
        names
    )
    assert {"categorical__city___rare__", "categorical__city___missing__"} < set(names)
    assert {"categorical__member_True", "categorical__member_False"} < set(names)
    assert [n for n in names if n.startswith("datetime__")] == [
        "datetime__day_year",
        "datetime__day_month",
        "datetime__day_dayofweek",  # no hour: the dates hold no times
    ]
    assert {"text__note_late", "text__note_on time"} < set(names)


@pytest.mark.parametrize(
    ("impute", "scale", "expected"),
    [
        ("constant", "none", [1.0, 2.0, 0.0, 9.0]),
        ("mean", "none", [1.0, 2.0, 4.0, 9.0]),
        ("median", "none", [1.0, 2.0, 2.0, 9.0]),
        ("most_frequent", "none", [1.0, 2.0, 1.0, 9.0]),
        ("none", "none", [1.0, 2.0, np.nan, 9.0]),
        ("constant", "minmax", [1 / 9, 2 / 9, 0.0, 1.0]),
        ("median", "robust", [-0.5, 0.0, 0.0, 3.5]),  # median 2, IQR 2
    ],
)
def test_numeric_imputation_and_scaling(impute: str, scale: str, expected: list[float]) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, None, 9.0]})
    spec = features(numeric={"impute": impute, "scale": scale})
    X = compile_transform(infer_schema(frame), spec, "regression").fit_transform(frame)
    np.testing.assert_allclose(X[:, 0], expected)


def test_standard_scaling_centres_and_scales() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 6.0]})
    X = compile_transform(infer_schema(frame), FeaturesSpec(), "regression").fit_transform(frame)
    assert X.mean() == pytest.approx(0.0) and X.std() == pytest.approx(1.0)


def test_rare_categories_are_grouped(frame: pd.DataFrame) -> None:
    spec = features(categorical={"rare_min_frequency": 0.1})  # oslo (~5 %) and lima are rare
    transform = compile_transform(infer_schema(frame[["city"]]), spec, "classification")
    X = transform.fit_transform(frame[["city"]])
    names = names_of(transform)
    assert "categorical__city_oslo" not in names and "categorical__city_lima" not in names
    rare = column(transform, X, "categorical__city___rare__")
    grouped = (frame["city"].isin(["oslo", "lima"]) | frame["city"].isna()).to_numpy()
    assert (rare == grouped).all()
    # a category first seen after training joins the rare group
    unseen = transform.transform(pd.DataFrame({"city": pd.Series(["tokyo"], dtype="str")}))
    assert column(transform, unseen, "categorical__city___rare__")[0] == 1.0
    assert unseen.sum() == 1.0


def test_max_categories_keeps_the_most_frequent(frame: pd.DataFrame) -> None:
    spec = features(categorical={"rare_min_frequency": 0.0, "max_categories": 2})
    transform = compile_transform(infer_schema(frame[["city"]]), spec, "classification")
    transform.fit(frame[["city"]])
    assert names_of(transform) == [
        "categorical__city___rare__",
        "categorical__city_paris",
        "categorical__city_rome",
    ]


def test_categorical_imputation(frame: pd.DataFrame) -> None:
    data = frame[["city"]]
    spec = features(categorical={"impute": "most_frequent", "rare_min_frequency": 0.0})
    transform = compile_transform(infer_schema(data), spec, "classification")
    X = transform.fit_transform(data)
    assert "categorical__city___missing__" not in names_of(transform)
    assert column(transform, X, "categorical__city_paris")[1] == 1.0  # the missing one


@pytest.mark.parametrize("encoding", ["onehot", "ordinal", "target"])
def test_unknown_categories_do_not_crash(
    encoding: str, frame: pd.DataFrame, target: np.ndarray
) -> None:
    data = frame[["city", "member"]]
    spec = features(categorical={"encoding": encoding, "rare_min_frequency": 0.0})
    transform = compile_transform(infer_schema(data), spec, "classification").fit(data, target)
    row = pd.DataFrame({"city": pd.Series(["tokyo"], dtype="str"), "member": [True]})
    out = transform.transform(row)
    city = [i for i, n in enumerate(names_of(transform)) if n.startswith("categorical__city")]
    if encoding == "onehot":
        assert out[0, city].tolist() == [0.0] * len(city)
    elif encoding == "ordinal":
        assert out[0, city].tolist() == [-1.0]
    else:
        encoder = transform.named_steps["columns"].named_transformers_["categorical"]["encode"]
        assert out[0, city].tolist() == [pytest.approx(encoder.target_mean_)]


def test_ordinal_and_target_give_one_column_per_feature(
    frame: pd.DataFrame, target: np.ndarray
) -> None:
    data = frame[["city"]]
    for encoding in ("ordinal", "target"):
        spec = features(categorical={"encoding": encoding})
        transform = compile_transform(infer_schema(data), spec, "classification")
        X = transform.fit_transform(data, target)
        assert names_of(transform) == ["categorical__city"]
        assert len(np.unique(transform.transform(data))) == 5  # paris rome oslo rare missing
        assert X.shape == (len(data), 1)


def test_target_encoding_is_cross_fitted_and_seeded(
    frame: pd.DataFrame, target: np.ndarray
) -> None:
    data = frame[["city"]]
    spec = features(categorical={"encoding": "target"})
    signature = infer_schema(data)
    first = compile_transform(signature, spec, "classification").fit_transform(data, target)
    again = compile_transform(signature, spec, "classification").fit_transform(data, target)
    fitted = compile_transform(signature, spec, "classification").fit(data, target)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, fitted.transform(data))  # training rows: out of fold


def test_target_encoding_for_regression_counts() -> None:
    frame = pd.DataFrame({"c": pd.Series(["a", "b"] * 20, dtype="str")})
    y = np.tile([10, 30], 20)  # integer counts: a continuous target, not 20 classes
    spec = features(categorical={"encoding": "target"})
    transform = compile_transform(infer_schema(frame), spec, "regression").fit(frame, y)
    out = transform.transform(frame.iloc[:2])
    assert out[0, 0] < 20 < out[1, 0]


def test_date_parts() -> None:
    stamps = pd.DataFrame({"at": pd.to_datetime(["2024-03-02 10:30", "2024-03-04 23:00", None])})
    spec = features(dates=["year", "day", "dayofweek", "hour", "dayofyear", "is_weekend"])
    transform = compile_transform(infer_schema(stamps), spec, "regression")
    transform = transform.set_params(columns__datetime__scale="passthrough").fit(stamps)
    X = transform.transform(stamps)
    names = [n.removeprefix("datetime__at_") for n in names_of(transform)]
    assert names == ["year", "day", "dayofweek", "hour", "dayofyear", "is_weekend"]
    assert X[0].tolist() == [2024, 2, 5, 10, 62, 1]
    assert X[1].tolist() == [2024, 4, 0, 23, 64, 0]
    assert not np.isnan(X).any()  # the missing date is imputed


def test_no_date_parts_drops_dates(frame: pd.DataFrame) -> None:
    transform = compile_transform(infer_schema(frame), features(dates=[]), "regression")
    assert not any(n.startswith("datetime") for n in names_of(transform.fit(frame)))


def test_text_as_tfidf(frame: pd.DataFrame) -> None:
    data = frame[["note"]].copy()
    data.loc[5, "note"] = None
    spec = features(text={"max_features": 4, "ngram_max": 1})
    transform = compile_transform(infer_schema(frame[["note"]]), spec, "classification")
    X = transform.fit_transform(data)
    names = names_of(transform)
    assert len(names) == 4 and all(n.startswith("text__note_") for n in names)
    late = column(transform, X, "text__note_late")
    assert (late > 0).sum() == sum("late" in str(t) for t in data["note"])
    assert X[5].tolist() == [0.0] * 4  # missing text is empty text
    assert np.allclose(np.linalg.norm(X[[0, 1]], axis=1), 1.0)


def test_derived_columns(frame: pd.DataFrame) -> None:
    data = frame[["amount", "visits"]]
    spec = features(
        derived=[
            {"name": "per_visit", "expr": "amount / visits"},
            {"name": "big", "expr": "per_visit > 50"},
        ],
        numeric={"impute": "none", "scale": "none"},
    )
    transform = compile_transform(infer_schema(data), spec, "regression")
    X = transform.fit_transform(data)
    assert names_of(transform)[-2:] == ["numeric__per_visit", "numeric__big"]
    per_visit = column(transform, X, "numeric__per_visit")
    expected = (data["amount"] / data["visits"]).replace([np.inf, -np.inf], np.nan).to_numpy()
    np.testing.assert_allclose(per_visit, expected)
    zero = data["visits"].eq(0).to_numpy()
    assert zero.any() and np.isnan(per_visit[zero]).all()  # division by zero: missing
    big = column(transform, X, "numeric__big")
    assert set(np.unique(big[~np.isnan(per_visit)])) == {0.0, 1.0}
    assert np.isnan(big[np.isnan(per_visit)]).all()  # unknown stays missing


def test_derived_spec_errors(frame: pd.DataFrame) -> None:
    signature = infer_schema(frame)
    with pytest.raises(SpecError, match=r"derived\[0\]: 'amount' is already a column"):
        compile_transform(
            signature, features(derived=[{"name": "amount", "expr": "1"}]), "regression"
        )
    with pytest.raises(SpecError, match="'amout' is not a feature column"):
        spec = features(derived=[{"name": "y", "expr": "amout * 2"}])
        compile_transform(signature, spec, "regression")
    with pytest.raises(SpecError, match="function calls"):
        spec = features(derived=[{"name": "y", "expr": "abs(amount)"}])
        compile_transform(signature, spec, "regression")


@pytest.mark.parametrize(("encode", "width"), [("onehot", 4), ("ordinal", 1)])
def test_bins(encode: str, width: int) -> None:
    data = pd.DataFrame({"x": np.arange(100.0), "y": np.arange(100.0)})
    spec = features(bins={"x": {"bins": 4, "encode": encode}})
    transform = compile_transform(infer_schema(data), spec, "regression")
    X = transform.fit_transform(data)
    binned = [i for i, n in enumerate(names_of(transform)) if n.startswith("binned_4_quantile")]
    assert len(binned) == width and "numeric__x" not in names_of(transform)
    if encode == "onehot":
        assert X[:, binned].sum(axis=0).tolist() == [25.0] * 4
    else:
        assert X[[0, 30, 60, 99], binned[0]].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_uniform_bins_of_a_derived_column_with_a_dominant_value() -> None:
    data = pd.DataFrame({"x": [-1.0] * 90 + list(range(10))})
    spec = features(
        derived=[{"name": "twice", "expr": "x * 2"}],
        bins={"twice": {"bins": 3, "strategy": "quantile", "encode": "ordinal"}},
    )
    transform = compile_transform(infer_schema(data), spec, "regression")
    X = transform.fit_transform(data)  # the collapsed quantile bins do not warn
    assert "binned_3_quantile_ordinal__twice" in names_of(transform)
    assert X.shape == (100, 2)


def test_bins_of_a_categorical_column_are_refused(frame: pd.DataFrame) -> None:
    with pytest.raises(SpecError, match="features.bins: 'city' is categorical"):
        compile_transform(infer_schema(frame), features(bins={"city": {}}), "regression")


def test_custom_function_by_import_path(frame: pd.DataFrame) -> None:
    data = frame[["amount", "visits"]]
    spec = features(
        custom=[
            {"function": "tests.features.custom_funcs:add_one", "columns": ["visits"]},
            {
                "function": "tests.features.custom_funcs.product",
                "columns": ["amount", "visits"],
                "name_prefix": "mult",
            },
        ],
        numeric={"impute": "none", "scale": "none"},
    )
    transform = compile_transform(infer_schema(data), spec, "regression")
    X = transform.fit_transform(data)
    assert names_of(transform)[-2:] == ["custom_add_one__visits_plus_one", "mult__x0"]
    np.testing.assert_array_equal(X[:, -2], data["visits"].to_numpy() + 1)
    np.testing.assert_array_equal(X[:, -1], (data["amount"] * data["visits"]).to_numpy())
    assert "tests.features.custom_funcs:add_one" in repr(transform)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("tests.features.no_such_module:add_one", "module 'tests.features.no_such_module'"),
        ("tests.features.custom_funcs:add_two", "has no 'add_two'"),
        ("tests.features.custom_funcs:NOT_A_FUNCTION", "names a int, not a function"),
    ],
)
def test_bad_custom_function_path(frame: pd.DataFrame, path: str, why: str) -> None:
    spec = features(custom=[{"function": path, "columns": ["visits"]}])
    with pytest.raises(SpecError, match=why) as info:
        compile_transform(infer_schema(frame), spec, "regression")
    assert path in str(info.value)


def test_overrides(frame: pd.DataFrame) -> None:
    spec = features(
        overrides={
            "visits": {"encoding": "onehot"},  # a numeric code read as categories
            "amount": {"scale": "none", "impute": "constant"},
            "member": {"drop": True},
        }
    )
    transform = compile_transform(infer_schema(frame), spec, "regression")
    X = transform.fit_transform(frame)
    names = names_of(transform)
    assert not any("member" in n for n in names)
    assert {f"categorical__visits_{v}" for v in range(4)} < set(names)
    amount = column(transform, X, "numeric_constant_none__amount")
    assert np.array_equal(amount, frame["amount"].fillna(0.0).to_numpy())


def test_override_errors(frame: pd.DataFrame) -> None:
    signature = infer_schema(frame)
    cases = [
        ({"city": {"scale": "robust"}}, "'scale' does not apply to a categorical column"),
        ({"city": {"impute": "median"}}, "impute 'median' does not apply"),
        ({"note": {"encoding": "onehot"}}, "'encoding' does not apply to a text column"),
        ({"nope": {"drop": True}}, "features.overrides: 'nope' is not a feature column"),
    ]
    for overrides, message in cases:
        with pytest.raises(SpecError, match=message):
            compile_transform(signature, features(overrides=overrides), "regression")


def test_every_column_dropped_is_a_data_error() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(DataError, match="no usable feature column"):
        compile_transform(
            infer_schema(frame), features(overrides={"x": {"drop": True}}), "regression"
        )


def test_unknown_task() -> None:
    with pytest.raises(SpecError, match="unknown task 'ranking'"):
        compile_transform(Schema(()), FeaturesSpec(), "ranking")


def selection_frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    n = 300
    signal = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "signal": signal,
            "signal_copy": signal * 2 + rng.normal(scale=0.01, size=n),
            "weak": signal + rng.normal(scale=2, size=n),
            **{f"noise{i}": rng.normal(size=n) for i in range(4)},
        }
    )
    return frame, (signal > 0).astype(int)


def test_selection_mutual_info_keeps_k() -> None:
    frame, y = selection_frame()
    spec = features(selection={"method": "mutual_info", "k": 2})
    transform = compile_transform(infer_schema(frame), spec, "classification")
    X = transform.fit_transform(frame, y)
    assert X.shape == (len(frame), 2)
    assert names_of(transform) == ["numeric__signal", "numeric__signal_copy"]


def test_selection_correlation_drops_one_of_a_pair() -> None:
    frame, y = selection_frame()
    spec = features(selection={"method": "correlation", "threshold": 0.9})
    transform = compile_transform(infer_schema(frame), spec, "classification").fit(frame, y)
    names = names_of(transform)
    assert "numeric__signal" in names and "numeric__signal_copy" not in names
    assert len(names) == frame.shape[1] - 1


def test_selection_importance_keeps_the_informative() -> None:
    frame, y = selection_frame()
    spec = features(selection={"method": "importance", "k": 3})
    transform = compile_transform(infer_schema(frame), spec, "classification").fit(frame, y)
    assert set(names_of(transform)) == {"numeric__signal", "numeric__signal_copy", "numeric__weak"}


FULL_SPEC = {
    "derived": [{"name": "per_visit", "expr": "amount / (visits + 1)"}],
    "bins": {"amount": {"bins": 3}},
    "custom": [{"function": "tests.features.custom_funcs:add_one", "columns": ["visits"]}],
    "overrides": {"visits": {"encoding": "ordinal"}},
    "categorical": {"encoding": "target"},
    "text": {"max_features": 10},
    "selection": {"method": "importance"},
}


def test_fitted_transform_pickles_and_transforms_identically(
    frame: pd.DataFrame, target: np.ndarray
) -> None:
    transform = compile_transform(infer_schema(frame), features(**FULL_SPEC), "classification")
    transform.fit(frame, target)
    before = transform.transform(frame)
    data = pickle.dumps(transform)
    assert pickle.dumps(transform) == data  # the same fitted object gives the same bytes
    served = pickle.loads(data)
    after = served.transform(frame)
    assert after.dtype == np.float64 and np.array_equal(before, after)
    assert np.array_equal(pickle.loads(data).transform(frame.iloc[:1]), before[:1])
    assert names_of(served) == names_of(transform)


def test_transform_clones(frame: pd.DataFrame, target: np.ndarray) -> None:
    transform = compile_transform(infer_schema(frame), features(**FULL_SPEC), "classification")
    copy = clone(transform)
    assert copy.get_params().keys() == transform.get_params().keys()
    fitted = clone(transform).fit(frame, target)
    refit = clone(fitted).fit(frame, target)
    assert np.array_equal(fitted.transform(frame), refit.transform(frame))


@pytest.fixture(scope="module")
def bank(bank_csv: Path) -> pd.DataFrame:
    frame, _ = clean_column_names(read_source(bank_csv))
    return frame.sample(4000, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def bike(bike_csv: Path) -> pd.DataFrame:
    frame, _ = clean_column_names(read_source(bike_csv))
    return frame.sample(3000, random_state=0).reset_index(drop=True)


def test_bank_end_to_end(bank: pd.DataFrame) -> None:
    columns = [c for c in bank.columns if c not in ("subscribed", "duration")]
    kinds = {"month": ColumnKind.CATEGORICAL, "default": ColumnKind.BOOLEAN}
    signature = infer_schema(bank[columns], kinds=kinds)
    spec = features(
        derived=[{"name": "balance_per_campaign", "expr": "balance / (campaign + 1)"}],
        categorical={"encoding": "target"},
        bins={"age": {"bins": 5}},
        overrides={"pdays": {"scale": "robust"}},
    )
    model = Pipeline(
        [
            ("transform", compile_transform(signature, spec, "classification")),
            ("model", HistGradientBoostingClassifier(max_iter=60, random_state=0)),
        ]
    )
    train, test = bank.iloc[:3000], bank.iloc[3000:]
    model.fit(train[columns], train["subscribed"])
    auc = roc_auc_score(test["subscribed"], model.predict_proba(test[columns])[:, 1])
    assert auc > 0.65
    names = names_of(model[0])
    assert "numeric__balance_per_campaign" in names and "categorical__month" in names
    served = pickle.loads(pickle.dumps(model))
    assert np.array_equal(served.predict_proba(test[columns]), model.predict_proba(test[columns]))


def test_bike_end_to_end(bike: pd.DataFrame) -> None:
    leaks = ("cnt", "casual", "registered", "column_0", "x", "instant")
    columns = [c for c in bike.columns if c not in leaks]
    signature = infer_schema(bike[columns])
    assert signature.column("dteday").kind is ColumnKind.DATETIME  # m/d/yy text
    spec = features(
        overrides={"hr": {"encoding": "onehot"}, "hr2": {"drop": True}},
        derived=[{"name": "feels_gap", "expr": "atemp - temp"}],
        selection={"method": "correlation"},
    )
    model = Pipeline(
        [
            ("transform", compile_transform(signature, spec, "regression")),
            ("model", HistGradientBoostingRegressor(max_iter=60, random_state=0)),
        ]
    )
    train, test = bike.iloc[:2400], bike.iloc[2400:]
    model.fit(train[columns], train["cnt"])
    assert model.score(test[columns], test["cnt"]) > 0.7
    names = names_of(model[0])
    assert "datetime__dteday_year" in names and "categorical__hr_17" in names
    assert "numeric__atemp" not in names or "numeric__temp" not in names  # |r| > 0.95
