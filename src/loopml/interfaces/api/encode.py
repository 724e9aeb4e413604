"""Domain objects as JSON-ready values: dataclasses, mappings, times, enums, NaN."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from fastapi.responses import Response


def plain(value: Any) -> Any:
    """``value`` as dicts, lists, strings, numbers, booleans and None (NaN and infinity
    become None; datetimes ISO 8601 text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as JSON-ready dicts (missing values None, times ISO 8601)."""
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return rows


class FastJSON(Response):
    """A JSON response that orjson writes straight from domain objects: dataclasses,
    datetimes (ISO 8601), enums, mappings; NaN and infinity as null. Returned by a
    route, it skips FastAPI's ``jsonable_encoder`` walk (most of a page of runs' time)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_fallback, option=orjson.OPT_NON_STR_KEYS)


def _fallback(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def fields_of(value: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, one level deep (FastJSON writes what is inside)."""
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
