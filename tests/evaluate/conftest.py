"""Real lifecycle runs shared by the evaluation tests: a bank project (classification,
stratified split) and a bike project (regression, split by time), each trained once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.evaluate.projects import make_project, run_project

from loopml.service import RunSummary


@pytest.fixture(scope="session")
def bank_sample(bank_csv: Path) -> pd.DataFrame:
    """8,000 bank rows drawn at random from the whole file (it is in date order)."""
    return pd.read_csv(bank_csv).sample(n=8000, random_state=0)


@pytest.fixture(scope="session")
def bank_run(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> RunSummary:
    """The demo's project: all of bank, `init --target 'subscribed ' --exclude duration`
    and its defaults, less the search (a default HistGradientBoosting), plus two slices."""
    folder = tmp_path_factory.mktemp("evaluate") / "bank"
    changes = {"evaluation": {"slices": ["housing", "loan"]}}
    project = make_project(folder, pd.read_csv(bank_csv), "subscribed ", ["duration"], changes)
    return run_project(project)


@pytest.fixture(scope="session")
def bike_run(tmp_path_factory: pytest.TempPathFactory, bike_csv: Path) -> RunSummary:
    folder = tmp_path_factory.mktemp("evaluate") / "bike"
    frame = pd.read_csv(bike_csv).iloc[::4]
    changes = {
        "split": {"method": "time", "time_column": "dteday", "test_from": "2012-09-01"},
        "evaluation": {"slices": ["season"]},
    }
    leaky = ["casual", "registered", "instant", "X", "Unnamed: 0"]
    project = make_project(folder, frame, "cnt", leaky, changes)
    return run_project(project)
