"""Find runs: parse ``"roc_auc > 0.8"`` into a Condition, search, add metric columns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loopml.domain import Run, RunStatus
from loopml.storage.metadata.protocols import (
    CONDITION_OPS,
    RUN_ATTRIBUTES,
    Condition,
    RunStore,
    classify_key,
)

_EXPRESSION = re.compile(r"^\s*(?P<key>\S+?)\s*(?P<op>>=|<=|==|!=|=|>|<)\s*(?P<value>.*?)\s*$")
_QUOTED = re.compile(r"""^(?P<q>["'])(?P<text>.*)(?P=q)$""")
_USAGE = (
    "write KEY OP VALUE, e.g. 'roc_auc > 0.8', 'params.model == lightgbm' or "
    f"'tags.state != pruned' (OP is one of {' '.join(CONDITION_OPS)})"
)


def parse_condition(text: str) -> Condition:
    """Parse ``KEY OP VALUE`` into a Condition (``=`` reads as ``==``).

    VALUE is a number, a quoted string or a bare word::

        parse_condition("roc_auc > 0.8")            # the latest value of a metric
        parse_condition("params.lr <= 1e-3")
        parse_condition('tags.state == "pruned"')
        parse_condition("status != failed")

    Raises ValueError with the accepted forms when ``text`` is not a condition.
    """
    found = _EXPRESSION.match(text)
    if found is None or not found["value"] or found["value"][0] in "<>=!":
        raise ValueError(f"cannot read the condition '{text}': {_USAGE}")
    op = "==" if found["op"] == "=" else found["op"]
    raw = found["value"]
    quoted = _QUOTED.match(raw)
    value: float | str
    if quoted is not None:
        value = quoted["text"]
    else:
        try:
            value = float(raw)
        except ValueError:
            value = raw
    try:
        return Condition(found["key"], op, value)
    except ValueError as exc:
        raise ValueError(f"cannot use the condition '{text}': {exc}") from None


def parse_order_by(text: str) -> str:
    """Check an ``order_by``: a metric key or name/status/duration, ``-`` first for
    descending (``"-roc_auc"``). Returns it stripped; raises ValueError when invalid."""
    order_by = text.strip()
    kind, name = classify_key(order_by.removeprefix("-"))
    if kind not in ("metric", "attribute"):
        raise ValueError(
            f"cannot sort by '{text}': give a metric key (e.g. -roc_auc for descending) or "
            f"one of {', '.join(RUN_ATTRIBUTES)}"
        )
    return order_by


@dataclass(frozen=True)
class RunTable:
    """Runs found by a search, with the latest value of each metric in ``metric_keys``."""

    runs: tuple[Run, ...]
    metric_keys: tuple[str, ...] = ()
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    total: int | None = None  # runs matching over all pages, when counted

    def value(self, run_id: str, key: str) -> float | None:
        """The latest value of ``key`` in run ``run_id``, or None."""
        return self.metrics.get(run_id, {}).get(key)


def search_runs(
    store: RunStore,
    project_id: str,
    where: Sequence[Condition | str] = (),
    *,
    name: str | None = None,
    status: RunStatus | str | None = None,
    parent_run_id: str | None = None,
    order_by: str | None = None,
    metrics: Sequence[str] = (),
    limit: int = 100,
    offset: int = 0,
    count: bool = False,
) -> RunTable:
    """Search a project's runs and read the metrics to show beside them.

    ``where`` holds Conditions or expressions for ``parse_condition``. The metric columns
    are the metrics named in ``where`` and ``order_by``, then ``metrics``. ``count`` also
    counts the matches over all pages (``total``). Raises ValueError for an invalid
    expression or ``order_by``.
    """
    conditions = [c if isinstance(c, Condition) else parse_condition(c) for c in where]
    keys = [c.name for c in conditions if c.kind == "metric"]
    if order_by:
        kind, key = classify_key(order_by.removeprefix("-"))
        if kind == "metric":
            keys.append(key)
    keys.extend(metrics)
    filters: dict[str, Any] = {
        "where": conditions,
        "name": name,
        "status": RunStatus(status) if status else None,
        "parent_run_id": parent_run_id,
    }
    runs = store.search_runs(project_id, **filters, order_by=order_by, limit=limit, offset=offset)
    metric_keys = tuple(dict.fromkeys(keys))
    ids = [r.run_id for r in runs]
    values = store.latest_metrics(ids, metric_keys) if metric_keys and runs else {}
    total = store.count_runs(project_id, **filters) if count else None
    return RunTable(runs=tuple(runs), metric_keys=metric_keys, metrics=values, total=total)
