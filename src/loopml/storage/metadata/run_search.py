"""SQL and Python pieces of ``search_runs``: conditions on metrics, attributes, params, tags.

A metric condition compares the metric's *latest* value (highest step, the last logged on
a tie) through a correlated subquery that the ``(run_id, key, step, id)`` index answers
with one seek per run, on SQLite and PostgreSQL alike; a run without the metric (or whose
latest value is NaN, stored as NULL) compares as NULL and never matches. Attributes are
plain columns (``duration`` is computed from the timestamps in each dialect).

Params are JSON text and tags are rows: both are compared in Python, identically on every
backend, on the runs that the SQL part returns. SQLite (3.40 here) and PostgreSQL disagree
on JSON that Python writes (NaN, infinities) and on comparing mixed types, which is why.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from loopml.domain import Run
from loopml.storage.metadata import tables as t
from loopml.storage.metadata.protocols import Condition, classify_key

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_ORDERABLE_ATTRIBUTES = ("name", "status", "duration")
_LATEST = t.metrics.alias("latest")


def latest_value(key: str, run_id: Any = None) -> sa.ScalarSelect[Any]:
    """The latest value of metric ``key`` of the enclosing query's run (NULL if none).

    ``run_id`` is the enclosing query's run id column (default: ``runs.run_id``).
    """
    run_id = t.runs.c.run_id if run_id is None else run_id
    m = _LATEST  # one alias for every such subquery: each is its own scope
    return (
        sa.select(m.c.value)
        .where(m.c.run_id == run_id, m.c.key == key)
        .order_by(m.c.step.desc(), m.c.id.desc())
        .limit(1)
        .correlate(run_id.table)
        .scalar_subquery()
    )


def duration_seconds(dialect: str) -> sa.ColumnElement[Any]:
    """Seconds from start to end of the run (NULL while it runs), in ``dialect``'s SQL."""
    started, ended = t.runs.c.started_at, t.runs.c.ended_at
    if dialect == "postgresql":
        return sa.extract("epoch", ended - started)
    return (sa.func.julianday(ended) - sa.func.julianday(started)) * 86_400.0


def sql_filter(condition: Condition, dialect: str) -> sa.ColumnElement[bool]:
    """The WHERE clause of a metric or attribute condition."""
    kind, name = condition.kind, condition.name
    compare = _OPERATORS[condition.op]
    if kind == "metric":
        return compare(latest_value(name), condition.value)  # type: ignore[no-any-return]
    if name == "duration":
        return compare(duration_seconds(dialect), condition.value)  # type: ignore[no-any-return]
    if kind == "attribute":
        return compare(t.runs.c[name], condition.value)  # type: ignore[no-any-return]
    raise ValueError(f"condition '{condition}' is not evaluated in SQL")


def order_clause(order_by: str | None, dialect: str) -> list[sa.ColumnElement[Any]]:
    """ORDER BY for a metric key or attribute (``-`` first for descending), then newest.

    Raises ValueError for params, tags or an empty key.
    """
    newest = t.runs.c.id.desc()
    if not order_by:
        return [newest]
    descending = order_by.startswith("-")
    key = order_by[1:] if descending else order_by
    kind, name = classify_key(key)
    expr: sa.ColumnElement[Any]
    if kind == "metric":
        expr = latest_value(name)
    elif kind == "attribute" and name == "duration":
        expr = duration_seconds(dialect)
    elif kind == "attribute" and name in _ORDERABLE_ATTRIBUTES:
        expr = t.runs.c[name]
    else:
        raise ValueError(
            f"cannot order runs by '{order_by}': give a metric key or one of "
            f"{', '.join(_ORDERABLE_ATTRIBUTES)}, with '-' first for descending"
        )
    ordered = expr.desc() if descending else expr.asc()
    return [ordered.nulls_last(), newest]


def matches_in_python(run: Run, conditions: Sequence[Condition]) -> bool:
    """Whether ``run`` meets every param and tag condition (a missing key never does).

    A number compares numerically with a number (or a string that parses as one); a
    string compares with the value as text (``true``, ``false`` and ``null`` for JSON
    literals, numbers as Python prints them).
    """
    for condition in conditions:
        source = run.params if condition.kind == "param" else run.tags
        if condition.name not in source:
            return False
        if not _compare(source[condition.name], condition.op, condition.value):
            return False
    return True


def _compare(actual: Any, op: str, wanted: float | str) -> bool:
    compare = _OPERATORS[op]
    if isinstance(wanted, float):
        number = _as_number(actual)
        return number is not None and bool(compare(number, wanted))
    return bool(compare(_as_text(actual), wanted))


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return None if math.isnan(number) else number
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, sort_keys=True)
