"""`loopml.register_model`: a model fitted outside loopml, its signature from a sample,
its gate on a hold-out or on supplied metrics, external lineage, and clear refusals."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tests.helpers import edit_spec, set_criteria

import loopml
from loopml.errors import ConflictError, DataError, SpecError
from loopml.service import ProjectService

from .conftest import bank_sample, write_project

TARGET = "subscribed "  # as the file's header has it


@pytest.fixture
def bank(tmp_path: Path, bank_csv: Path) -> tuple[Path, pd.DataFrame]:
    """A bank project (criterion roc_auc >= 0.6) and its rows as the CSV holds them."""
    frame = bank_sample(bank_csv, 2000)
    project = write_project(tmp_path, frame, TARGET, ["duration"])
    set_criteria(project, [{"metric": "roc_auc", "min": 0.6}])
    return project, frame.drop(columns=["duration"])


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    X, y = frame.drop(columns=[TARGET]), frame[TARGET]
    return tuple(train_test_split(X, y, test_size=0.3, random_state=0, stratify=y))


def fitted(frame: pd.DataFrame) -> tuple[object, tuple[pd.DataFrame, ...]]:
    parts = split(frame)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    return model.fit(parts[0], parts[2]), parts


def test_a_hold_out_is_scored_for_the_gate_and_the_version_is_external(bank) -> None:
    project, frame = bank
    model, (X_train, X_test, y_train, y_test) = fitted(frame)
    version = loopml.register_model(
        model,
        sample=X_train.assign(**{TARGET: y_train}),  # the target is dropped from the signature
        holdout=(X_test, y_test),
        project_dir=str(project),
        metrics={"cv_roc_auc": 0.7},
        description="logistic regression from a notebook",
        tags={"team": "risk"},
        alias="candidate",
    )
    assert version.ref == "bank@1" and set(version.aliases) == {"champion", "candidate"}
    assert version.signature.names() == list(X_train.columns)
    expected = model.predict_proba(X_test)[:, 1]
    assert version.metrics["roc_auc"] == pytest.approx(_auc(y_test, expected))
    assert version.metrics["cv_roc_auc"] == 0.7  # supplied ones are kept beside
    lineage = version.lineage
    assert lineage["origin"] == "external" and lineage["gate"] == "go"
    assert lineage["estimator"] == "sklearn.pipeline.Pipeline"
    assert lineage["libraries"]["scikit-learn"] and lineage["python"]
    assert lineage["metrics_source"] == "holdout" and lineage["holdout_rows"] == len(X_test)
    assert lineage["tags"] == {"team": "risk"} and lineage["gate_unchecked"] == []

    service = ProjectService.open(project)
    sample = pd.read_parquet(io.BytesIO(service.artifacts.get_bytes(lineage["train_digest"])))
    assert len(sample) == len(X_train) and "subscribed" in sample.columns
    run = service.store.get_run(version.run_id)
    assert run.name == "register_model" and str(run.status) == "succeeded"
    assert set(run.outputs) == {"model", "sample", "holdout"}
    assert run.outputs["model"] == version.artifact_digest
    (gate,) = service.list_events("gate.verdict")
    assert gate.payload["verdict"] == "go" and gate.payload["metrics_source"] == "holdout"
    checks = {c["metric"] for c in gate.payload["checks"]}
    assert checks == {"roc_auc"}  # the criterion and the baseline, both on roc_auc
    assert len(gate.payload["checks"]) == 2
    loaded = loopml.load_model("bank@champion", str(project))
    assert loaded.predict_proba(X_test.head(5))[:, 1] == pytest.approx(expected[:5])
    service.close()


def test_without_a_hold_out_the_supplied_metrics_are_judged(bank) -> None:
    project, frame = bank
    model, (X_train, *_) = fitted(frame)
    passing = loopml.register_model(
        model, sample=X_train, metrics={"roc_auc": 0.71}, project_dir=str(project)
    )
    assert passing.lineage["gate"] == "go" and "champion" in passing.aliases
    assert passing.lineage["metrics_source"] == "supplied"
    assert "no hold-out" in passing.lineage["gate_unchecked"][0]

    unnamed = loopml.register_model(
        model, sample=X_train, metrics={"accuracy": 0.9}, project_dir=str(project)
    )
    assert unnamed.lineage["gate"] == "no-go" and unnamed.aliases == ()
    assert any(
        "roc_auc was not supplied in metrics= and no hold-out" in reason
        for reason in unnamed.lineage["gate_unchecked"]
    )
    service = ProjectService.open(project)
    with pytest.raises(ConflictError, match="did not pass the gate"):
        service.approve_model("bank@2", by="alice")
    assert service.load_model()[0].version == 1  # the champion stays
    service.close()


def test_approval_and_the_champion_rule_apply(bank) -> None:
    project, frame = bank

    def rules(spec: dict) -> None:
        spec["registry"] = {"require_approval": True, "approvers": ["alice"]}
        spec["evaluation"]["beat_champion"] = {"metric": "roc_auc", "by": 0.0}

    edit_spec(project, rules)
    model, (X_train, X_test, y_train, y_test) = fitted(frame)
    first = loopml.register_model(
        model, sample=X_train, holdout=(X_test, y_test), project_dir=str(project)
    )
    assert first.aliases == ("challenger",)  # waits for a named person
    service = ProjectService.open(project)
    service.approve_model("bank@1", by="alice")
    assert service.load_model()[0].version == 1
    service.close()

    weak = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    weak.fit(X_train[["age"]].assign(day=X_train["day"]), y_train)
    second = loopml.register_model(
        weak,
        sample=X_train,
        holdout=X_test.assign(**{TARGET: y_test}),  # a frame holding the target
        project_dir=str(project),
    )
    assert second.signature.names() == ["age", "day"]  # the model's feature_names_in_
    assert second.lineage["gate"] == "no-go" and second.aliases == ()
    service = ProjectService.open(project)
    gate = service.list_events("gate.verdict")[-1].payload
    assert gate["champion"]["ref"] == "bank@1" and "roc_auc" in gate["champion"]["metrics"]
    assert any("does not beat champion bank@1" in r for r in gate["reasons"])
    service.close()


def test_nulls_are_accepted_where_the_model_predicts_with_them(bank) -> None:
    project, frame = bank
    X_train, _, y_train, _ = split(frame)
    trees = HistGradientBoostingClassifier(max_iter=20).fit(X_train, y_train)
    version = loopml.register_model(
        trees, sample=X_train, metrics={"roc_auc": 0.7}, project_dir=str(project)
    )
    assert all(c.nullable for c in version.signature.columns)
    service = ProjectService.open(project)  # a bare estimator is explained by occlusion
    _, explained = service.explain(version.ref, row=X_train.iloc[0].to_dict())
    service.close()
    assert explained["method"] == "occlusion" and set(explained["contributions"]) == set(
        X_train.columns
    )
    total = explained["base_value"] + sum(explained["contributions"].values())
    assert total == pytest.approx(explained["output"])
    linear, _ = fitted(frame)
    strict = loopml.register_model(
        linear, sample=X_train, metrics={"roc_auc": 0.7}, project_dir=str(project)
    )
    assert not any(c.nullable for c in strict.signature.columns)
    age = strict.signature.column("age")
    assert age.min == X_train["age"].min() and age.max == X_train["age"].max()


def test_a_threshold_and_a_tracking_run_are_recorded(bank, monkeypatch) -> None:
    project, frame = bank
    monkeypatch.chdir(project)
    model, (X_train, X_test, _, y_test) = fitted(frame)
    with loopml.start_run("notebook") as run:
        version = loopml.register_model(
            model, sample=X_train, holdout=(X_test, y_test), threshold=0.2
        )
    assert version.lineage["training_run_id"] == run.run_id
    service = ProjectService.open(project)
    assert service.store.get_run(version.run_id).parent_run_id == run.run_id
    _, bundle = service.load_model("bank@1")
    assert bundle.threshold == 0.2
    predicted = bundle.predict(X_test).predictions
    expected = np.where(model.predict_proba(X_test)[:, 1] >= 0.2, 1, 0)
    assert list(predicted) == list(expected)
    service.close()


def test_a_regressor_in_a_regression_project(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "z": rng.normal(size=300)})
    frame["y"] = 3 * frame["x"] + rng.normal(scale=0.1, size=300)
    project = write_project(tmp_path, frame, "y", [])
    model = LinearRegression().fit(frame[["x", "z"]], frame["y"])
    version = loopml.register_model(
        model, sample=frame, holdout=frame.tail(100), project_dir=str(project)
    )
    assert version.signature.names() == ["x", "z"]
    assert version.metrics["r2"] > 0.99 and version.lineage["output_schema"]["task"] == (
        "regression"
    )
    classifier = LogisticRegression().fit(frame[["x", "z"]], frame["y"] > 0)
    with pytest.raises(SpecError, match="classification model but loopml.yaml says"):
        loopml.register_model(classifier, sample=frame, project_dir=str(project))
    with pytest.raises(DataError, match="a classifier needs predict_proba"):
        loopml.register_model(model, sample=frame, task="classification", project_dir=project)


def test_clear_refusals(bank) -> None:
    project, frame = bank
    model, (X_train, X_test, y_train, y_test) = fitted(frame)
    where = {"project_dir": str(project)}
    unfitted = make_pipeline(StandardScaler(), LogisticRegression())
    cases = [
        (dict(model=unfitted, sample=X_train), DataError, "is not fitted"),
        (dict(model=object(), sample=X_train), DataError, "has no predict method"),
        (dict(model=model, sample=X_train.head(0)), DataError, "the sample has no rows"),
        (dict(model=model, sample=X_train.values), DataError, "must be a pandas DataFrame"),
        (dict(model=model, sample=X_train.drop(columns=["age"])), DataError, r"lacks .*'age'"),
        (
            dict(model=model, sample=X_train.assign(age="forty")),
            DataError,
            "cannot predict the sample: ValueError",
        ),
        (dict(model=model, sample=X_train, positive_class="yes"), DataError, "positive class"),
        (dict(model=model, sample=X_train, threshold=1.5), DataError, "between 0 and 1"),
        (dict(model=model, sample=X_train, holdout=X_test), DataError, "no target column"),
        (dict(model=model, sample=X_train, holdout=[1]), DataError, "takes a DataFrame"),
        (dict(model=model, sample=X_train, alias="champion"), DataError, "make a version"),
        (dict(model=model, sample=X_train, alias="1x"), DataError, "not a valid alias"),
        (dict(model=model, sample=X_train, metrics={"auc": "high"}), DataError, "finite"),
        (
            dict(model=LinearRegression().fit(X_train, y_train), sample=X_train),
            SpecError,
            "regression model but loopml.yaml says problem.task: classification",
        ),
    ]
    for arguments, error, message in cases:
        model_ = arguments.pop("model")
        with pytest.raises(error, match=message):
            loopml.register_model(model_, **arguments, **where)
    service = ProjectService.open(project)
    assert service.list_models() == [] and service.list_events("gate.verdict") == []
    service.close()
    del y_test


def _auc(y: pd.Series, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))
