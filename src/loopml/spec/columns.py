"""``data.columns`` entries: a kind, or an ordinal column with its order of levels.

In YAML a column is its kind, or a mapping for an ordinal column whose levels are given
lowest first::

    columns:
      age: numeric
      satisfaction: {kind: ordinal, order: [very low, low, medium, high, very high]}
      grade: ordinal                # the order comes from the data (a known scale)

``split_columns`` turns the YAML form into kinds and orders (what ``DataSpec`` holds);
``join_columns`` turns them back (what ``dump_spec`` writes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loopml.domain import ColumnKind

_KEYS = ("kind", "order")


def split_columns(columns: Mapping[Any, Any]) -> tuple[dict[Any, Any], dict[str, list[str]]]:
    """The kind of each column, and the order of the ordinal columns that give one.

    Raises:
        ValueError: an entry is a mapping with another key than ``kind``/``order``, an
            ``order`` on a column that is not ordinal, or an order that is not a list of
            two or more distinct levels.
    """
    kinds: dict[Any, Any] = {}
    orders: dict[str, list[str]] = {}
    for name, entry in columns.items():
        if not isinstance(entry, Mapping):
            kinds[name] = entry
            continue
        where = f"columns.{name}"
        unknown = [str(k) for k in entry if k not in _KEYS]
        if unknown:
            raise ValueError(
                f"{where}: unknown key '{unknown[0]}'; a column is a kind (numeric, "
                "categorical, ...) or {kind: ordinal, order: [lowest, ..., highest]}"
            )
        kind = entry.get("kind", ColumnKind.ORDINAL.value)
        kinds[name] = kind
        if "order" in entry:
            if str(kind) != ColumnKind.ORDINAL.value:
                raise ValueError(f"{where}: 'order' applies to 'kind: ordinal' only")
            orders[str(name)] = check_order(entry["order"], f"{where}.order")
    return kinds, orders


def check_order(order: Any, where: str) -> list[str]:
    """``order`` as category strings (``1`` is ``"1"``); ValueError unless it is a list of
    at least two distinct levels."""
    if not isinstance(order, Sequence) or isinstance(order, str):
        raise ValueError(f"{where}: give the levels as a list, lowest first: [low, high]")
    levels = [level_text(v) for v in order]
    if len(levels) < 2:
        raise ValueError(f"{where}: an order needs at least two levels")
    repeated = sorted({v for v in levels if levels.count(v) > 1})
    if repeated:
        raise ValueError(f"{where}: the level '{repeated[0]}' is listed twice")
    return levels


def level_text(value: Any) -> str:
    """A level as the data's category strings spell it: ``1.0`` and ``1`` are ``"1"``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def join_columns(
    kinds: Mapping[str, ColumnKind], orders: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """The YAML form of ``kinds`` and ``orders`` (see the module docstring)."""
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        if name in orders:
            out[name] = {"kind": str(kind), "order": list(orders[name])}
        else:
            out[name] = str(kind)
    return out
