"""Findings about a data set: leakage, duplicate and constant columns, identifiers,
collinearity (one finding per group of columns), missing values, impossible zeros,
duplicate rows and an imbalanced target.

Each finding has a kind, a severity (``high``: fix before training; ``medium``: look at
it; ``low``: good to know), the columns it is about and one sentence that says what was
seen and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loopml.data.infer import MIN_ID_ROWS, is_id_like, leaky_columns
from loopml.domain import ColumnKind
from loopml.model.values import category_string
from loopml.profile.stats import ColumnArrays, ColumnStats
from loopml.profile.target import FeatureScore, TargetSummary

KINDS = (
    "leakage",
    "duplicate_columns",
    "constant",
    "id_like",
    "collinearity",
    "missing",
    "impossible_zeros",
    "duplicate_rows",
    "imbalance",
)
SEVERITIES = ("high", "medium", "low")
LEAK_SCORE = 0.95  # a feature alone scoring this (AUC or r) gives the target away
SUSPICIOUS_SCORE = 0.8  # ... this, far ahead of every other feature, is suspicious
DOMINANCE = 1.5  # "far ahead": lift at least this many times the next feature's lift
COLLINEAR = 0.9  # |Pearson r| or Cramér's V of a pair this high is collinearity
HIGH_MISSING = 0.5  # a column missing in this share of rows gets a finding of its own
IMBALANCED = 0.1  # a class with a smaller share than this makes the target imbalanced
ZERO_SHARE = 0.05  # exact zeros in at most this share of a positive measure's rows ...
ZERO_GAP = 0.1  # ... whose smallest other value is at least this share of their median


@dataclass(frozen=True)
class Finding:
    """One thing worth knowing about the data, in one sentence."""

    kind: str
    severity: str
    columns: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Matrix:
    """A square matrix of pairwise scores between ``columns`` (NaN where undefined)."""

    columns: tuple[str, ...]
    values: np.ndarray


def constant_findings(stats: Sequence[ColumnStats]) -> list[Finding]:
    """Columns with at most one distinct value."""
    findings = []
    for col in stats:
        if col.distinct > 1:
            continue
        if col.count == 0:
            what = "holds no value at all (missing in every row)"
        else:
            value = _first_value(col)
            extra = f" and is missing in {col.missing:,} rows" if col.missing else " in every row"
            what = f"holds a single value{value}{extra}"
        message = f"'{col.name}' {what}: it cannot help a model; drop it."
        findings.append(Finding("constant", "medium", (col.name,), message))
    return findings


def _first_value(col: ColumnStats) -> str:
    if col.numeric is not None:
        return f" ({category_string(col.numeric.min)})"
    if col.categories is not None and col.categories.top:
        return f" ('{col.categories.top[0][0]}')"
    if col.datetime is not None:
        return f" ({col.datetime.min})"
    return ""


def missing_findings(stats: Sequence[ColumnStats], target: str | None) -> list[Finding]:
    """One finding per column missing in ``HIGH_MISSING`` of rows or more, one for the
    rows without a target, and one that lists the other columns with missing values."""
    findings, others = [], []
    for col in stats:
        if col.missing == 0 or col.count == 0:
            continue
        share = f"{100 * col.missing_share:.1f} %"
        if col.name == target:
            message = (
                f"The target '{col.name}' is missing in {col.missing:,} rows ({share}): "
                "those rows cannot be used for training or evaluation."
            )
            findings.append(Finding("missing", "medium", (col.name,), message))
        elif col.missing_share >= HIGH_MISSING:
            message = (
                f"'{col.name}' is missing in {share} of rows: check why; impute it, add a "
                "missing-indicator, or drop it."
            )
            findings.append(Finding("missing", "medium", (col.name,), message))
        else:
            others.append(col)
    if others:
        listed = ", ".join(f"'{c.name}' ({100 * c.missing_share:.1f} %)" for c in others[:12])
        more = f" and {len(others) - 12} more" if len(others) > 12 else ""
        message = f"Missing values in {len(others)} columns: {listed}{more}."
        findings.append(Finding("missing", "low", tuple(c.name for c in others), message))
    return findings


def id_like_columns(
    frame: pd.DataFrame, columns: Sequence[ColumnArrays], stats: Sequence[ColumnStats]
) -> list[str]:
    """Columns that look like row identifiers (see ``loopml.data.infer.is_id_like``); only
    columns with a distinct value in every row are looked at."""
    found = []
    for col, stat in zip(columns, stats, strict=True):
        unique = stat.missing == 0 and stat.distinct == stat.rows >= MIN_ID_ROWS
        if unique and is_id_like(frame[col.name], col.kind, col.name):
            found.append(col.name)
    return found


def id_like_findings(names: Sequence[str]) -> list[Finding]:
    return [
        Finding(
            "id_like",
            "medium",
            (name,),
            f"'{name}' looks like a row identifier (a different value in every row): "
            "it cannot generalise; exclude it from the features.",
        )
        for name in names
    ]


def duplicate_columns(
    columns: Sequence[ColumnArrays], stats: Sequence[ColumnStats]
) -> list[tuple[str, str, bool]]:
    """Pairs ``(first, later, identical)`` of columns that hold the same information:
    the same values, or, where values repeat, each value of one going with exactly one
    value of the other in every row (``mnth2``'s 'January' with ``mnth``'s 1).

    Only columns with the same distinct and missing counts are compared, on their codes
    in order of first appearance: two columns map one-to-one exactly when those agree.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for i, stat in enumerate(stats):
        if stat.distinct > 1:
            groups.setdefault((stat.distinct, stat.missing), []).append(i)
    pairs = []
    for members in groups.values():
        matched: set[int] = set()
        for pos, i in enumerate(members):
            if i in matched:
                continue
            for j in members[pos + 1 :]:
                if j in matched:
                    continue
                same = _same_information(columns[i], columns[j], stats[i])
                if same is not None:
                    pairs.append((columns[i].name, columns[j].name, same))
                    matched.add(j)
    return pairs


def _same_information(a: ColumnArrays, b: ColumnArrays, stat: ColumnStats) -> bool | None:
    """None if ``a`` and ``b`` differ, else whether their values are also identical.

    A one-to-one mapping counts only when values repeat (at most half as many distinct
    values as values): between mostly distinct columns it is true by chance."""
    if a.values is not None and b.values is not None and a.values.dtype == b.values.dtype:
        if np.array_equal(a.values, b.values, equal_nan=True):
            return True
    elif (
        a.codes is not None
        and b.codes is not None
        and np.array_equal(a.codes, b.codes)
        and _labels_equal(a, b)
    ):
        return True
    if stat.distinct > stat.count / 2:
        return None
    if not np.array_equal(a.appearance_codes(), b.appearance_codes()):
        return None
    return _labels_equal(a, b)


def _labels_equal(a: ColumnArrays, b: ColumnArrays) -> bool:
    """Whether the values of two columns with equal codes are the same category strings."""
    return a.code_labels() == b.code_labels()


def duplicate_findings(
    pairs: Sequence[tuple[str, str, bool]], columns: Mapping[str, ColumnArrays], target: str | None
) -> list[Finding]:
    """A finding per duplicate pair; a copy of the target is leakage."""
    findings = []
    for first, later, identical in pairs:
        if target in (first, later):
            other = later if first == target else first
            message = (
                f"'{other}' is a copy of the target '{target}' (each of its values goes with "
                "exactly one target value): leakage; exclude it from the features."
            )
            findings.append(Finding("leakage", "high", (other,), message))
            continue
        if identical:
            message = f"'{later}' is identical to '{first}' in every row: drop one of them."
        else:
            examples = _mapping_examples(columns[first], columns[later])
            message = (
                f"'{later}' holds the same information as '{first}' (each value of one goes "
                f"with exactly one value of the other: {examples}): keep one of them."
            )
        findings.append(Finding("duplicate_columns", "medium", (first, later), message))
    return findings


def _mapping_examples(a: ColumnArrays, b: ColumnArrays, k: int = 3) -> str:
    left, right = a.code_labels(k), b.code_labels(k)
    pairs = [f"{y} = {x}" for x, y in zip(left, right, strict=False)]
    return ", ".join(pairs) + ", ..."


def collinearity_findings(
    matrices: Sequence[tuple[str, Matrix]], skip: set[frozenset[str]]
) -> list[Finding]:
    """One finding per group of columns linked by pairs whose score in a matrix
    (``("Pearson r", ...)``, ``("Cramér's V", ...)``) is ``COLLINEAR`` or more in
    absolute value, leaving out the pairs in ``skip``; the message gives the range."""
    pairs: list[tuple[str, str, str, float]] = []
    for label, matrix in matrices:
        names = matrix.columns
        rows, cols = np.nonzero(np.triu(np.abs(np.nan_to_num(matrix.values)) >= COLLINEAR, 1))
        for i, j in zip(rows, cols, strict=True):
            if frozenset((names[i], names[j])) not in skip:
                pairs.append((names[i], names[j], label, float(matrix.values[i, j])))
    return [_collinear_group(group) for group in _groups(pairs)]


def _groups(
    pairs: list[tuple[str, str, str, float]],
) -> list[list[tuple[str, str, str, float]]]:
    """The pairs split into connected groups of columns, in order of first appearance."""
    group_of: dict[str, int] = {}
    groups: list[list[tuple[str, str, str, float]]] = []
    for pair in pairs:
        known = sorted({group_of[c] for c in pair[:2] if c in group_of})
        if not known:
            groups.append([])
            known = [len(groups) - 1]
        first = known[0]
        for other in known[1:]:  # the pair links two groups: merge them into the first
            groups[first] += groups[other]
            groups[other] = []
        groups[first].append(pair)
        for member in groups[first]:
            group_of[member[0]] = group_of[member[1]] = first
    return [group for group in groups if group]


def _collinear_group(pairs: list[tuple[str, str, str, float]]) -> Finding:
    columns = tuple(dict.fromkeys(c for pair in pairs for c in pair[:2]))
    if len(columns) == 2:
        (a, b, label, value), *_ = pairs
        message = (
            f"'{a}' and '{b}' are highly correlated ({label} = {value:.3f}): "
            "either carries almost all the information of the other; consider keeping one."
        )
        return Finding("collinearity", "medium", columns, message)
    labels = sorted({label for _, _, label, _ in pairs})
    low, high = (f(abs(p[3]) for p in pairs) for f in (min, max))
    named = ", ".join(f"'{c}'" for c in columns[:-1]) + f" and '{columns[-1]}'"
    message = (
        f"{named} are highly correlated with each other ({len(pairs)} pairs, "
        f"|{' or '.join(labels)}| {low:.3f} to {high:.3f}): they carry almost the same "
        "information; consider keeping one of them, or a combination."
    )
    return Finding("collinearity", "medium", columns, message)


def impossible_zero_findings(
    arrays: Sequence[ColumnArrays], stats: Sequence[ColumnStats]
) -> list[Finding]:
    """Numeric columns that are positive but for a few exact zeros far below every other
    value (a length of 0 mm, a humidity of 0): most likely a missing measurement."""
    findings = []
    for col, stat in zip(arrays, stats, strict=True):
        numbers = stat.numeric
        if col.kind is not ColumnKind.NUMERIC or numbers is None or col.values is None:
            continue
        if numbers.zeros == 0 or numbers.min != 0:
            continue
        values = np.asarray(col.values, dtype=float)
        finite = values[np.isfinite(values)]
        positive = finite[finite > 0]
        zeros = len(finite) - len(positive)
        if zeros == 0 or len(positive) == 0 or zeros / len(finite) > ZERO_SHARE:
            continue
        smallest, median = float(positive.min()), float(np.median(positive))
        if smallest < ZERO_GAP * median:
            continue  # zeros continue a range that reaches down near them: plausible
        message = (
            f"'{col.name}' is 0 in {zeros} rows ({100 * zeros / len(finite):.2g} %) but "
            f"every other value is positive, the smallest {smallest:.4g} (median "
            f"{median:.4g}): a 0 here is most likely a missing measurement; treat it as "
            f'missing (a validation check such as "{col.name} > 0") or explain it.'
        )
        findings.append(Finding("impossible_zeros", "medium", (col.name,), message))
    return findings


def sum_leaks(
    frame: pd.DataFrame, target: str, candidates: Sequence[str], sample: np.ndarray
) -> list[Finding]:
    """Columns that add up to the target, or copy it, in every row: found with
    ``loopml.data.infer.leaky_columns`` on the sampled rows, then checked on all rows."""
    if not candidates:
        return []
    leaky = leaky_columns(frame.iloc[sample], target, list(candidates))
    if not leaky:
        return []
    y = frame[target]
    findings, paired = [], set()
    if pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype):
        values = y.to_numpy(dtype=float, na_value=np.nan)
        for i, a in enumerate(leaky):
            for b in leaky[i + 1 :]:
                if _adds_up(frame, a, b, values):
                    paired |= {a, b}
                    message = (
                        f"'{a}' + '{b}' equals the target '{target}' in every row: leakage "
                        "(they are parts of the target, known only with it); exclude both."
                    )
                    findings.append(Finding("leakage", "high", (a, b), message))
    for name in leaky:
        if name not in paired and leaky_columns(frame, target, [name]):
            message = f"'{name}' is a copy of the target '{target}': leakage; exclude it."
            findings.append(Finding("leakage", "high", (name,), message))
    return findings


def _adds_up(frame: pd.DataFrame, a: str, b: str, y: np.ndarray) -> bool:
    total = frame[a].to_numpy(dtype=float, na_value=np.nan) + frame[b].to_numpy(
        dtype=float, na_value=np.nan
    )
    rows = ~np.isnan(total) & ~np.isnan(y)
    return bool(rows.sum() >= MIN_ID_ROWS and np.allclose(total[rows], y[rows]))


def score_leaks(
    scores: Sequence[FeatureScore], target: str, already: set[str], ignore: set[str]
) -> list[Finding]:
    """Features that alone predict the target almost perfectly (``LEAK_SCORE``), or very
    well and far better than every other feature (``SUSPICIOUS_SCORE``, ``DOMINANCE``)."""
    ranked = [s for s in scores if s.column not in ignore]
    findings = []
    for pos, score in enumerate(ranked):
        if score.column in already:
            continue
        metric = "ROC AUC" if score.metric == "roc_auc" else "correlation"
        if score.score >= LEAK_SCORE:
            message = (
                f"'{score.column}' alone predicts '{target}' almost perfectly ({metric} "
                f"{score.score:.3f}): likely leakage; check whether it is known at "
                "prediction time, before the outcome."
            )
            findings.append(Finding("leakage", "high", (score.column,), message))
            continue
        rivals = [s for s in ranked[:pos] + ranked[pos + 1 :] if s.column not in already]
        best_rival = max((s.lift for s in rivals), default=0.0)
        if score.score >= SUSPICIOUS_SCORE and score.lift >= DOMINANCE * best_rival:
            runner = max(rivals, key=lambda s: s.lift) if rivals else None
            next_best = f" (next best: '{runner.column}', {runner.score:.3f})" if runner else ""
            message = (
                f"'{score.column}' alone predicts '{target}' with {metric} {score.score:.3f}, "
                f"far better than any other column{next_best}: a suspiciously strong single "
                "predictor and likely leakage; check whether it is known at prediction time "
                "(a value recorded during or after the outcome, such as a call's duration, "
                "gives the outcome away)."
            )
            findings.append(Finding("leakage", "medium", (score.column,), message))
    return findings


def duplicate_row_findings(duplicates: int, rows: int) -> list[Finding]:
    if duplicates == 0:
        return []
    share = 100 * duplicates / rows
    message = (
        f"{duplicates:,} rows ({share:.2f} %) repeat an earlier row exactly: check the source "
        "for double loads; duplicates across a train/test split inflate the test score."
    )
    return [Finding("duplicate_rows", "medium" if share >= 1 else "low", (), message)]


def imbalance_findings(summary: TargetSummary | None) -> list[Finding]:
    if summary is None or summary.task != "classification" or not summary.classes:
        return []
    total = sum(count for _, count in summary.classes)
    label, count = summary.classes[-1]
    if total == 0 or count / total >= IMBALANCED:
        return []
    message = (
        f"The target '{summary.name}' is imbalanced: '{label}' is {100 * count / total:.1f} % "
        "of rows. Judge models by ROC AUC or precision/recall rather than accuracy, and "
        "stratify the split."
    )
    return [Finding("imbalance", "low", (summary.name,), message)]


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, then in the order of ``KINDS``."""
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), KINDS.index(f.kind)))
