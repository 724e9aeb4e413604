"""Small frames and specs of the bundled data sets for the zoo and search tests."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.data.infer import infer_spec
from loopml.data.ingest import clean_column_names, read_source
from loopml.features.compile import compile_transform
from loopml.spec import ProjectSpec
from loopml.spec.models import ModelsSpec
from loopml.train.train import infer_signature


def _resource(name: str) -> Path:
    return Path(str(resources.files("loopml.resources") / name))


@functools.cache
def _bank() -> pd.DataFrame:
    return clean_column_names(read_source(_resource("bank_marketing.csv")))[0]


@functools.cache
def _bike() -> pd.DataFrame:
    return clean_column_names(read_source(_resource("bike_sharing_hourly.csv")))[0]


def bank_sample(rows: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, ProjectSpec]:
    """``rows`` random bank rows and their spec (classification, roc_auc, no duration)."""
    frame = _bank().sample(rows, random_state=seed).reset_index(drop=True)
    spec = infer_spec(frame, target="subscribed", source_path="bank.csv", column_map={}, name="b")
    data = spec.model_dump()
    data["features"]["exclude"] = [*data["features"]["exclude"], "duration"]
    return frame, ProjectSpec.model_validate(data)


def bike_sample(rows: int = 2000) -> tuple[pd.DataFrame, ProjectSpec]:
    """The first ``rows`` bike rows (in time order) and their spec (regression, rmse,
    split by time on dteday; ids and the casual/registered leak excluded)."""
    frame = _bike().head(rows).reset_index(drop=True)
    spec = infer_spec(frame, target="cnt", source_path="bike.csv", column_map={}, name="k")
    return frame, spec


def with_models(spec: ProjectSpec, **models: Any) -> ProjectSpec:
    """``spec`` with a new ``models`` section (works before and after the spec switch)."""
    return spec.model_copy(update={"models": ModelsSpec.model_validate(models)})


def transform_factory(frame: pd.DataFrame, spec: ProjectSpec) -> Any:
    """A picklable ``make_transform`` for the spec's feature columns of ``frame``."""
    return functools.partial(
        compile_transform,
        feature_signature(frame, spec),
        spec.features,
        spec.problem.task,
        random_state=42,
    )


def feature_signature(frame: pd.DataFrame, spec: ProjectSpec) -> Any:
    from loopml.domain import Schema

    signature = infer_signature(frame, spec)
    return Schema(tuple(signature.column(c) for c in spec.feature_columns))
