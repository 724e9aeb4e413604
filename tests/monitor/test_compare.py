"""`loopml.drift`: the right test per column type and size, every injected drift found,
no false alarm, and clear answers for empty, tiny, all-missing and unreadable input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.errors import DataError
from loopml.monitor.compare import drift

LABELS = np.array(["a", "b", "c", "d"], dtype=object)


def frame(n: int, seed: int, *, shift: float = 0.0, shares=(0.4, 0.3, 0.2, 0.1)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "normal": rng.normal(50, 10, n) + shift * 10,
            "skewed": rng.lognormal(3, 0.5, n),
            "plan": rng.choice(LABELS, n, p=shares),
            "active": rng.random(n) < 0.5,
        }
    )


def verdicts(check) -> dict[str, tuple[str, bool]]:
    return {f.feature: (f.method, f.drifted) for f in check.features}


def test_large_samples_use_effect_sizes_and_find_a_tenth_of_a_std() -> None:
    reference = frame(20_000, 0)
    current = frame(20_000, 1, shift=0.1, shares=(0.36, 0.32, 0.22, 0.1))
    check = loopml.drift(reference, current)
    assert verdicts(check) == {
        "normal": ("wasserstein", True),
        "skewed": ("wasserstein", False),
        "plan": ("jensenshannon", True),
        "active": ("jensenshannon", False),
    }
    normal = check.features[0]
    assert normal.score == pytest.approx(0.1, abs=0.02)  # in reference standard deviations
    assert check.alert and check.drifted_features == ["normal", "plan"]


def test_the_same_population_raises_no_alarm_at_any_size() -> None:
    for n in (200, 5000, 30_000):
        check = drift(frame(n, 2), frame(n, 3))
        assert not check.alert, (n, check.to_dict())


def test_small_samples_use_p_value_tests() -> None:
    check = drift(frame(3000, 0), frame(400, 1, shift=0.6, shares=(0.1, 0.2, 0.3, 0.4)))
    assert verdicts(check) == {
        "normal": ("ks", True),
        "skewed": ("ks", False),
        "plan": ("chisquare", True),
        "active": ("chisquare", False),
    }
    assert check.features[0].score < 0.01  # a p-value: drift below the threshold


def test_thresholds_and_column_types_can_be_set() -> None:
    reference, current = frame(20_000, 0), frame(20_000, 1, shift=0.1)
    loose = drift(reference, current, thresholds={"wasserstein": 0.2})
    assert not loose.features[0].drifted and loose.features[0].threshold == 0.2
    only = drift(reference, current, columns={"normal": "categorical"})
    assert [f.feature for f in only.features] == ["normal"]
    assert only.features[0].column_type == "categorical"
    with pytest.raises(DataError, match="unknown drift test kolmogorov"):
        drift(reference, current, thresholds={"kolmogorov": 0.1})
    with pytest.raises(DataError, match="invalid drift threshold"):
        drift(reference, current, thresholds={"ks": 2.0})


def test_an_empty_current_table_is_reported_not_judged() -> None:
    check = drift(frame(500, 0), frame(500, 1).iloc[:0])
    assert check.current_rows == 0 and not check.alert
    assert all(f.note == "no rows in this window" and math.isnan(f.score) for f in check.features)
    assert check.to_dict()["columns"][0]["score"] is None


def test_a_single_row_is_measured_without_crashing() -> None:
    check = drift(frame(500, 0), frame(500, 1).iloc[:1])
    assert check.current_rows == 1
    assert all(not math.isnan(f.score) for f in check.features)


def test_a_feature_that_is_all_missing_has_drifted_and_says_why() -> None:
    current = frame(800, 1)
    current["normal"] = np.nan
    current["plan"] = None
    check = drift(frame(800, 0), current)
    by_name = {f.feature: f for f in check.features}
    for name in ("normal", "plan"):
        assert by_name[name].drifted
        assert by_name[name].note == "all 800 value(s) missing (reference: 0% missing)"
    assert not by_name["skewed"].drifted


def test_chunked_parquet_gives_the_same_answer_as_a_frame(tmp_path: Path) -> None:
    reference, current = frame(12_000, 0), frame(15_000, 1, shift=0.2)
    current.to_parquet(tmp_path / "current.parquet", row_group_size=1000)
    reference.to_csv(tmp_path / "reference.csv", index=False)
    whole = drift(reference, current)
    chunked = drift(tmp_path / "reference.csv", tmp_path / "current.parquet", chunk_rows=999)
    assert chunked.current_rows == 15_000
    for a, b in zip(whole.features, chunked.features, strict=True):
        assert (a.feature, a.method, a.drifted) == (b.feature, b.method, b.drifted)
        assert a.score == pytest.approx(b.score, rel=1e-6, abs=1e-9)


def test_unreadable_input_names_the_file_and_the_column(tmp_path: Path) -> None:
    reference = frame(100, 0)
    reference.to_csv(tmp_path / "ref.csv", index=False)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"current file .*notes.txt: read .csv or .parquet"):
        drift(tmp_path / "ref.csv", tmp_path / "notes.txt")
    (tmp_path / "blank.csv").write_text("")
    with pytest.raises(DataError, match=r"blank.csv is empty: not even a header row"):
        drift(tmp_path / "ref.csv", tmp_path / "blank.csv")
    with pytest.raises(DataError, match=r"current file .*nothing.csv does not exist"):
        drift(tmp_path / "ref.csv", tmp_path / "nothing.csv")
    with pytest.raises(DataError, match="the current data has no column 'plan'"):
        drift(reference, reference.drop(columns="plan"))
    text = reference.assign(normal="high")
    with pytest.raises(DataError, match="column 'normal' of the current data should be numeric"):
        drift(reference, text)
    with pytest.raises(DataError, match="reference frame has no rows"):
        drift(reference.iloc[:0], reference)
