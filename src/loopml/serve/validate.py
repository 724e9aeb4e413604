"""Request checking for the model server: body size, JSON, and the model's signature.

Statuses: 400 for a body that is not JSON, 413 for one larger than the limit, 422
(listing every problem by row index and field) for JSON that does not fit the signature.
Rows are checked in one pass that also gathers the values column by column into the
arrays the compiled model takes (float64 for numbers, objects with NaN elsewhere). Then
the values are checked as batch scoring and ``load_model`` check them
(``loopml.model.checks``: null where schema.yaml says ``nullable: false``, values the
cleaning cannot read, unseen categories, out of range with ``check_range``): a refused
row is a 422 naming row, field, rule and value; imputed values and unseen categories
are scored and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import orjson
from starlette.requests import Request

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.model.bundle import ModelBundle
from loopml.model.checks import InputChecker, InputPolicy, InputReport
from loopml.model.cleaning import CleaningTransformer, Coercion
from loopml.model.values import is_missing, is_null_token

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


def _check_text_or_number(value: Any) -> str | None:
    if type(value) is str or type(value) is int or type(value) is float:
        return None
    return f"expected a number (or a string holding one), got {_describe(value)}"


def _check_text_or_boolean(value: Any) -> str | None:
    if type(value) is bool or type(value) is str or type(value) is int:
        return None
    return f'expected true or false (or a string such as "yes"), got {_describe(value)}'


@dataclass(frozen=True)
class _Column:
    """How one signature column is checked, built into an array, and described in OpenAPI.

    ``source`` is the column's name in the training source when ingestion renamed it (a
    row may use either); ``coercion`` is how the cleaning reads the source's text.
    """

    name: str
    nullable: bool
    check: _Checker
    build: Callable[[Sequence[Any], bool], Any]  # (values, whether a None may be among them)
    json_types: list[str]
    types: frozenset[type] = frozenset()  # Python types that always pass ``check``
    source: str | None = None
    coercion: Coercion | None = None

    @property
    def shown_name(self) -> str:
        """The name clients see documented: the source's."""
        return self.source or self.name


def _float_array(values: Sequence[Any], nulls: bool = True) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)  # None -> NaN


def _object_array(values: Sequence[Any], nulls: bool = True) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    if nulls and None in values:
        values = [np.nan if v is None else v for v in values]
    array[:] = values
    return array


def _number_array(values: Sequence[Any], nulls: bool = True) -> np.ndarray:
    """float64 when every value is a number, else objects for the cleaning to read."""
    if any(type(v) is str for v in values):
        return _object_array(values, nulls)
    return _float_array(values, nulls)


_Rule = tuple[_Checker, Callable[[Sequence[Any], bool], Any], list[str], frozenset[type]]
"""How a kind of column is checked, built, described in JSON and which types always pass."""

_RULES: dict[Any, _Rule] = {  # ColumnKind is a str enum: the text keys differ from its values
    "text or number": (_check_text_or_number, _number_array, ["number", "string"],
                frozenset({int, float, str})),
    "text or boolean": (_check_text_or_boolean, _object_array, ["boolean", "string"],
                frozenset({bool, str, int})),
    ColumnKind.NUMERIC: (_check_number, _float_array, ["number"], frozenset({int, float})),
    ColumnKind.BOOLEAN: (_check_boolean, _object_array, ["boolean"], frozenset({bool})),
    ColumnKind.CATEGORICAL: (_check_category, _object_array, ["string", "number"],
                             frozenset({str, int, float})),
    ColumnKind.ORDINAL: (_check_category, _object_array, ["string", "number"],
                         frozenset({str, int, float})),
    None: (_check_string, _object_array, ["string"], frozenset({str})),
}  # fmt: skip


def _column_for(
    col: ColumnSchema,
    source: str | None = None,
    coercion: Coercion | None = None,
    impute: bool = False,
) -> _Column:
    """Numbers as float64; everything else as an object array (NaN where null) that the
    fitted transform parses as it did in training (categories as strings, dates with the
    format it learnt). A column the cleaning coerces to numbers or booleans also takes the
    source's text."""
    key: Any = col.kind
    if coercion is not None and coercion.to in ("numeric", "boolean"):
        key = f"text or {'number' if coercion.to == 'numeric' else 'boolean'}"
    check, build, json_types, types = _RULES.get(key, _RULES[None])
    nullable = col.nullable or impute  # imputed nulls are counted by the InputChecker
    if nullable:
        types = types | {type(None)}
    return _Column(col.name, nullable, check, build, json_types, types, source, coercion)


_READ_AS = {"numeric": "a number", "boolean": "true or false", "datetime": "a date"}


def _coerced(col: _Column, values: np.ndarray) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """``values`` read as the cleaning reads them, and a problem for each value that held
    something it could not read. Dates are checked but kept as the text the client sent
    (the prediction log stores them so; the model's cleaning step reads them)."""
    coercion = col.coercion
    assert coercion is not None
    before = {"fiub": values.dtype.kind in "fiub", "M": values.dtype.kind == "M"}
    if coercion.to == "numeric" and before["fiub"] or coercion.to == "datetime" and before["M"]:
        return values, []
    if coercion.to == "boolean" and all(type(v) is bool or is_missing(v) for v in values):
        return values, []
    coerced, invalid = coercion.read(values)
    errors = []
    for i in invalid:
        value = values[i]
        what = _READ_AS[coercion.to]
        if coercion.format and coercion.to == "datetime":
            what += f" ({coercion.format})"
        errors.append(
            {
                "row": i,
                "field": col.shown_name,
                "value": value,
                "message": f"cannot read {_describe(value)} as {what}",
            }
        )
    if coercion.to == "datetime":
        return values, errors
    return coerced, errors


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
    """Checks rows against the model's input signature and gathers their values column by
    column, under the clean names, with the source's text coerced as training did."""

    def __init__(
        self,
        signature: Schema,
        cleaner: CleaningTransformer | None = None,
        example: dict[str, Any] | None = None,
        policy: InputPolicy | None = None,
    ) -> None:
        sources = cleaner.source_names() if cleaner is not None else {}
        coercions = cleaner.coercions_ if cleaner is not None else {}
        self.checker = InputChecker(signature, policy)
        self.impute = self.checker.policy.invalid == "impute"
        self.columns = [
            _column_for(col, sources.get(col.name), coercions.get(col.name), self.impute)
            for col in signature.columns
        ]
        self._shown = {c.name: c.shown_name for c in self.columns}
        self.names = frozenset(c.name for c in self.columns)
        self.accepted = self.names | {c.source for c in self.columns if c.source}
        self.known = self.accepted | _source_columns(cleaner)
        self.coerced = [c for c in self.columns if c.coercion is not None]
        self.example = example or {}

    @classmethod
    def for_bundle(cls, bundle: ModelBundle, policy: InputPolicy | None = None) -> Validator:
        """The validator of ``bundle``'s source records (see the class docstring)."""
        return cls(bundle.signature, bundle.cleaner, bundle.info.get("input_example"), policy)

    def columns_of(self, rows: Sequence[Any]) -> dict[str, np.ndarray]:
        """One array per column in signature order; raises RequestError(422) listing
        every problem by row and field."""
        return self.checked(rows)[0]

    def checked(self, rows: Sequence[Any]) -> tuple[dict[str, np.ndarray], InputReport]:
        """``columns_of`` and the input check's report (imputed values, unseen
        categories); RequestError(422) when a row is refused."""
        if isinstance(rows, ColumnLists):
            columns = self._clean_lists(rows)
        else:
            columns = self._clean_columns(rows)
        unreadable: dict[str, list[tuple[int, Any]]] = {}
        if columns is None:
            columns = self._checked_columns(list(rows), unreadable)
        if self.coerced:
            for name, found in self._coerce(columns).items():
                unreadable.setdefault(name, []).extend(found)
        checked, report = self.checker.check(columns, unreadable=unreadable)
        if not report.ok:
            errors = [
                {
                    "row": p.row,
                    "field": self._shown.get(p.column, p.column),
                    "value": p.to_dict()["value"],
                    "rule": p.rule,
                    "message": p.message,
                }
                for p in report.problems
                if p.action == "refused"
            ]
            raise RequestError(422, f"{len(errors)} value(s) break the model's schema", errors)
        return checked, report

    def _coerce(self, columns: dict[str, np.ndarray]) -> dict[str, list[tuple[int, Any]]]:
        """Coerce ``columns`` in place; RequestError(422) for values that cannot be read,
        or (``invalid: impute``) those values by column, for the check to count."""
        errors: list[dict[str, Any]] = []
        for col in self.coerced:
            columns[col.name], problems = _coerced(col, columns[col.name])
            errors += problems
        if errors and not self.impute:
            errors.sort(key=lambda e: e["row"])
            raise RequestError(422, f"{len(errors)} value(s) cannot be read", errors)
        unreadable: dict[str, list[tuple[int, Any]]] = {}
        names = {c.shown_name: c.name for c in self.coerced}
        for e in errors:
            unreadable.setdefault(names[e["field"]], []).append((e["row"], e["value"]))
        return unreadable

    def _known_fields(self, rows: Sequence[dict[str, Any]]) -> bool:
        """Whether every field of every row is a column of the source (the model's, or
        one it does not use, such as an id: those are ignored)."""
        known = self.known
        return all(row.keys() <= known for row in rows)

    def _key_of(self, col: _Column, keys: Any) -> str | None:
        """The name ``col`` goes by among ``keys``: its own or the source's (None when it
        is under neither, or under both)."""
        if col.name in keys:
            return None if col.source in keys else col.name
        return col.source if col.source in keys else None

    def _clean_lists(self, rows: ColumnLists) -> dict[str, np.ndarray] | None:
        """The ``columns`` form checked a list at a time; a missing or unknown column is
        one problem (not one per row); None when some value needs the full check."""
        lists = rows.lists
        errors = [
            {"row": None, "field": name, "message": "unknown column"}
            for name in lists.keys() - self.known
        ]
        keys = {col.name: self._key_of(col, lists) for col in self.columns}
        errors += [
            {
                "row": None,
                "field": col.shown_name,
                "message": _absent(col, lists, "column is missing"),
            }
            for col in self.columns
            if keys[col.name] is None
        ]
        if errors:
            raise RequestError(422, f"{len(errors)} problem(s) in the request", errors)
        out = {}
        for col in self.columns:
            values = lists[keys[col.name]]  # type: ignore[index]
            types = set(map(type, values))
            if not types <= col.types:
                return None
            out[col.name] = col.build(values, type(None) in types)
        return out

    def _clean_columns(self, rows: Sequence[Any]) -> dict[str, np.ndarray] | None:
        """The fast path for rows without a problem (checked a column at a time by the
        set of value types); None as soon as something is off."""
        if set(map(type, rows)) != {dict}:
            return None
        if set(map(len, rows)) != {len(self.columns)} and not self._known_fields(rows):
            return None
        first = rows[0]
        out = {}
        try:
            for col in self.columns:
                key = self._key_of(col, first) if col.source else col.name
                values = [row[key] for row in rows]  # type: ignore[index]
                types = set(map(type, values))
                if not types <= col.types:
                    return None
                out[col.name] = col.build(values, type(None) in types)
        except KeyError:
            return None
        return out

    def _checked_columns(
        self, rows: list[Any], unreadable: dict[str, list[tuple[int, Any]]]
    ) -> dict[str, np.ndarray]:
        """The full check, row by row; with ``invalid: impute``, text where a number
        or a boolean belongs is not a 422 but missing, and put in ``unreadable`` (text
        that means missing, such as "n/a", is only missing)."""
        errors: list[dict[str, Any]] = []
        values: dict[str, list[Any]] = {c.name: [] for c in self.columns}
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                errors.append({"row": i, "field": None, "message": "a row must be an object"})
                continue
            for col in self.columns:
                key = self._key_of(col, row)
                value = row[key] if key is not None else _MISSING
                if value is _MISSING:
                    errors.append({"row": i, "field": col.shown_name, "message": _absent(col, row)})
                elif value is None:
                    if not col.nullable:
                        errors.append(
                            {"row": i, "field": col.shown_name, "message": "may not be null"}
                        )
                else:
                    problem = col.check(value)
                    if problem is not None and self.impute and type(value) is str:
                        if not is_null_token(value):
                            unreadable.setdefault(col.name, []).append((i, value))
                        value = None
                    elif problem is not None:
                        errors.append({"row": i, "field": key, "message": problem})
                values[col.name].append(value)
            if len(row) != len(self.columns) or errors:
                for name in row.keys() - self.known:
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
            "required": list(properties),
            "additionalProperties": False,
        }

    def openapi_body(self) -> dict[str, Any]:
        """The request body's JSON schema: the fields as the source names them, with the
        source's types (text where the cleaning reads it), and an example row of the
        training data."""
        properties: dict[str, dict[str, Any]] = {
            c.shown_name: {"type": [*c.json_types, "null"] if c.nullable else c.json_types}
            for c in self.columns
        }
        for c in self.columns:
            if c.source:
                properties[c.shown_name] |= {"description": f"also accepted as '{c.name}'"}
        row: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }
        example = {
            c.shown_name: self.example[c.shown_name]
            for c in self.columns
            if c.shown_name in self.example
        }
        if example:
            row["example"] = example
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
        content: dict[str, Any] = {"schema": schema}
        if example:
            content["example"] = {"row": example}
        return {"requestBody": {"required": True, "content": {"application/json": content}}}


def _source_columns(cleaner: CleaningTransformer | None) -> set[str]:
    """Every column of the training source, under its source and its clean name."""
    if cleaner is None:
        return set()
    return set(cleaner.aliases_) | set(cleaner.aliases_.values())


def _absent(col: _Column, given: Any, missing: str = "field is missing") -> str:
    """Why ``col`` has no value in ``given`` (a row or the column lists)."""
    if col.source and col.name in given and col.source in given:
        return f"given twice: as '{col.source}' and as '{col.name}'"
    return missing


def parse_json(body: bytes) -> Any:
    """The parsed body; RequestError(400) when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"the body is not valid JSON: {exc}") from None
