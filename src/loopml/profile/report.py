"""The profile report: one self-contained HTML file (plotly.js inlined once, no network).

Everything taken from the data (column names, category labels, texts) is HTML-escaped by
the template; chart specs are JSON with ``<``, ``>`` and ``&`` escaped, so nothing in the
data can close the script element that holds them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from loopml.profile import charts
from loopml.profile.profile import Profile
from loopml.profile.stats import ColumnStats
from loopml.profile.warnings import Finding
from loopml.reports.html import ChartBook, render_page

KIND_TITLES = {
    "leakage": "Leakage",
    "duplicate_columns": "Duplicate columns",
    "constant": "Constant",
    "id_like": "ID-like",
    "collinearity": "Collinearity",
    "missing": "Missing values",
    "impossible_zeros": "Impossible zeros",
    "duplicate_rows": "Duplicate rows",
    "imbalance": "Imbalanced target",
}


@dataclass(frozen=True)
class _Card:
    """One column's card: its statistics as rows of (label, value) and its chart."""

    anchor: str
    column: ColumnStats
    rows: list[tuple[str, str]]
    top_texts: list[tuple[str, str]]
    chart: str | None
    findings: list[Finding]
    notes: list[Finding]
    is_target: bool


def render_profile(profile: Profile) -> str:
    """Render ``profile`` as one HTML document (a str), ready to write to a ``.html`` file.

    Sections: overview, warnings, target (balance, feature scores, each feature against
    the target), correlations, missing values, and a card per column."""
    book = ChartBook()
    target = profile.target
    target_column = profile.column(target.name) if target is not None else None
    flagged = {c for f in profile.findings if f.kind == "leakage" for c in f.columns}
    cards = [
        _card(i, col, profile, book, target is not None and col.name == target.name)
        for i, col in enumerate(profile.columns)
    ]
    anchors = {card.column.name: card.anchor for card in cards}
    relations = [
        (rel, book.add(charts.relation_figure(rel, profile.task or "")))
        for rel in profile.relations
    ]
    return render_page(
        "loopml.profile",
        "profile.html.j2",
        book,
        p=profile,
        title=profile.title or "Data profile",
        cards=cards,
        anchors=anchors,
        kind_titles=KIND_TITLES,
        severity_counts=_severity_counts(profile.findings),
        missing_cells=sum(c.missing for c in profile.columns),
        target_chart=book.add(charts.target_figure(target, target_column))
        if target is not None and target_column is not None
        else None,
        scores_chart=book.add(charts.scores_figure(profile.scores, flagged)),
        relations=relations,
        flagged=flagged,
        correlation_chart=book.add(charts.correlation_figure(profile.correlations))
        if profile.correlations is not None
        else None,
        association_chart=book.add(charts.association_figure(profile.associations))
        if profile.associations is not None
        else None,
        missing_chart=book.add(charts.missing_figure(profile.missing))
        if profile.missing.any_missing
        else None,
        fmt=format_value,
        pct=format_share,
        size=format_bytes,
    )


def _card(
    index: int, col: ColumnStats, profile: Profile, book: ChartBook, is_target: bool
) -> _Card:
    rows = [
        ("values", format_value(col.count)),
        ("missing", f"{format_value(col.missing)} ({format_share(col.missing_share)})"),
        ("distinct", format_value(col.distinct)),
    ]
    top_texts: list[tuple[str, str]] = []
    if col.numeric is not None:
        s = col.numeric
        rows += [
            ("mean", format_value(s.mean)),
            ("std", format_value(s.std)),
            ("min", format_value(s.min)),
            ("25 %", format_value(s.q1)),
            ("median", format_value(s.median)),
            ("75 %", format_value(s.q3)),
            ("max", format_value(s.max)),
            ("skew", format_value(s.skew)),
            ("zeros", f"{format_value(s.zeros)} ({format_share(s.zeros / max(col.count, 1))})"),
        ]
        if col.distinct > 2:
            rows += [
                ("outliers low", format_value(s.box.outliers_low)),
                ("outliers high", format_value(s.box.outliers_high)),
            ]
        if s.infinite:
            rows.append(("infinite", format_value(s.infinite)))
    elif col.categories is not None and col.categories.top:
        label, count = col.categories.top[0]
        rows += [
            ("most frequent", label),
            ("its share", format_share(count / max(col.count, 1))),
        ]
    elif col.datetime is not None:
        rows += [("first", col.datetime.min), ("last", col.datetime.max)]
    elif col.text is not None:
        t = col.text
        rows += [
            ("length min / max", f"{format_value(t.length_min)} / {format_value(t.length_max)}"),
            ("length mean", format_value(t.length_mean)),
            ("length median", format_value(t.length_median)),
            ("words (mean)", format_value(t.words_mean)),
        ]
        top_texts = [(text, format_value(count)) for text, count in t.top]
    rows.append(("memory", format_bytes(col.memory_bytes)))
    findings = profile.findings_about(col.name)
    return _Card(
        anchor=f"col-{index}",
        column=col,
        rows=rows,
        top_texts=top_texts,
        chart=book.add(charts.column_figure(col)),
        findings=findings,
        notes=[f for f in findings if f.severity != "low" or len(f.columns) == 1],
        is_target=is_target,
    )


def _severity_counts(findings: tuple[Finding, ...]) -> dict[str, int]:
    counts = {"high": 0, "medium": 0, "low": 0}
    for finding in findings:
        counts[finding.severity] += 1
    return counts


def format_value(value: Any) -> str:
    """A number for a table: thousands separated, 4 significant digits, '-' for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if abs(value) >= 1e5:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 1e3 else f"{value:.4g}"


def format_share(share: float) -> str:
    if share == 0:
        return "0 %"
    if share < 0.001:
        return "< 0.1 %"
    return f"{100 * share:.1f} %"


def format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
