"""Labelling: rules, the labelling-file round trip, and the label source of every row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.data.ingest import clean_column_names, read_source
from loopml.data.labels import (
    LABEL_SOURCE,
    LABELLED_AT,
    apply_label_rules,
    apply_manual_labels,
    export_unlabelled,
    label_lineage,
    read_label_file,
)
from loopml.errors import DataError
from loopml.spec.quality import LabelRule, LabelsSpec

WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def calls(bank_csv: Path) -> pd.DataFrame:
    """300 bank calls with a call_id key; the label of every 10th call is unknown."""
    frame, _ = clean_column_names(read_source(bank_csv))
    frame = frame.head(300).copy()
    frame.insert(0, "call_id", [f"c{i:04d}" for i in range(300)])
    frame["subscribed"] = frame["subscribed"].astype(float)
    frame.loc[frame.index % 10 == 0, "subscribed"] = np.nan
    return frame


RULES = LabelsSpec(
    rules=[
        LabelRule(name="long_call", when="duration > 600", label=1),
        LabelRule(name="short_call", when="duration < 100", label=0),
        LabelRule(name="also_short", when="duration < 150", label=0),
    ]
).rules


def test_rules_fill_only_missing_labels_first_match_wins(calls: pd.DataFrame) -> None:
    out, counts = apply_label_rules(calls, "subscribed", RULES)
    missing = calls["subscribed"].isna()
    long_ = missing & (calls["duration"] > 600)
    short = missing & (calls["duration"] < 100)
    also = missing & ~short & (calls["duration"] < 150) & ~long_
    assert counts == {
        "long_call": int(long_.sum()),
        "short_call": int(short.sum()),
        "also_short": int(also.sum()),
    }
    assert sum(counts.values()) > 0 and counts["also_short"] > 0
    assert (out.loc[long_, "subscribed"] == 1).all() and (out.loc[short, "subscribed"] == 0).all()
    assert out.loc[~missing, "subscribed"].equals(calls.loc[~missing, "subscribed"])
    assert set(out.loc[~missing, LABEL_SOURCE]) == {"data"}
    assert set(out.loc[long_, LABEL_SOURCE]) == {"rule:long_call"}
    assert set(out.loc[also, LABEL_SOURCE]) == {"rule:also_short"}
    lineage = label_lineage(out)
    assert lineage["data"] == 270
    assert lineage["unlabelled"] == 30 - sum(counts.values())
    assert sum(lineage.values()) == 300
    assert LABEL_SOURCE not in calls.columns  # the input is not changed


def test_rule_errors(calls: pd.DataFrame) -> None:
    bad = [LabelRule(name="r", when="durration > 1", label=1)]
    with pytest.raises(DataError, match=r"data\.labels\.rules\[0\]\.when: .*'durration'"):
        apply_label_rules(calls, "subscribed", bad)
    text = [LabelRule(name="r", when="duration > 600", label="yes")]
    with pytest.raises(DataError, match="label 'yes' does not fit target 'subscribed'"):
        apply_label_rules(calls, "subscribed", text)
    with pytest.raises(ValueError, match="rule names must be unique"):
        LabelsSpec(rules=[RULES[0], RULES[0]])


def test_export_and_import_round_trip(tmp_path: Path, calls: pd.DataFrame) -> None:
    ruled, counts = apply_label_rules(calls, "subscribed", RULES)
    path = tmp_path / "to_label.csv"
    written = export_unlabelled(ruled, "subscribed", ["call_id"], path)
    assert written == label_lineage(ruled)["unlabelled"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["to_label.csv"]  # no temporary file
    exported = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(exported.columns[:3]) == ["call_id", "subscribed", "age"]
    assert LABEL_SOURCE not in exported.columns
    assert (exported["subscribed"] == "").all()

    exported["subscribed"] = ["1", "0"] * (written // 2) + ["1"] * (written % 2)
    exported.loc[0, "subscribed"] = ""  # not labelled yet: ignored
    exported.to_csv(path, index=False)
    labels = read_label_file(path, ["call_id"], "subscribed")
    assert len(labels) == written - 1 and labels.index[0] == 3  # lines of the file
    out, applied, unknown = apply_manual_labels(
        ruled, "subscribed", ["call_id"], labels, "ana", WHEN
    )
    assert (applied, unknown) == (written - 1, 0)
    manual = out[LABEL_SOURCE] == "manual:ana"
    assert manual.sum() == written - 1
    assert (out.loc[manual, LABELLED_AT] == pd.Timestamp(WHEN)).all()
    assert out.loc[~manual, LABELLED_AT].isna().all()
    assert label_lineage(out) == {
        "data": 270,
        **{f"rule:{name}": n for name, n in counts.items() if n},
        "manual:ana": written - 1,
        "unlabelled": 1,
    }
    assert out["subscribed"].dtype == float


def test_manual_labels_override_rules_not_data(calls: pd.DataFrame) -> None:
    ruled, _ = apply_label_rules(calls, "subscribed", RULES)
    rule_row = ruled.index[ruled[LABEL_SOURCE].str.startswith("rule:", na=False)][0]
    data_row = ruled.index[ruled[LABEL_SOURCE] == "data"][0]
    keys = ruled.loc[[rule_row, data_row], "call_id"].tolist()
    labels = pd.DataFrame({"call_id": [*keys, "c9999"], "subscribed": ["1", "1", "0"]})
    eastern = datetime(2024, 3, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))
    out, applied, unknown = apply_manual_labels(
        ruled, "subscribed", ["call_id"], labels, "bob", eastern
    )
    assert (applied, unknown) == (1, 1)
    assert out.loc[rule_row, LABEL_SOURCE] == "manual:bob"
    assert out.loc[rule_row, LABELLED_AT] == pd.Timestamp(WHEN)  # stored in UTC
    assert out.loc[data_row, LABEL_SOURCE] == "data"
    forced, applied, _ = apply_manual_labels(
        ruled, "subscribed", ["call_id"], labels, "bob", WHEN, override=True
    )
    assert applied == 2 and forced.loc[data_row, "subscribed"] == 1.0
    assert forced.loc[data_row, LABEL_SOURCE] == "manual:bob"


def test_keys_are_compared_as_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [7, 8, 9], "region": ["eu", "us", "eu"], "y": ["a", None, None]})
    path = tmp_path / "labels.csv"
    path.write_text("id,region,y\n8.0, us ,b\n9,eu,c\n9,us,d\n")
    labels = read_label_file(path, ["id", "region"], "y")
    out, applied, unknown = apply_manual_labels(frame, "y", ["id", "region"], labels, "cy", WHEN)
    assert (applied, unknown) == (2, 1)
    assert out["y"].tolist() == ["a", "b", "c"]
    assert out[LABEL_SOURCE].tolist() == ["data", "manual:cy", "manual:cy"]


def test_duplicate_keys_in_the_label_file(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("call_id,subscribed\nc1,1\nc2,0\n c1 ,0\nc3,\nc3,\n")  # c3: no label
    with pytest.raises(DataError, match=r"key call_id='c1' appears 2 times \(lines 2, 4\)"):
        read_label_file(path, ["call_id"], "subscribed")
    path.write_text("call_id,subscribed\n7,1\n7.0,0\n")
    with pytest.raises(DataError, match="key call_id='7' appears 2 times"):
        read_label_file(path, ["call_id"], "subscribed")


def test_label_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    with pytest.raises(DataError, match="no such labelling file"):
        read_label_file(path, ["id"], "y")
    path.write_text("key,y\n1,1\n")
    with pytest.raises(DataError, match="no column 'id'; a labelling file needs the key"):
        read_label_file(path, ["id"], "y")
    path.write_text("id,y\n,1\n")
    with pytest.raises(DataError, match=r"the key \(id\) is empty in 1 rows, e.g. line 2"):
        read_label_file(path, ["id"], "y")
    frame = pd.DataFrame({"id": [1, 2], "y": [None, None]})
    path.write_text("id,y\n1,abc\n")
    labels = read_label_file(path, ["id"], "y")
    frame["y"] = frame["y"].astype(float)
    with pytest.raises(DataError, match="label 'abc' does not fit target 'y'"):
        apply_manual_labels(frame, "y", ["id"], labels, "ana", WHEN)
    with pytest.raises(ValueError, match="say who labelled"):
        apply_manual_labels(frame, "y", ["id"], labels, " ", WHEN)


def test_export_needs_a_key_that_identifies_rows(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [1, 2, 2], "y": [None, 1.0, None]})
    with pytest.raises(DataError, match=r"key id='2' appears 2 times \(rows 1, 2\)"):
        export_unlabelled(frame, "y", ["id"], tmp_path / "x.csv")
    with pytest.raises(DataError, match="no column 'call_id'"):
        export_unlabelled(frame, "y", ["call_id"], tmp_path / "x.csv")
    with pytest.raises(DataError, match="no key columns given: set data.key"):
        export_unlabelled(frame, "y", [], tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_label_lineage_without_a_source_column() -> None:
    frame = pd.DataFrame({"y": [1, None, 0]})
    assert label_lineage(frame, "y") == {"data": 2, "unlabelled": 1}
    with pytest.raises(DataError, match="run apply_label_rules first"):
        label_lineage(frame)
