"""One model from a source record to a prediction: REST, batch scoring, ``load_model`` and
the MLflow export answer alike for the source's own rows, on every bundled data set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.helpers import edit_spec, start_serving, wait_ready
from typer.testing import CliRunner

import loopml
from loopml.interfaces.cli.main import app
from loopml.service import ProjectService, init_project

pytestmark = pytest.mark.slow
runner = CliRunner()
ROWS = 100

# name, target, excluded columns, training rows taken from the source
DATA_SETS = {
    "bank": ("subscribed ", ["duration"], 3000),
    "bike": ("cnt", ["Unnamed: 0", "X", "instant", "casual", "registered"], 3000),
    "churn": ("churned", ["Customer ID"], 6000),
}


@pytest.fixture(params=sorted(DATA_SETS))
def project(
    request: Any, tmp_path: Path, bank_csv: Path, bike_csv: Path, churn_csv: Path
) -> tuple[str, Path, Path]:
    """A trained project on a data set and a file of ``ROWS`` raw rows it never saw."""
    name = request.param
    target, exclude, rows = DATA_SETS[name]
    source = {"bank": bank_csv, "bike": bike_csv, "churn": churn_csv}[name]
    text = source.read_text().splitlines(keepends=True)
    folder = tmp_path / name
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train.csv").write_text("".join(text[: rows + 1]))
    (folder / "new.csv").write_text("".join([text[0], *text[-ROWS:]]))
    init_project("data/train.csv", target, folder, name=name, exclude=exclude)

    def quick(spec: dict[str, Any]) -> None:
        spec["models"]["search"].update(trials=0)
        spec["models"]["candidates"] = ["hist_gradient_boosting"]
        spec["problem"]["success_criteria"] = []

    edit_spec(folder, quick)
    service = ProjectService.open(folder)
    try:
        service.run()
    finally:
        service.close()
    return name, folder, folder / "new.csv"


def rest_answers(folder: Path, records: list[dict[str, Any]], log: Path) -> dict[str, Any]:
    process, url = start_serving(folder, log)
    try:
        wait_ready(process, url, log, route="/ready")
        response = httpx.post(f"{url}/predict", json={"rows": records}, timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())
    finally:
        process.terminate()
        process.wait(timeout=30)


# bike's new rows hold months its training rows never had: scored, and warned about (by
# load_model as an InputWarning; tests/e2e/test_strict_inputs.py tests that part)
@pytest.mark.filterwarnings("ignore::loopml.model.checks.InputWarning")
def test_rest_batch_library_and_export_answer_alike_for_raw_rows(
    project: tuple[str, Path, Path], tmp_path: Path
) -> None:
    name, folder, new = project
    target = DATA_SETS[name][0]
    raw = pd.read_csv(new).drop(columns=[target])
    records = json.loads(raw.to_json(orient="records"))  # NaN as null, as a client sends

    result = runner.invoke(app, ["predict", f"{name}@1", str(new), str(tmp_path / "out.csv"),
                                 "-C", str(folder)], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    batch = pd.read_csv(tmp_path / "out.csv")
    library = loopml.load_model(f"{name}@1", str(folder))
    served = rest_answers(folder, records, tmp_path / "serve.log")

    export = tmp_path / "mlflow"
    result = runner.invoke(app, ["export", f"{name}@1", str(export), "-C", str(folder)])
    assert result.exit_code == 0, result.output
    import mlflow.pyfunc

    exported = mlflow.pyfunc.load_model(str(export)).predict(raw)

    if library.bundle.task == "regression":
        expected = np.asarray(library.predict(records), dtype=float)
        np.testing.assert_allclose(batch["prediction"], expected, rtol=1e-9)
        np.testing.assert_allclose(served["predictions"], expected, rtol=1e-9)
        np.testing.assert_allclose(np.asarray(exported["prediction"]), expected, rtol=1e-9)
        return
    labels = [str(v) for v in library.predict(records)]
    positive = library.bundle.classes.index(library.bundle.positive_class)
    proba = library.predict_proba(records)[:, positive]
    assert [str(v) for v in batch["prediction"]] == labels
    assert [str(v) for v in served["predictions"]] == labels
    np.testing.assert_allclose(batch["probability"], proba, rtol=1e-9)
    np.testing.assert_allclose(served["probabilities"], proba, rtol=1e-9)
    np.testing.assert_allclose(np.asarray(exported["probability"]), proba, rtol=1e-9)
    assert [str(v) for v in exported["prediction"]] == labels
