"""Batch scoring straight from Arrow: an all-float Parquet file scored without pandas.

``loopml predict`` on a Parquet file whose columns are all floats, for a model that
compiles whole and reads only numeric columns with no coercion, skips the pandas frame:
each record batch's columns go as NumPy arrays (zero-copy where they have no nulls) to
the input check (``InputChecker.check``, the same rules as ``check_frame``) and to the
array path, and the output table is the batch's own Arrow columns with the prediction
columns beside them. Everything else goes the pandas way (``batch.score_chunk``).

The output equals the pandas way's to the file's bytes of data and its schema metadata:
the same clean column names, the same types, a missing value as a null (pandas turns a
float NaN into a null on the way back to Arrow, so a NaN read here is written as one),
the prediction columns built by the same code (``batch.prediction_columns``), and the
``pandas`` schema metadata that ``pa.Table.from_pandas`` would have written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.domain import ColumnKind
from loopml.model.checks import InputChecker, InputReport

PANDAS_KEY = b"pandas"


@dataclass(frozen=True)
class ArrowPlan:
    """How a file's columns meet the model: ``output`` the clean name of each column
    (in file order, as written), ``model`` the name the check and the model know each
    signature column by -> its position in the file."""

    output: tuple[str, ...]
    model: dict[str, int]
    metadata: dict[str, Any]  # the pandas metadata of the input columns


def arrow_plan(predictor: Any, schema: Any, names: list[str]) -> ArrowPlan | None:
    """The plan for scoring batches of ``schema`` (a pyarrow schema, its columns under
    the clean ``names`` in the output) straight from Arrow with ``predictor`` (a
    ``batch.Predictor``); None when the pandas way must be
    taken: a model that does not compile whole, a column that is not a float, a
    signature column that is not numeric, is coerced, or is not in the file, or a file
    column named like a prediction column."""
    import pyarrow as pa

    bundle = predictor.bundle
    floats = all(pa.types.is_float32(f.type) or pa.types.is_float64(f.type) for f in schema)
    if not predictor.compiled or not floats:
        return None
    frame = schema.empty_table().to_pandas().set_axis(names, axis=1)
    cleaner = bundle.cleaner
    named = cleaner.renamed(frame) if cleaner is not None else frame
    coercions = cleaner.coercions_ if cleaner is not None else {}
    positions = {name: i for i, name in enumerate(named.columns)}
    model: dict[str, int] = {}
    for column in bundle.signature.columns:
        if column.kind is not ColumnKind.NUMERIC or column.name in coercions:
            return None
        if column.name not in positions:
            return None
        model[column.name] = positions[column.name]
    if {"prediction", "probability", "prediction_low", "prediction_high"} & set(frame.columns):
        return None
    metadata = _pandas_metadata(pa.Table.from_pandas(frame, preserve_index=False))
    return ArrowPlan(tuple(frame.columns), model, metadata)


def score_batch(
    predictor: Any, checker: InputChecker, plan: ArrowPlan, batch: Any, *, first_row: int = 0
) -> tuple[Any, InputReport]:
    """One record batch checked and scored: the output table (the batch's columns under
    their clean names, then the prediction columns) and the problems found, their rows
    numbered in the file from ``first_row``."""
    import pyarrow as pa

    from loopml.serve.batch import kept_rows, prediction_columns

    given = {name: batch.column(i).to_numpy(zero_copy_only=False) for name, i in plan.model.items()}
    checked, report = checker.check(given)
    refused = report.refused_rows
    keep = kept_rows(batch.num_rows, refused)
    columns = {name: np.asarray(values, dtype=np.float64) for name, values in checked.items()}

    def predict() -> Any:
        kept = {k: v[keep] for k, v in columns.items()} if refused else columns
        return predictor.predict_columns(kept)

    extra = prediction_columns(predictor.bundle, pd.RangeIndex(batch.num_rows), keep, predict)
    added = pa.Table.from_pandas(extra, preserve_index=False)
    arrays = [_nulls_for_nan(batch.column(i)) for i in range(batch.num_columns)]
    metadata = dict(plan.metadata)
    metadata["columns"] = [*plan.metadata["columns"], *_pandas_metadata(added)["columns"]]
    fields = [pa.field(name, array.type) for name, array in zip(plan.output, arrays, strict=True)]
    schema = pa.schema([*fields, *added.schema], metadata={PANDAS_KEY: json.dumps(metadata)})
    added_arrays = [column.combine_chunks() for column in added.columns]
    table = pa.Table.from_arrays([*arrays, *added_arrays], schema=schema)
    return table, report.shifted(first_row)


def parquet_schema(source: Path) -> Any:
    """The Arrow schema of a Parquet file (its footer only); None when it cannot be read
    (the reader then says why)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(source)
    except (OSError, pa.ArrowException):
        return None


def _nulls_for_nan(array: Any) -> Any:
    """A float column with its NaNs as nulls (as a trip through pandas leaves it)."""
    import pyarrow.compute as pc

    nan = pc.is_nan(array)
    if not pc.any(nan).as_py():
        return array
    return pc.if_else(nan, None, array)


def _pandas_metadata(table: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(table.schema.metadata[PANDAS_KEY])
    return loaded
