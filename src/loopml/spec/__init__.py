"""The project spec (`loopml.yaml`): pydantic models, loading with line-numbered errors."""

from loopml.spec.features import FeaturesSpec
from loopml.spec.load import dump_spec, load_spec, parse_spec
from loopml.spec.model import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    DataSpec,
    Problem,
    ProjectSpec,
    Source,
    SuccessCriterion,
    greater_is_better,
)
from loopml.spec.models import ModelsSpec
from loopml.spec.monitoring import MonitorSpec
from loopml.spec.quality import CleaningSpec, LabelsSpec, ValidationSpec
from loopml.spec.serving import ServeSpec
from loopml.spec.sources import Combine, FileSource, HttpSource, SqlSource
from loopml.spec.splits import SplitSpec

__all__ = [
    "CleaningSpec",
    "Combine",
    "FileSource",
    "HttpSource",
    "LabelsSpec",
    "SqlSource",
    "ValidationSpec",
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "DataSpec",
    "FeaturesSpec",
    "ModelsSpec",
    "MonitorSpec",
    "Problem",
    "ProjectSpec",
    "ServeSpec",
    "Source",
    "SplitSpec",
    "SuccessCriterion",
    "dump_spec",
    "greater_is_better",
    "load_spec",
    "parse_spec",
]
