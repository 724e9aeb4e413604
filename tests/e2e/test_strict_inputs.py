"""Strict inputs on the churn data: batch scoring, ``load_model`` and the server check
rows against the schema alike (null where schema.yaml says ``nullable: false``, values the
cleaning cannot read, unseen categories), refuse or impute as the spec says, and report
every problem by row, column, rule and value."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from tests.helpers import edit_spec
from typer.testing import CliRunner

import loopml
from loopml.errors import SchemaViolation
from loopml.interfaces.cli.main import app
from loopml.model.checks import InputWarning
from loopml.service import ProjectService, init_project

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def churn_project(tmp_path_factory: pytest.TempPathFactory, churn_csv: Path) -> Path:
    """A churn model trained on 1,500 rows; support_calls (no blank in them) is
    ``nullable: false`` in the schema.yaml the first run writes."""
    folder = tmp_path_factory.mktemp("churn")
    lines = churn_csv.read_text().splitlines(keepends=True)
    (folder / "data").mkdir()
    (folder / "data" / "train.csv").write_text("".join(lines[:1501]))
    init_project("data/train.csv", "churned", folder, name="churn", exclude=["Customer ID"])

    def quick(spec: dict[str, Any]) -> None:
        spec["models"]["search"].update(trials=0)
        spec["models"]["candidates"] = ["hist_gradient_boosting"]
        spec["problem"]["success_criteria"] = []
        spec["evaluation"] = {**spec.get("evaluation", {}), "beat_champion": None}

    edit_spec(folder, quick)
    service = ProjectService.open(folder)
    try:
        service.run()
    finally:
        service.close()
    schema = yaml.safe_load((folder / "schema.yaml").read_text())
    assert schema["columns"]["support_calls"]["nullable"] is False
    return folder


def bad_rows(folder: Path) -> pd.DataFrame:
    """Five rows the model never saw: 'n/a' in a non-nullable numeric column, an unseen
    plan, a blank in that numeric column, text that is not a number, and a clean row."""
    rows = pd.read_csv(folder / "data" / "train.csv", dtype=str, keep_default_na=False).tail(5)
    rows = rows.reset_index(drop=True)
    rows.loc[0, "support_calls"] = "n/a"
    rows.loc[1, "plan"] = "platinum"
    rows.loc[2, "support_calls"] = ""
    rows.loc[3, "support_calls"] = "forty"
    return rows


def test_predict_refuses_bad_rows_names_them_and_exits_1(churn_project: Path) -> None:
    bad_rows(churn_project).to_csv(churn_project / "bad.csv", index=False)
    result = runner.invoke(
        app,
        ["predict", "bad.csv", "scored.csv", "--errors", "errors.csv", "-C", str(churn_project)],
    )
    assert result.exit_code == 1, result.output
    assert "3 of 5 row(s) refused" in result.output
    assert "support_calls: 2 refused (null" in result.output
    assert "plan: 1 warned (unseen_category" in result.output and "'platinum'" in result.output
    errors = pd.read_csv(churn_project / "errors.csv", keep_default_na=False)
    found = set(zip(errors["row"], errors["column"], errors["rule"], errors["action"], strict=True))
    assert found == {
        (0, "support_calls", "null", "refused"),
        (1, "plan", "unseen_category", "warned"),
        (2, "support_calls", "null", "refused"),
        (3, "support_calls", "type", "refused"),
    }
    assert errors.loc[errors["rule"] == "type", "value"].tolist() == ["'forty'"]
    scored = pd.read_csv(churn_project / "scored.csv")
    assert scored["prediction"].isna().tolist() == [True, False, True, True, False]


def test_impute_scores_every_row_and_warns_with_exit_0(churn_project: Path) -> None:
    edit_spec(churn_project, lambda s: s.setdefault("serve", {}).update(invalid="impute"))
    try:
        bad_rows(churn_project).to_csv(churn_project / "bad.csv", index=False)
        result = runner.invoke(app, ["predict", "bad.csv", "scored.csv", "-C", str(churn_project)])
        assert result.exit_code == 0, result.output
        assert "support_calls: 2 imputed (null" in result.output
        assert "support_calls: 1 imputed (type" in result.output
        assert "wrote 5 predictions" in result.output
        assert pd.read_csv(churn_project / "scored.csv")["prediction"].notna().all()
    finally:
        edit_spec(churn_project, lambda s: s["serve"].update(invalid="refuse"))


def test_load_model_refuses_and_warns_as_batch_does(churn_project: Path) -> None:
    model = loopml.load_model("churn@1", project_dir=str(churn_project))
    rows = bad_rows(churn_project)
    with pytest.raises(SchemaViolation, match=r"refuses 3 of 5 row\(s\) \(rows \[0, 2, 3\]\)"):
        model.predict(rows)
    with pytest.warns(InputWarning, match="plan: 1 warned"):
        model.predict(rows.iloc[[1, 4]])
    assert model.last_report is not None and len(model.last_report.problems) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(rows.iloc[[4]])  # a clean row: no warning


def rest_records(folder: Path) -> list[dict[str, Any]]:
    """The bad rows as a client sends them: a null support_calls, an unseen plan."""
    rows = pd.read_csv(folder / "data" / "train.csv").tail(4).drop(columns=["churned"])
    records = rows.astype(object).where(rows.notna(), None).to_dict(orient="records")
    records[0]["support_calls"] = None
    records[1]["plan"] = "platinum"
    return records


def post(folder: Path, records: list[dict[str, Any]]) -> tuple[Any, str]:
    from starlette.testclient import TestClient

    service = ProjectService.open(folder)
    try:
        app, _ = service.serving_app("churn@1")
        with TestClient(app) as client:
            response = client.post("/predict", json={"rows": records})
            metrics = client.get("/metrics").text
    finally:
        service.close()
    return response, metrics


def test_the_server_refuses_and_counts_as_batch_does(churn_project: Path) -> None:
    records = rest_records(churn_project)
    response, _ = post(churn_project, records)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"row": 0, "field": "support_calls", "message": "may not be null"}
    ]
    response, metrics = post(churn_project, records[1:])
    assert response.status_code == 200, response.text
    assert response.json()["input_problems"] == [
        {"row": 0, "column": "plan", "rule": "unseen_category", "value": "platinum",
         "action": "warned"}
    ]  # fmt: skip
    assert (
        'loopml_input_problems_total{action="warned",column="plan",model="churn",'
        'rule="unseen_category",version="1"} 1.0'
    ) in metrics


def test_the_unknown_policy_and_impute_apply_to_the_server(churn_project: Path) -> None:
    records = rest_records(churn_project)
    edit_spec(churn_project, lambda s: s.setdefault("serve", {}).update(unknown={"plan": "error"}))
    try:
        response, _ = post(churn_project, records[1:])
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["rule"] == "unseen_category" and error["value"] == "platinum"
        edit_spec(churn_project, lambda s: s["serve"].update(invalid="impute", unknown="other"))
        records[2]["support_calls"] = "forty"  # a 422 under invalid: refuse
        response, _ = post(churn_project, records)
        assert response.status_code == 200, response.text
        found = {(p["column"], p["rule"], p["action"]) for p in response.json()["input_problems"]}
        assert found == {
            ("support_calls", "null", "imputed"),
            ("support_calls", "type", "imputed"),
            ("plan", "unseen_category", "counted"),
        }
    finally:
        edit_spec(churn_project, lambda s: s["serve"].update(invalid="refuse", unknown="warn"))
