"""Pydantic models of the project spec. Allowed values are declared here, once."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal, Self

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_serializer,
    model_serializer,
    model_validator,
)

from loopml.domain import ColumnKind
from loopml.spec.base import Section
from loopml.spec.columns import join_columns, split_columns
from loopml.spec.evaluation import EvaluationSpec
from loopml.spec.features import FeaturesSpec
from loopml.spec.models import ModelsSpec
from loopml.spec.monitoring import MonitorSpec
from loopml.spec.quality import CleaningSpec, LabelsSpec, ValidationSpec
from loopml.spec.registry import RegistrySpec
from loopml.spec.serving import ServeSpec
from loopml.spec.sources import (
    AnySource,
    Combine,
    FileSource,
    HttpSource,
    SqlSource,
    check_unique_names,
)
from loopml.spec.splits import SplitSpec

# metric name -> True when a greater value is better
CLASSIFICATION_METRICS: dict[str, bool] = {
    "roc_auc": True,
    "pr_auc": True,
    "accuracy": True,
    "balanced_accuracy": True,
    "f1": True,
    "precision": True,
    "recall": True,
    "log_loss": False,
    "brier": False,
}
REGRESSION_METRICS: dict[str, bool] = {
    "rmse": False,
    "mae": False,
    "r2": True,
    "mape": False,
}
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


def greater_is_better(metric: str) -> bool:
    """Whether a greater value of ``metric`` is better; KeyError for unknown metrics."""
    return {**CLASSIFICATION_METRICS, **REGRESSION_METRICS}[metric]


class SuccessCriterion(Section):
    """``metric`` must reach ``min`` (or stay under ``max``) on the hold-out; or, with
    ``better_than`` (``baseline``: the class priors or the mean; ``linear``: the linear
    model fitted beside), improve on that model's value on the same hold-out by ``by``, a
    share of the way from it to a perfect score (rmse 0, roc_auc 1): ``by: 0.1`` against
    a baseline rmse of 100 asks for 90 at most; a negative ``by`` allows that much worse
    (``by: -0.02``: at most 2 % of the way worse)."""

    metric: str
    min: float | None = None
    max: float | None = None
    better_than: Literal["baseline", "linear"] | None = None
    by: float | None = Field(default=None, ge=-1.0, lt=1.0)

    @model_validator(mode="after")
    def _one_bound(self) -> Self:
        given = [self.min is not None, self.max is not None, self.better_than is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of 'min', 'max' or 'better_than'")
        return self


class Problem(Section):
    task: Literal["classification", "regression"]
    target: str
    positive_class: str | int | None = None
    primary_metric: str
    success_criteria: list[SuccessCriterion] = Field(default_factory=list)
    business_value: dict[Literal["tp", "fp", "tn", "fn"], float] | None = None
    # regression: the estimator learns log1p(target); predictions come back as expm1
    target_transform: Literal["log"] | None = None

    @model_validator(mode="after")
    def _transform_for_regression(self) -> Self:
        if self.target_transform is not None and self.task != "regression":
            raise ValueError(
                f"target_transform: {self.target_transform} applies to regression only "
                f"(this problem is {self.task}); remove it"
            )
        return self

    @property
    def metrics(self) -> dict[str, bool]:
        return CLASSIFICATION_METRICS if self.task == "classification" else REGRESSION_METRICS

    @model_validator(mode="after")
    def _known_metrics(self) -> Self:
        allowed = self.metrics
        names = [self.primary_metric] + [c.metric for c in self.success_criteria]
        for name in names:
            if name not in allowed:
                raise ValueError(
                    f"metric '{name}' does not apply to {self.task}; allowed: {', '.join(allowed)}"
                )
        return self


Source = FileSource  # the single-file form of ``data.source``
SAMPLE_MIN_ROWS = 1000


class Sample(Section):
    """Train on a seeded sample of a source larger than memory.

    The ingest step streams every file (CSV or Parquet, local or on object storage)
    ``batch_rows`` rows at a time into one Parquet snapshot in the artifact store (the
    lineage of every model names it) and hands validation, cleaning and training a
    uniform random sample of ``rows`` of its rows (all of them when it has fewer), the
    same for the same ``seed``.
    """

    rows: int = Field(ge=SAMPLE_MIN_ROWS)
    seed: int = 42
    batch_rows: int = Field(default=250_000, ge=100)


class DataSpec(Section):
    """Where the data comes from and how it is checked, cleaned and labelled.

    ``sources`` (files, SQL, HTTP APIs) are read and combined into one snapshot;
    ``source`` is the shorthand for a single file. ``key`` names the columns that identify
    a row (for diffs and labels); ``columns`` the kind of each cleaned column, an
    ordinal one perhaps with its levels (``{kind: ordinal, order: [low, high]}``, kept in
    ``orders``; see ``loopml.spec.columns``); ``schema_file`` the editable schema every
    new snapshot is checked against; ``sample`` (``{rows: N, seed: 42}``) streams file
    sources larger than memory to the snapshot and trains on a seeded sample of N rows
    (see ``Sample``).
    """

    source: FileSource | None = None
    sources: list[AnySource] = Field(default_factory=list)
    combine: Combine = Field(default_factory=Combine)
    key: list[str] = Field(default_factory=list)
    columns: dict[str, ColumnKind] = Field(default_factory=dict)
    orders: dict[str, list[str]] = Field(default_factory=dict, exclude=True)
    schema_file: str = "schema.yaml"
    validation: ValidationSpec = Field(default_factory=ValidationSpec)
    cleaning: CleaningSpec = Field(default_factory=CleaningSpec)
    labels: LabelsSpec = Field(default_factory=LabelsSpec)
    sample: Sample | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        if dumped.get("sample", ...) is None:
            del dumped["sample"]  # a spec without it hashes as before it existed
        return dumped

    @model_validator(mode="before")
    @classmethod
    def _ordinal_columns(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
            return data
        kinds, orders = split_columns(data["columns"])
        return {**data, "columns": kinds, "orders": {**data.get("orders", {}), **orders}}

    @field_serializer("columns")
    def _dump_columns(self, columns: dict[str, ColumnKind]) -> dict[str, Any]:
        return join_columns(columns, self.orders)

    @model_validator(mode="after")
    def _orders_fit(self) -> Self:
        for name in self.orders:
            if self.columns.get(name) is not ColumnKind.ORDINAL:
                raise ValueError(f"columns.{name}: an order needs 'kind: ordinal'")
        return self

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if self.source is not None and self.sources:
            raise ValueError("give either 'source' (one file) or 'sources', not both")
        if self.source is None and not self.sources:
            raise ValueError("name the data: 'sources' (a list) or 'source' (one file)")
        check_unique_names(self.sources)
        return self

    @model_validator(mode="after")
    def _sample_streams_files(self) -> Self:
        if self.sample is None:
            return self
        for source in self.all_sources:
            if not isinstance(source, FileSource):
                raise ValueError(
                    f"sample: source '{source.name}' is {source.type}; a sample streams "
                    "file sources only (CSV or Parquet). Export it to files or drop 'sample'."
                )
            if source.format not in (None, "csv", "parquet"):
                raise ValueError(
                    f"sample: source '{source.name}' is {source.format}; a sample streams "
                    "CSV or Parquet files only"
                )
        if len(self.all_sources) > 1 and self.combine.how != "append":
            raise ValueError(
                f"sample: combine how '{self.combine.how}' needs every source in memory; "
                "a sample appends file sources only (how: append), or drop 'sample'"
            )
        return self

    @property
    def all_sources(self) -> list[FileSource | SqlSource | HttpSource]:
        return [self.source] if self.source is not None else list(self.sources)


def _did_you_mean(name: str, columns: Iterable[str]) -> str:
    """`` Did you mean 'price'?`` for a column named in another case or misspelt."""
    names = list(columns)
    close = [c for c in names if c.lower() == name.lower()]
    close = close or difflib.get_close_matches(name, names, n=2)
    return f" Did you mean {' or '.join(map(repr, close))}?" if close else ""


class ProjectSpec(Section):
    """The whole spec. ``name`` also names the registered model."""

    name: str = Field(pattern=NAME_PATTERN)
    problem: Problem
    data: DataSpec
    split: SplitSpec = Field(default_factory=SplitSpec)
    features: FeaturesSpec = Field(default_factory=FeaturesSpec)
    models: ModelsSpec = Field(default_factory=ModelsSpec)
    serve: ServeSpec = Field(default_factory=ServeSpec)
    monitor: MonitorSpec = Field(default_factory=MonitorSpec)
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    # Where the team's store and artifacts live (see loopml.config: the environment and
    # loopml.toml win); ${VAR} is read from the environment.
    store: str | None = Field(default=None, min_length=1)
    store_schema: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    artifacts: str | None = Field(default=None, min_length=1)
    # fsspec options for the artifact store and s3:// sources (endpoint_url, key, ...)
    storage_options: dict[str, Any] | None = None
    # a Dask cluster for the search: local, local:N or tcp://host:port (LOOPML_CLUSTER wins)
    cluster: str | None = Field(
        default=None, pattern=r"^(local(:[1-9][0-9]*)?|tcp://[^/\s:]+:[0-9]+)$"
    )

    @model_validator(mode="after")
    def _columns_known(self) -> Self:
        columns = self.data.columns
        if not columns:
            return self
        data = self.data
        named = [("problem.target", self.problem.target)]
        named += [("split.time_column", self.split.time_column or "")]
        named += [("split.group_column", self.split.group_column or "")]
        named += self.features.named_columns()
        named += [("data.key", c) for c in data.key]
        named += [("evaluation.slices", c) for c in self.evaluation.slices]
        named += [("data.cleaning.missing", c) for c in data.cleaning.missing if c != "*"]
        outliers = data.cleaning.outliers
        named += [
            ("data.cleaning.outliers.columns", c) for c in (outliers and outliers.columns) or []
        ]
        for where, col in named:
            if col and col not in columns:
                raise ValueError(
                    f"{where}: column '{col}' is not in data.columns ({', '.join(columns)})."
                    f"{_did_you_mean(col, columns)}"
                )
        if self.problem.target in self.features.exclude:
            raise ValueError("features.exclude: the target cannot be excluded")
        return self

    @model_validator(mode="after")
    def _champion_metric_known(self) -> Self:
        metric = self.registry.champion.metric
        if metric is not None and metric not in self.problem.metrics:
            raise ValueError(
                f"registry.champion.metric: '{metric}' does not apply to {self.problem.task}; "
                f"allowed: {', '.join(self.problem.metrics)}"
            )
        return self

    def section_hash(self, *sections: str) -> str:
        """sha256 of the named sections, for step caching."""
        dumped = {s: self.model_dump(mode="json")[s] for s in sections}
        text = json.dumps(dumped, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def feature_columns(self) -> list[str]:
        """Declared columns less the target and the excluded, key, time and group columns."""
        split = self.split
        drop = {self.problem.target, split.time_column, split.group_column}
        drop |= {*self.features.exclude, *self.data.key}
        return [c for c in self.data.columns if c not in drop]
