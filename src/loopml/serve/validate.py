"""Request checking for the model server: body size, JSON, and the model's signature.

Statuses: 400 for a body that is not JSON, 413 for one larger than the limit, 422
(listing every problem by row index and field) for JSON that does not fit the signature.
Rows are checked in one pass that also gathers the values column by column into the
arrays the compiled model takes (float64 for numbers, objects with NaN elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import orjson
from starlette.requests import Request

from loopml.domain import ColumnKind, ColumnSchema, Schema

MAX_LISTED_ERRORS = 100  # a 422 lists at most this many problems (and counts them all)
_MISSING = object()


class RequestError(Exception):
    """A request the server refuses: ``status`` and a JSON-ready ``body``."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status = status
        self.body: dict[str, Any] = {"detail": detail}
        if errors is not None:
            self.body["errors"] = errors[:MAX_LISTED_ERRORS]
            self.body["error_count"] = len(errors)


# --- checking one value ------------------------------------------------------------------

# Each checker returns None when ``value`` (not None) fits the column, else the problem.
_Checker = Callable[[Any], str | None]


_JSON_KINDS: dict[type, str] = {
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    list: "a list",
    dict: "an object",
}


def _describe(value: Any) -> str:
    """``value`` as the client wrote it: ``a string ("forty")``, ``a boolean (true)``."""
    shown = orjson.dumps(value).decode()
    shown = shown if len(shown) <= 40 else shown[:40] + "..."
    return f"{_JSON_KINDS.get(type(value), type(value).__name__)} ({shown})"


def _check_number(value: Any) -> str | None:
    if type(value) is int or type(value) is float:
        return None
    return f"expected a number, got {_describe(value)}"


def _check_category(value: Any) -> str | None:
    if type(value) is str or type(value) is int or type(value) is float:
        return None
    return f"expected a string (or a number), got {_describe(value)}"


def _check_string(value: Any) -> str | None:
    return None if type(value) is str else f"expected a string, got {_describe(value)}"


def _check_boolean(value: Any) -> str | None:
    return None if type(value) is bool else f"expected true or false, got {_describe(value)}"


@dataclass(frozen=True)
class _Column:
    """How one signature column is checked, built into an array, and described in OpenAPI."""

    name: str
    nullable: bool
    check: _Checker
    build: Callable[[Sequence[Any], bool], Any]  # (values, whether a None may be among them)
    json_types: list[str]
    types: frozenset[type] = frozenset()  # Python types that always pass ``check``


def _float_array(values: Sequence[Any], nulls: bool = True) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)  # None -> NaN


def _object_array(values: Sequence[Any], nulls: bool = True) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    if nulls and None in values:
        values = [np.nan if v is None else v for v in values]
    array[:] = values
    return array


def _column_for(col: ColumnSchema) -> _Column:
    """Numbers as float64; everything else as an object array (NaN where null) that the
    fitted transform parses as it did in training (categories as strings, dates with the
    format it learnt)."""
    name, nullable = col.name, col.nullable
    null: set[type] = {type(None)} if nullable else set()
    if col.kind is ColumnKind.NUMERIC:
        types: frozenset[type] = frozenset({int, float, *null})
        return _Column(name, nullable, _check_number, _float_array, ["number"], types)
    if col.kind is ColumnKind.BOOLEAN:
        types = frozenset({bool, *null})
        return _Column(name, nullable, _check_boolean, _object_array, ["boolean"], types)
    if col.kind is ColumnKind.CATEGORICAL:
        types = frozenset({str, int, float, *null})
        json_types = ["string", "number"]
        return _Column(name, nullable, _check_category, _object_array, json_types, types)
    types = frozenset({str, *null})
    return _Column(name, nullable, _check_string, _object_array, ["string"], types)


# --- the request -------------------------------------------------------------------------


async def read_body(request: Request, limit: int) -> bytes:
    too_large = RequestError(413, f"request body is larger than {limit} bytes; send fewer rows")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


_SHAPE = 'send {"rows": [{...}, ...]}, {"row": {...}} or {"columns": {"name": [...], ...}}'


class ColumnLists(Sequence[dict[str, Any]]):
    """The body's ``{"columns": {name: [values]}}`` form: one list per field, all the same
    length. Validation reads the lists as they are; rows are built only when asked for
    (a split or a 422 needs them)."""

    def __init__(self, lists: dict[str, list[Any]], n: int) -> None:
        self.lists = lists
        self.n = n

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self.n))]
        return {name: values[i] for name, values in self.lists.items()}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        names = list(self.lists)
        columns = zip(*self.lists.values(), strict=True)
        return (dict(zip(names, values, strict=True)) for values in columns)


def rows_of(payload: Any) -> Sequence[Any]:
    """The rows of a parsed body in any of its three forms; RequestError(422) for a body
    of another shape."""
    if not isinstance(payload, dict):
        raise RequestError(422, f"the body must be a JSON object; {_SHAPE}")
    extra = sorted(set(payload) - {"rows", "row", "columns"})
    if extra or len(payload) != 1:
        found = ", ".join(repr(k) for k in payload) or "no keys"
        raise RequestError(422, f"found {found}; {_SHAPE}")
    if "row" in payload:
        return [payload["row"]]
    if "columns" in payload:
        return _column_lists(payload["columns"])
    rows = payload["rows"]
    if not isinstance(rows, list):
        raise RequestError(422, f"'rows' must be a list of objects; {_SHAPE}")
    if not rows:
        raise RequestError(422, "'rows' is empty; send at least one row")
    return rows


def _column_lists(lists: Any) -> ColumnLists:
    if not isinstance(lists, dict) or not lists:
        raise RequestError(422, f"'columns' must be an object of lists; {_SHAPE}")
    bad = [name for name, values in lists.items() if not isinstance(values, list)]
    if bad:
        raise RequestError(422, f"'columns': {', '.join(map(repr, bad))} must be lists")
    lengths = {name: len(values) for name, values in lists.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name!r} has {n}" for name, n in lengths.items())
        raise RequestError(422, f"'columns' must be lists of one length; {shown}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise RequestError(422, "'columns' are empty; send at least one row")
    return ColumnLists(lists, n)


class Validator:
    """Checks rows against the signature and gathers their values column by column."""

    def __init__(self, signature: Schema) -> None:
        self.columns = [_column_for(col) for col in signature.columns]
        self.names = frozenset(c.name for c in self.columns)

    def columns_of(self, rows: Sequence[Any]) -> dict[str, np.ndarray]:
        """One array per column in signature order; raises RequestError(422) listing
        every problem by row and field."""
        if isinstance(rows, ColumnLists):
            columns = self._clean_lists(rows)
        else:
            columns = self._clean_columns(rows)
        return columns if columns is not None else self._checked_columns(list(rows))

    def _clean_lists(self, rows: ColumnLists) -> dict[str, np.ndarray] | None:
        """The ``columns`` form checked a list at a time; a missing or unknown column is
        one problem (not one per row); None when some value needs the full check."""
        lists = rows.lists
        errors = [
            {"row": None, "field": name, "message": "unknown column"}
            for name in lists.keys() - self.names
        ]
        errors += [
            {"row": None, "field": col.name, "message": "column is missing"}
            for col in self.columns
            if col.name not in lists
        ]
        if errors:
            raise RequestError(422, f"{len(errors)} problem(s) in the request", errors)
        out = {}
        for col in self.columns:
            values = lists[col.name]
            types = set(map(type, values))
            if not types <= col.types:
                return None
            out[col.name] = col.build(values, type(None) in types)
        return out

    def _clean_columns(self, rows: Sequence[Any]) -> dict[str, np.ndarray] | None:
        """The fast path for rows without a problem (checked a column at a time by the
        set of value types); None as soon as something is off."""
        if set(map(type, rows)) != {dict} or set(map(len, rows)) != {len(self.columns)}:
            return None
        out = {}
        try:
            for col in self.columns:
                values = [row[col.name] for row in rows]
                types = set(map(type, values))
                if not types <= col.types:
                    return None
                out[col.name] = col.build(values, type(None) in types)
        except KeyError:
            return None
        return out

    def _checked_columns(self, rows: list[Any]) -> dict[str, np.ndarray]:
        errors: list[dict[str, Any]] = []
        values: dict[str, list[Any]] = {c.name: [] for c in self.columns}
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                errors.append({"row": i, "field": None, "message": "a row must be an object"})
                continue
            for col in self.columns:
                value = row.get(col.name, _MISSING)
                if value is _MISSING:
                    errors.append({"row": i, "field": col.name, "message": "field is missing"})
                elif value is None:
                    if not col.nullable:
                        errors.append({"row": i, "field": col.name, "message": "may not be null"})
                else:
                    problem = col.check(value)
                    if problem is not None:
                        errors.append({"row": i, "field": col.name, "message": problem})
                values[col.name].append(value)
            if len(row) != len(self.columns) or errors:
                for name in row.keys() - self.names:
                    errors.append({"row": i, "field": name, "message": "unknown field"})
        if errors:
            raise RequestError(422, f"{len(errors)} problem(s) in the request", errors)
        return {c.name: c.build(values[c.name], True) for c in self.columns}

    def _openapi_columns(self, properties: dict[str, Any]) -> dict[str, Any]:
        """The ``columns`` form: one list of values per field."""
        lists = {name: {"type": "array", "items": kind} for name, kind in properties.items()}
        return {
            "type": "object",
            "properties": lists,
            "required": [c.name for c in self.columns],
            "additionalProperties": False,
        }

    def openapi_body(self) -> dict[str, Any]:
        properties = {
            c.name: {"type": [*c.json_types, "null"] if c.nullable else c.json_types}
            for c in self.columns
        }
        row = {
            "type": "object",
            "properties": properties,
            "required": [c.name for c in self.columns],
            "additionalProperties": False,
        }
        schema = {
            "oneOf": [
                {"type": "object", "properties": {"row": row}, "required": ["row"]},
                {
                    "type": "object",
                    "properties": {"rows": {"type": "array", "items": row, "minItems": 1}},
                    "required": ["rows"],
                },
                {
                    "type": "object",
                    "properties": {"columns": self._openapi_columns(properties)},
                    "required": ["columns"],
                },
            ]
        }
        return {
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
        }


def parse_json(body: bytes) -> Any:
    """The parsed body; RequestError(400) when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"the body is not valid JSON: {exc}") from None
