"""`loopml explain MODEL ROW`: a JSON row, @file.json, or a row number of --data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.evaluate.projects import make_project, run_project
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app

ROW = {
    "age": 41,
    "default": 0,
    "balance": 1200,
    "housing": 1,
    "loan": 0,
    "day": 5,
    "month": 5,
    "campaign": 1,
    "pdays": -1,
    "previous": 0,
}


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> Path:
    frame = pd.read_csv(bank_csv).sample(n=3000, random_state=1)
    folder = make_project(
        tmp_path_factory.mktemp("explain") / "bank", frame, "subscribed ", ["duration"]
    )
    run_project(folder)
    return folder


def explained(project: Path, *args: str) -> dict:
    result = invoke("explain", "bank@1", *args, "--json", "-C", str(project))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_row_prints_contributions_that_add_up(project: Path) -> None:
    out = explained(project, json.dumps(ROW))
    assert out["model"] == "bank@1" and out["method"] == "shap"
    assert sorted(out["contributions"]) == sorted(ROW)
    total = out["base_value"] + sum(out["contributions"].values())
    assert total == pytest.approx(out["output"])
    assert out["prediction"] == int(out["probability"] >= out["threshold"])


def test_file_and_row_number_give_the_same_answer_as_the_row(project: Path) -> None:
    data = pd.read_csv(project / "data" / "data.csv")
    row = {k.strip(): v for k, v in data.iloc[7].to_dict().items()}
    (project / "row.json").write_text(json.dumps({k: row[k] for k in ROW}))
    from_file = explained(project, "@row.json")
    from_data = explained(project, "7", "--data", "data/data.csv")
    assert from_file["contributions"] == pytest.approx(from_data["contributions"])
    assert from_file["probability"] == pytest.approx(from_data["probability"])


def test_table_output_names_each_column(project: Path) -> None:
    result = invoke("explain", "bank@champion", json.dumps(ROW), "-C", str(project))
    assert result.exit_code == 0, result.output
    assert "predicts" in result.output and "base value" in result.output
    for column in ("balance", "campaign", "pdays"):
        assert column in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["7"], "--data"),
        (["99999", "--data", "data/data.csv"], "no row 99999"),
        (["{not json"], "not a valid JSON object"),
        (["@missing.json"], "missing.json"),
        (['{"age": 41}'], "balance"),
        (["age=41"], "JSON object, @file.json, or a row number"),
    ],
)
def test_bad_rows_exit_2_saying_what_is_wrong(project: Path, args: list[str], message: str) -> None:
    result = invoke("explain", "bank@1", *args, "-C", str(project))
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_unknown_model_exits_2(project: Path) -> None:
    result = invoke("explain", "bank@9", json.dumps(ROW), "-C", str(project))
    assert result.exit_code == 2 and "9" in result.output
