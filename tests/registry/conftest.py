"""Projects on samples of the real data sets, and bundles fitted from them."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from loopml.data.ingest import clean_column_names
from loopml.features.compile import compile_transform
from loopml.model.bundle import ModelBundle
from loopml.service import ProjectService, init_project
from loopml.spec import load_spec
from loopml.train.search import fit_default
from loopml.train.train import infer_signature

BIKE_DROP = ["Unnamed: 0", "X", "instant", "dteday", "casual", "registered"]


def write_project(
    tmp_path: Path, frame: pd.DataFrame, target: str, exclude: list[str], **spec: object
) -> Path:
    """A project on ``frame`` (data/data.csv) with no search: one linear fit per run."""
    project = tmp_path / "proj"
    (project / "data").mkdir(parents=True)
    frame.to_csv(project / "data" / "data.csv", index=False)
    init_project("data/data.csv", target, project, name="bank", exclude=exclude)
    path = project / "loopml.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"]["search"].update(trials=0)
    data["models"]["candidates"] = ["linear"]
    data.update(spec)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return project


def bank_sample(bank_csv: Path, rows: int = 1500) -> pd.DataFrame:
    return pd.read_csv(bank_csv).sample(rows, random_state=7)


@pytest.fixture
def bank_dir(tmp_path: Path, bank_csv: Path) -> Path:
    return write_project(tmp_path, bank_sample(bank_csv), "subscribed ", ["duration"])


@pytest.fixture
def trained(bank_dir: Path) -> Iterator[ProjectService]:
    """The bank project after one `loopml run`: bank@1, the champion when the gate says go."""
    service = ProjectService.open(bank_dir)
    service.run()
    yield service
    service.close()


def rows(project: Path, n: int = 300) -> pd.DataFrame:
    """The first ``n`` rows of the project's data, with cleaned column names."""
    frame, _ = clean_column_names(pd.read_csv(project / "data" / "data.csv", nrows=n))
    return frame


def fit_kind(project: Path, kind: str) -> tuple[ModelBundle, pd.DataFrame]:
    """Fit ``kind`` with its default parameters on the project's data; also the rows."""
    spec = load_spec(project / "loopml.yaml")
    frame, _ = clean_column_names(pd.read_csv(project / "data" / "data.csv"))
    signature = infer_signature(frame, spec)
    make = functools.partial(
        compile_transform, signature, spec.features, spec.problem.task, random_state=0
    )
    bundle = fit_default(kind, frame, spec, make, signature, n_threads=1)
    return bundle, frame


def bike_frame(bike_csv: Path, rows: int = 1500) -> pd.DataFrame:
    frame = pd.read_csv(bike_csv).sample(rows, random_state=3)
    return frame.drop(columns=[c for c in BIKE_DROP if c in frame.columns])
