"""The model server: a FastAPI app that validates JSON rows, predicts and logs each answer.

The request path reads the body under a size limit, parses it with orjson, checks every
row against the model's signature in one pass that also gathers the values column by
column, builds one DataFrame for the whole request and calls the model once. Logging is
handed to a ``PredictionLogger`` and happens off the request path.

Statuses: 400 for a body that is not JSON, 413 for one larger than ``max_body_bytes``,
422 (listing every problem by row index and field) for JSON that does not fit the
signature, 500 when the model itself fails.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.serve.logger import PredictionLogger, PredictionSink
from loopml.train.bundle import ModelBundle

log = logging.getLogger("loopml.serve")

MAX_LISTED_ERRORS = 100  # a 422 lists at most this many problems (and counts them all)
_MISSING = object()


class _RequestError(Exception):
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
    build: Callable[[list[Any]], Any]
    json_types: list[str]


def _float_array(values: list[Any]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)  # None -> NaN


def _object_array(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = [np.nan if v is None else v for v in values]
    return array


def _column_for(col: ColumnSchema) -> _Column:
    """Numbers as float64; everything else as an object array (NaN where null) that the
    fitted transform parses as it did in training (categories as strings, dates with the
    format it learnt)."""
    name, nullable = col.name, col.nullable
    if col.kind is ColumnKind.NUMERIC:
        return _Column(name, nullable, _check_number, _float_array, ["number"])
    if col.kind is ColumnKind.BOOLEAN:
        return _Column(name, nullable, _check_boolean, _object_array, ["boolean"])
    if col.kind is ColumnKind.CATEGORICAL:
        return _Column(name, nullable, _check_category, _object_array, ["string", "number"])
    return _Column(name, nullable, _check_string, _object_array, ["string"])


# --- the request -------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    too_large = _RequestError(413, f"request body is larger than {limit} bytes; send fewer rows")
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


def _rows_of(payload: Any) -> list[Any]:
    shape = 'send {"rows": [{...}, ...]} or {"row": {...}}'
    if not isinstance(payload, dict):
        raise _RequestError(422, f"the body must be a JSON object; {shape}")
    extra = sorted(set(payload) - {"rows", "row"})
    if extra or len(payload) != 1:
        found = ", ".join(repr(k) for k in payload) or "no keys"
        raise _RequestError(422, f"found {found}; {shape}")
    if "row" in payload:
        return [payload["row"]]
    rows = payload["rows"]
    if not isinstance(rows, list):
        raise _RequestError(422, f"'rows' must be a list of objects; {shape}")
    if not rows:
        raise _RequestError(422, "'rows' is empty; send at least one row")
    return rows


class _Validator:
    """Checks rows against the signature and gathers their values column by column."""

    def __init__(self, signature: Schema) -> None:
        self.columns = [_column_for(col) for col in signature.columns]
        self.names = frozenset(c.name for c in self.columns)

    def frame(self, rows: list[Any]) -> pd.DataFrame:
        """One DataFrame in signature order; raises _RequestError(422) listing problems."""
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
            raise _RequestError(422, f"{len(errors)} problem(s) in the request", errors)
        return pd.DataFrame({c.name: c.build(values[c.name]) for c in self.columns}, copy=False)

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
            ]
        }
        return {
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
        }


def _json_list(values: Any) -> list[Any]:
    """Plain Python values (numpy scalars converted) for a JSON response."""
    out = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return [v.item() if isinstance(v, np.generic) else v for v in out]


def _json(status: int, body: Mapping[str, Any]) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


def create_app(
    bundle: ModelBundle,
    *,
    model_name: str,
    version: int,
    sink: PredictionSink,
    flush_interval_s: float = 1.0,
    max_body_bytes: int = 1_000_000,
    max_buffered_rows: int = 1000,
) -> FastAPI:
    """Build the FastAPI app that serves ``bundle`` as ``model_name@version``.

    Routes: ``GET /health`` and ``POST /predict`` (``{"rows": [...]}`` or ``{"row": {...}}``).
    Every answered prediction is logged to ``sink`` in batches (every ``flush_interval_s``
    seconds or ``max_buffered_rows`` rows); the app's shutdown flushes what is left.
    The logger is reachable as ``app.state.prediction_logger``.
    """
    ref = f"{model_name}@{version}"
    validator = _Validator(bundle.signature)
    logger = PredictionLogger(sink, flush_interval_s, max_buffered_rows, schema=bundle.signature)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await run_in_threadpool(logger.close)

    app = FastAPI(title=f"loopml: {ref}", lifespan=lifespan)
    app.state.prediction_logger = logger

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "model": ref}

    @app.post("/predict", openapi_extra=validator.openapi_body())
    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        at = datetime.now(UTC)
        try:
            body = await _read_body(request, max_body_bytes)
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise _RequestError(400, f"the body is not valid JSON: {exc}") from None
            rows = _rows_of(payload)
            X = validator.frame(rows)
        except _RequestError as exc:
            return _json(exc.status, exc.body)
        try:
            result = await run_in_threadpool(bundle.predict, X)
        except Exception as exc:  # noqa: BLE001 - any model failure is a 500
            log.exception("model %s failed to predict %d row(s)", ref, len(rows))
            return _json(500, {"detail": f"the model failed to predict: {type(exc).__name__}"})
        ids = [uuid.uuid4().hex for _ in range(len(rows))]
        predictions = _json_list(result.predictions)
        probabilities = result.probabilities
        logged_probabilities = probabilities
        if probabilities is not None:
            if probabilities.ndim == 2:  # multiclass: log the predicted class's probability
                logged_probabilities = probabilities.max(axis=1)
            probabilities = probabilities.tolist()
        latency_ms = (time.perf_counter() - started) * 1000.0
        logger.log(rows, ids, predictions, logged_probabilities, latency_ms, at)
        return _json(
            200,
            {
                "model": ref,
                "prediction_ids": ids,
                "predictions": predictions,
                "probabilities": probabilities,
            },
        )

    return app
