"""A registered model loaded for use as a library: ``loopml.load_model("churn@champion")``.

Rows are checked against the model's signature as batch scoring and the server check
them (``loopml.model.checks``, under the project's ``serve`` input policy): a refused
row raises ``SchemaViolation`` naming row, column, rule and value; imputed values and
unseen categories give an ``InputWarning``; ``last_report`` keeps the latest check.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from loopml.domain import ModelVersion
from loopml.errors import DataError, SchemaViolation
from loopml.model.bundle import ModelBundle
from loopml.model.checks import InputChecker, InputPolicy, InputReport, InputWarning
from loopml.registry.registry import output_schema


class LoadedModel:
    """A verified model version: ``predict`` rows given as a DataFrame, a list of dicts or
    one dict; ``predict_proba`` for classifiers (one column per class, in ``classes``)."""

    def __init__(
        self, version: ModelVersion, bundle: ModelBundle, policy: InputPolicy | None = None
    ) -> None:
        self.version = version
        self.bundle = bundle
        self.checker = InputChecker(bundle.signature, policy)
        self.last_report: InputReport | None = None

    def __repr__(self) -> str:
        return f"LoadedModel({self.version.ref}, {self.bundle.model_kind}, {self.bundle.task})"

    @property
    def ref(self) -> str:
        return self.version.ref

    @property
    def feature_names(self) -> list[str]:
        return self.bundle.feature_names

    @property
    def classes(self) -> list[Any] | None:
        return self.bundle.classes

    @property
    def output_schema(self) -> dict[str, Any]:
        return output_schema(self.bundle)

    def predict(self, rows: Any) -> Any:
        """Predicted labels (classification) or values (regression), one per row."""
        return self.bundle.predict(self._frame(rows)).predictions

    def predict_interval(self, rows: Any) -> Any:
        """``(low, high)`` arrays of a regressor's conformal prediction interval (at the
        level ``output_schema`` names), one bound per row.

        Raises DataError for a classifier or a regressor registered without one."""
        interval = self.bundle.info.get("interval") if self.bundle.task == "regression" else None
        if not interval:
            raise DataError(
                f"{self.ref} has no prediction interval (regressors evaluated with "
                "evaluation.prediction_interval have one)"
            )
        return self.bundle.predict_interval(self.predict(rows))

    def predict_proba(self, rows: Any) -> Any:
        """Probabilities, one column per class in ``classes`` order (classifiers only)."""
        if self.bundle.task != "classification":
            raise DataError(f"{self.ref} is a regression model; it has no predict_proba")
        return self.bundle.predict_proba(self._frame(rows))

    def _frame(self, rows: Any) -> Any:
        import pandas as pd

        if isinstance(rows, Mapping):
            rows = [rows]
        frame = rows if isinstance(rows, pd.DataFrame) else _records(rows, self.ref)
        cleaner = self.bundle.cleaner  # source names are as good as clean ones
        named = cleaner.renamed(frame) if cleaner is not None else frame
        missing = [c for c in self.feature_names if c not in named.columns]
        if missing:
            raise DataError(
                f"rows for {self.ref} lack the columns {missing}; it takes {self.feature_names}"
            )
        checked, report = self.checker.check_frame(frame, cleaner)
        self.last_report = report
        if not report.ok:
            lines = "\n  ".join(report.lines())
            raise SchemaViolation(
                f"{self.ref} refuses {len(report.refused_rows)} of {report.rows} row(s) "
                f"(rows {report.refused_rows[:10]}):\n  {lines}\n"
                "Fix the values, or set serve.invalid: impute / serve.unknown in loopml.yaml."
            )
        if any(p.action in ("imputed", "warned") for p in report.problems):
            lines = "; ".join(report.lines())
            warnings.warn(f"{self.ref}: {lines}", InputWarning, stacklevel=3)
        return checked


def _records(rows: Any, ref: str) -> Any:
    import pandas as pd

    if not isinstance(rows, Sequence) or not all(isinstance(r, Mapping) for r in rows):
        raise DataError(
            f"give {ref} a pandas DataFrame, a list of dicts or one dict, not {type(rows).__name__}"
        )
    return pd.DataFrame.from_records(list(rows))
