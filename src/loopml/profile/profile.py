"""Profile a data frame: statistics of every column, correlations, missing values, the
target against each feature, and findings (leakage, duplicates, identifiers...).

``profile_frame`` returns a ``Profile``, a tree of frozen dataclasses that
``loopml.profile.report.render_profile`` turns into one HTML file and ``Profile.to_dict``
into JSON. Expensive parts run on a sample of ``sample_rows`` rows (Spearman, Cramér's V,
the leakage scores); everything else uses every row.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from loopml.data.infer import infer_task
from loopml.data.schema import infer_kinds, ordinal_levels
from loopml.domain import ColumnKind
from loopml.errors import DataError, SpecError
from loopml.profile import warnings as checks
from loopml.profile.correlation import cramers_v, pearson_matrix, spearman_matrix
from loopml.profile.stats import (
    ColumnArrays,
    ColumnStats,
    column_stats,
    missing_map,
    prepare_column,
    row_hashes,
)
from loopml.profile.target import (
    FeatureScore,
    TargetArrays,
    TargetRelation,
    TargetSummary,
    feature_scores,
    summarise_target,
    target_arrays,
    target_relation,
)
from loopml.profile.warnings import Finding, Matrix

TASKS = ("classification", "regression")
TOP_RELATIONS = 12  # features drawn against the target, besides the flagged ones
MAX_ASSOCIATION_CATEGORIES = 50  # categoricals with more levels get no Cramér's V
MAX_ASSOCIATION_COLUMNS = 40
MISSING_CHUNKS = 100  # row blocks of the missing-value map
MAX_SUM_CANDIDATES = 40  # columns checked in pairs for adding up to the target
_CORRELATED_KINDS = (ColumnKind.NUMERIC, ColumnKind.BOOLEAN)
_ASSOCIATED_KINDS = (ColumnKind.CATEGORICAL, ColumnKind.ORDINAL, ColumnKind.BOOLEAN)

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Correlations:
    """Pearson (every row, pairwise complete) and Spearman (on ``spearman_rows`` sampled
    rows) correlations between numeric and boolean columns; NaN where undefined."""

    columns: tuple[str, ...]
    pearson: tuple[tuple[float, ...], ...]
    spearman: tuple[tuple[float, ...], ...]
    spearman_rows: int


@dataclass(frozen=True)
class Associations:
    """Bias-corrected Cramér's V between low-cardinality categorical columns, on ``rows``
    sampled rows (0: independent, 1: each determines the other)."""

    columns: tuple[str, ...]
    cramers_v: tuple[tuple[float, ...], ...]
    rows: int


@dataclass(frozen=True)
class MissingMap:
    """The share of missing values of each column (a row of ``shares`` per column) in
    blocks of rows starting at ``row_starts``."""

    columns: tuple[str, ...]
    row_starts: tuple[int, ...]
    shares: tuple[tuple[float, ...], ...]

    @property
    def any_missing(self) -> bool:
        return any(any(row) for row in self.shares)


@dataclass(frozen=True)
class Profile:
    """Everything the profile found; ``to_dict`` gives it as JSON-safe data."""

    title: str
    rows: int
    memory_bytes: int
    duplicate_rows: int
    columns: tuple[ColumnStats, ...]
    findings: tuple[Finding, ...]
    missing: MissingMap
    correlations: Correlations | None
    associations: Associations | None
    target: TargetSummary | None
    scores: tuple[FeatureScore, ...]
    relations: tuple[TargetRelation, ...]
    sample_rows: int
    seconds: float
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    sample_note: str = ""  # a file profiled streamed: which figures are exact, which sampled

    @property
    def task(self) -> str | None:
        return None if self.target is None else self.target.task

    @property
    def kinds(self) -> dict[str, int]:
        """Columns per kind."""
        counts: dict[str, int] = {}
        for col in self.columns:
            counts[str(col.kind)] = counts.get(str(col.kind), 0) + 1
        return counts

    def column(self, name: str) -> ColumnStats:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def findings_about(self, name: str) -> list[Finding]:
        return [f for f in self.findings if name in f.columns]

    def to_dict(self) -> dict[str, Any]:
        """The profile as JSON-safe data: NaN and infinities become None."""
        return _json_safe(dataclasses.asdict(self))


def _levels(series: pd.Series, order: Sequence[str] | None) -> tuple[str, ...]:
    """An ordinal column's levels, lowest first (values a declared order lacks: other)."""
    try:
        return ordinal_levels(str(series.name), series, order)
    except DataError:
        assert order is not None
        return tuple(order)


def profile_frame(
    df: pd.DataFrame,
    *,
    target: str | None,
    task: str | None,
    kinds: Mapping[str, ColumnKind] | None = None,
    orders: Mapping[str, Sequence[str]] | None = None,
    sample_rows: int = 100_000,
    progress: Progress | None = None,
    title: str = "",
) -> Profile:
    """Profile ``df``.

    Args:
        df: the data, one column per feature (names as strings, each once).
        target: the column to predict, or None for a profile without target sections.
        task: ``classification`` or ``regression``; None infers it from the target (and
            without a target it is ignored).
        kinds: column kinds that override the inferred ones (e.g. numeric codes declared
            ``categorical``).
        orders: the levels of ordinal columns, lowest first (by default the order of
            the scale their values sit on, else their natural order); their categories
            and their relation to the target are shown in that order.
        sample_rows: rows sampled (at random, the same each time) for the expensive
            statistics: Spearman, Cramér's V and the leakage scores.
        progress: called with a stage name and the share of the work done (0 to 1).
        title: shown at the top of the report.

    Returns:
        The ``Profile``.

    Raises:
        DataError: ``df`` has no rows or columns, repeats a column name, or ``target`` or
            a column of ``kinds`` is not one of its columns.
        SpecError: ``task`` is not one of ``TASKS``.
    """
    started = time.perf_counter()
    report = progress or (lambda stage, share: None)
    frame = _checked_frame(df, target, kinds)
    if target is not None:
        task = task or infer_task(frame[target])
        if task not in TASKS:
            raise SpecError(f"task '{task}' is not one of {', '.join(TASKS)}")
    column_kinds = {**infer_kinds(frame), **{k: ColumnKind(v) for k, v in (kinds or {}).items()}}
    arrays: list[ColumnArrays] = []
    for i, name in enumerate(frame.columns):
        report("columns", i / frame.shape[1])
        arrays.append(prepare_column(frame[name], column_kinds[name]))
        if column_kinds[name] is ColumnKind.ORDINAL:
            arrays[-1].levels = _levels(frame[name], (orders or {}).get(name))
    stats = [column_stats(col) for col in arrays]
    rows = len(frame)
    sample = _sample(rows, sample_rows)
    report("correlations", 0.0)
    ids = [c for c in checks.id_like_columns(frame, arrays, stats) if c != target]
    usable = [c for c, s in zip(arrays, stats, strict=True) if s.distinct > 1 and c.name not in ids]
    correlations = _correlations(usable, sample)
    associations = _associations(usable, sample)
    report("warnings", 0.0)
    starts, shares = missing_map([c.missing for c in arrays], MISSING_CHUNKS)
    duplicate_rows = rows - int(np.unique(row_hashes(arrays)).size)
    by_name = {c.name: c for c in arrays}
    pairs = checks.duplicate_columns(arrays, stats)
    found = [
        *checks.constant_findings(stats),
        *checks.missing_findings(stats, target),
        *checks.impossible_zero_findings(arrays, stats),
        *checks.id_like_findings(ids),
        *checks.duplicate_findings(pairs, by_name, target),
        *checks.duplicate_row_findings(duplicate_rows, rows),
    ]
    summary, scores, relations = None, [], []
    if target is not None and task is not None:
        report("target", 0.0)
        y = target_arrays(frame[target], task)
        summary = summarise_target(y)
        features = [c for c in usable if c.name != target]
        scores = feature_scores(features, y, sample)
        leaks = _leak_findings(frame, target, features, scores, sample, found, ids)
        found += leaks + checks.imbalance_findings(summary)
        relations = _relations(features, y, sample, scores, leaks)
    skip = {frozenset(p[:2]) for p in pairs}
    skip |= {frozenset((target, c.name)) for c in arrays if target is not None}
    found += checks.collinearity_findings(_matrices(correlations, associations), skip)
    report("done", 1.0)
    return Profile(
        title=title,
        rows=rows,
        memory_bytes=sum(s.memory_bytes for s in stats),
        duplicate_rows=duplicate_rows,
        columns=tuple(stats),
        findings=tuple(checks.sort_findings(found)),
        missing=MissingMap(tuple(frame.columns), tuple(starts), _nested(shares)),
        correlations=correlations,
        associations=associations,
        target=summary,
        scores=tuple(scores),
        relations=tuple(relations),
        sample_rows=int(sample.size),
        seconds=time.perf_counter() - started,
    )


def _checked_frame(
    df: pd.DataFrame, target: str | None, kinds: Mapping[str, ColumnKind] | None
) -> pd.DataFrame:
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(
            f"nothing to profile: the data has {df.shape[0]} rows and {df.shape[1]} columns"
        )
    names = [str(c) for c in df.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(
            f"column names repeat: {', '.join(map(repr, repeated))}; rename them "
            "(loopml.data.ingest.clean_column_names makes them unique)"
        )
    frame = df if list(df.columns) == names else df.set_axis(names, axis=1)
    for name, role in [(target, "target"), *((k, "in kinds") for k in (kinds or {}))]:
        if name is not None and name not in names:
            raise DataError(f"no column '{name}' ({role}); the columns are: {', '.join(names)}")
    return frame


def _sample(rows: int, size: int) -> np.ndarray:
    """Sorted row positions of a random sample (all rows when there are few)."""
    if rows <= size:
        return np.arange(rows)
    return np.sort(np.random.default_rng(0).choice(rows, size, replace=False))


def _correlations(columns: Sequence[ColumnArrays], sample: np.ndarray) -> Correlations | None:
    chosen = [c for c in columns if c.kind in _CORRELATED_KINDS and c.values is not None]
    if len(chosen) < 2:
        return None
    values = [c.values for c in chosen if c.values is not None]
    pearson = pearson_matrix(values)
    spearman = spearman_matrix([v[sample] for v in values])
    names = tuple(c.name for c in chosen)
    return Correlations(names, _nested(pearson), _nested(spearman), int(sample.size))


def _associations(columns: Sequence[ColumnArrays], sample: np.ndarray) -> Associations | None:
    chosen = [
        c
        for c in columns
        if c.kind in _ASSOCIATED_KINDS
        and c.codes is not None
        and c.n_codes <= MAX_ASSOCIATION_CATEGORIES
    ][:MAX_ASSOCIATION_COLUMNS]
    if len(chosen) < 2:
        return None
    codes = [c.appearance_codes()[sample] for c in chosen]
    k = len(chosen)
    values = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            v = cramers_v(codes[i], codes[j], chosen[i].n_codes, chosen[j].n_codes)
            values[i, j] = values[j, i] = v
    return Associations(tuple(c.name for c in chosen), _nested(values), int(sample.size))


def _matrices(
    correlations: Correlations | None, associations: Associations | None
) -> list[tuple[str, Matrix]]:
    out = []
    if correlations is not None:
        out.append(("Pearson r", Matrix(correlations.columns, np.array(correlations.pearson))))
    if associations is not None:
        values = np.array(associations.cramers_v)
        out.append(("Cramér's V", Matrix(associations.columns, values)))
    return out


def _leak_findings(
    frame: pd.DataFrame,
    target: str,
    features: Sequence[ColumnArrays],
    scores: Sequence[FeatureScore],
    sample: np.ndarray,
    found: Sequence[Finding],
    ids: Sequence[str],
) -> list[Finding]:
    # the best-scoring columns: a part of the target predicts it too (pairs grow as n²)
    ranked = [s.column for s in scores][:MAX_SUM_CANDIDATES]
    candidates = [c.name for c in features if c.name in ranked]
    sums = checks.sum_leaks(frame, target, candidates, sample)
    copies = [f for f in found if f.kind == "leakage"]
    flagged = {name for f in [*sums, *copies] for name in f.columns}
    return sums + checks.score_leaks(scores, target, flagged, set(ids))


def _relations(
    features: Sequence[ColumnArrays],
    target: TargetArrays,
    sample: np.ndarray,
    scores: Sequence[FeatureScore],
    leaks: Sequence[Finding],
) -> list[TargetRelation]:
    """The target against the best-scoring features, every leaky one, and date columns."""
    chosen = [s.column for s in scores[:TOP_RELATIONS]]
    chosen += [c for f in leaks for c in f.columns if c not in chosen]
    chosen += [c.name for c in features if c.kind is ColumnKind.DATETIME][:2]
    by_name = {c.name: c for c in features}
    relations = []
    for name in dict.fromkeys(chosen):
        if name in by_name:
            relation = target_relation(by_name[name], target, sample)
            if relation is not None:
                relations.append(relation)
    return relations


def _nested(matrix: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in matrix)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value
