"""SQL and Python pieces of ``search_runs``: conditions on metrics, attributes, params, tags.

A metric condition compares the metric's *latest* value (highest step, the last logged on
a tie), kept in ``latest_metrics`` and joined once per metric: filters and sorts go
through its ``(key, value)`` index on SQLite and PostgreSQL alike; a run without the
metric (or whose latest value is NaN, stored as NULL) compares as NULL and never
matches. Attributes are plain columns (``duration`` is computed from the timestamps in
each dialect).

Params are JSON text and tags are rows: both are compared in Python, identically on every
backend, on the runs that the SQL part returns. SQLite (3.40 here) and PostgreSQL disagree
on JSON that Python writes (NaN, infinities) and on comparing mixed types, which is why.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

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
MetricColumns = dict[str, sa.ColumnElement[Any]]


def join_metrics(
    query: sa.Select[Any], conditions: Sequence[Condition], order_by: str | None
) -> tuple[sa.Select[Any], MetricColumns]:
    """``query`` (over ``runs``) joined with ``latest_metrics`` once per metric that a
    condition or ``order_by`` names, and each metric's latest-value column.

    A metric a condition names is an inner join (a run without it never matches); one
    only sorted on is an outer join (runs without it come last).
    """
    filtered = [c.name for c in conditions if c.kind == "metric"]
    sorted_on = []
    if order_by:
        kind, key = classify_key(order_by.removeprefix("-"))
        sorted_on = [key] if kind == "metric" else []
    columns: MetricColumns = {}
    for number, key in enumerate(dict.fromkeys([*filtered, *sorted_on])):
        latest = t.latest_metrics.alias(f"metric_{number}")
        joined = sa.and_(latest.c.run_id == t.runs.c.run_id, latest.c.key == key)
        query = query.join(latest, joined, isouter=key not in filtered)
        columns[key] = latest.c.value
    return query, columns


def duration_seconds(dialect: str) -> sa.ColumnElement[Any]:
    """Seconds from start to end of the run (NULL while it runs), in ``dialect``'s SQL."""
    started, ended = t.runs.c.started_at, t.runs.c.ended_at
    if dialect == "postgresql":
        return sa.extract("epoch", ended - started)
    return (sa.func.julianday(ended) - sa.func.julianday(started)) * 86_400.0


def sql_filter(
    condition: Condition, dialect: str, metrics: MetricColumns
) -> sa.ColumnElement[bool]:
    """The WHERE clause of a metric or attribute condition (``metrics``: the columns of
    ``join_metrics``)."""
    kind, name = condition.kind, condition.name
    compare = _OPERATORS[condition.op]
    if kind == "metric":
        return compare(metrics[name], condition.value)  # type: ignore[no-any-return]
    if name == "duration":
        return compare(duration_seconds(dialect), condition.value)  # type: ignore[no-any-return]
    if kind == "attribute":
        return compare(t.runs.c[name], condition.value)  # type: ignore[no-any-return]
    raise ValueError(f"condition '{condition}' is not evaluated in SQL")


def order_clause(
    order_by: str | None, dialect: str, metrics: MetricColumns
) -> list[sa.ColumnElement[Any]]:
    """ORDER BY for a metric key or attribute (``-`` first for descending), then newest
    (``metrics``: the columns of ``join_metrics``).

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
        expr = metrics[name]
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


def param_prefilter(condition: Condition) -> sa.ColumnElement[bool] | None:
    """A SQL clause every run meeting ``params.KEY == 'text'`` meets (None when there is
    none): the params' JSON text holds ``"KEY": "text"`` as ``to_json`` writes it.

    Only a string param can equal such a text (see ``_as_text``), so a text that is a
    JSON literal, a number or a container gets no prefilter. Python still compares the
    runs it keeps: the clause only spares reading the others.
    """
    wanted = condition.value
    if condition.kind != "param" or condition.op != "==" or not isinstance(wanted, str):
        return None
    if wanted in ("true", "false", "null") or wanted[:1] in ("{", "[") or _parses(wanted):
        return None
    fragment = f"{_json_text(condition.name)}: {_json_text(wanted)}"
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return t.runs.c.params.like(f"%{escaped}%", escape="\\")


def _parses(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _json_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # as codec.to_json writes it


def matches_in_python(
    params: Mapping[str, Any], tags: Mapping[str, str], conditions: Sequence[Condition]
) -> bool:
    """Whether a run's ``params`` and ``tags`` meet every param and tag condition (a
    missing key never does).

    A number compares numerically with a number (or a string that parses as one); a
    string compares with the value as text (``true``, ``false`` and ``null`` for JSON
    literals, numbers as Python prints them).
    """
    for condition in conditions:
        source = params if condition.kind == "param" else tags
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
