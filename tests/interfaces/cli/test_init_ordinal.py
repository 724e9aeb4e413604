"""`loopml init` on the churn data infers its ordered scales, and the loop uses them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from tests.helpers import edit_spec
from typer.testing import CliRunner

from loopml import load_model
from loopml.domain import ColumnKind
from loopml.interfaces.cli.main import app

SATISFACTION = ["very low", "low", "medium", "high", "very high"]
CONTRACT = ["Month-to-month", "One year", "Two year"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_init_infers_ordinal_columns_and_the_model_codes_them_in_order(
    tmp_path: Path, churn_csv: Path
) -> None:
    pd.read_csv(churn_csv, nrows=800).to_csv(tmp_path / "churn.csv", index=False)
    result = invoke("init", "churn.csv", "--target", "churned", "-x", "Customer ID",
                    "-C", str(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load((tmp_path / "loopml.yaml").read_text())
    columns = spec["data"]["columns"]
    assert columns["satisfaction"] == {"kind": "ordinal", "order": SATISFACTION}
    assert columns["contract"] == {"kind": "ordinal", "order": CONTRACT}
    assert columns["plan"] == "categorical" and columns["region"] == "categorical"
    schema = yaml.safe_load((tmp_path / "schema.yaml").read_text())["columns"]
    assert schema["satisfaction"]["kind"] == "ordinal"
    assert schema["satisfaction"]["categories"] == SATISFACTION

    def shrink(spec: dict) -> None:
        spec["models"]["search"].update(trials=1, folds=2)
        spec["models"]["candidates"] = ["linear"]

    edit_spec(tmp_path, shrink)
    result = invoke("run", "-C", str(tmp_path))
    assert result.exit_code in (0, 1), result.output  # 1: the gate may say no
    name = spec["name"]
    loaded = load_model(f"{name}@1", tmp_path)
    signature = loaded.bundle.signature
    assert signature.column("satisfaction").kind is ColumnKind.ORDINAL
    assert signature.column("satisfaction").categories == tuple(SATISFACTION)
    columns_step = loaded.bundle.model_pipeline.steps[0][1].named_steps["columns"]
    encoder = columns_step.named_transformers_["ordinal"].named_steps["encode"]
    assert [list(c) for c in encoder.categories_] == [CONTRACT, SATISFACTION]
