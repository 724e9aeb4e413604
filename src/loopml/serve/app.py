"""The model server: a Starlette app that validates JSON rows, predicts and logs each answer.

Routes: ``POST /predict`` (``{"row": {...}}``, ``{"rows": [...]}`` or, cheapest for big
batches, ``{"columns": {"name": [...], ...}}``), ``POST /explain`` (the same bodies: each
row's prediction with every input column's contribution), ``POST /feedback``
(ground truth for earlier prediction ids), ``GET /health`` (the process is up),
``GET /ready`` (a model is loaded and the server is not shutting down), ``GET /metrics``
(Prometheus), ``GET /admin/deployment`` and ``POST /admin/reload`` (check the store for
a new deployment now). With a token, /predict, /feedback and /admin/* need
``Authorization: Bearer TOKEN`` (or ``X-Loopml-Token``) and answer 401 without it.

The request path: the body is read under a size limit (413), parsed with orjson (400),
checked against the signature in one pass that gathers the values into column arrays
(422 naming each row and field), then queued for the micro-batcher, which scores
concurrent requests in one call of the compiled array model on a worker thread. Logging
happens off the request path. A background task watches the store's active deployment
and swaps the models in service without a restart.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loopml.model.bundle import ModelBundle, Prediction
from loopml.model.checks import InputPolicy, InputReport
from loopml.serve.arrays import compile_bundle
from loopml.serve.batcher import MicroBatcher
from loopml.serve.fastpath import PredictFastPath
from loopml.serve.feedback import parse_feedback
from loopml.serve.logger import PredictionLogger, PredictionSink
from loopml.serve.metrics import ServerMetrics
from loopml.serve.routing import Routing, Slot, routing_for
from loopml.serve.validate import (
    MAX_LISTED_ERRORS,
    RequestError,
    Validator,
    parse_json,
    read_body,
    rows_of,
)

log = logging.getLogger("loopml.serve")


@dataclass(frozen=True)
class ServeOptions:
    """How the server batches, logs and guards; see ``loopml.spec.serving.ServeSpec``."""

    max_body_bytes: int = 16_000_000  # a 10,000-row batch is about 1.7 MB
    batch_window_ms: float = 0.0
    batch_max_rows: int = 256
    log_flush_s: float = 1.0
    log_max_rows: int = 1000
    model_threads: int = 1
    batch_threads: int = 1
    watch_interval_s: float = 1.0
    inline_rows: int = 64
    token: str | None = None
    explain_max_rows: int = 1000
    invalid: str = "refuse"  # the input policy (loopml.model.checks.InputPolicy)
    unknown: Mapping[str, str] = field(default_factory=lambda: {"*": "warn"})
    check_range: bool = False

    @property
    def input_policy(self) -> InputPolicy:
        return InputPolicy(self.invalid, dict(self.unknown), self.check_range)


class DeploymentSource(Protocol):
    """Where the server learns which deployment is active and loads other versions."""

    def active(self) -> Any | None:
        """The active ``Deployment`` of the project, or None."""
        ...

    def load(self, version: int) -> ModelBundle:
        """The verified bundle of ``version`` of the served model."""
        ...


FeedbackSink = Callable[[list[tuple[str, Any]]], int]

Background = Callable[[int], Any]
"""version -> rows like that version's training data (a DataFrame) or None: the reference
``POST /explain`` measures contributions from (None: the explained rows themselves)."""


class ModelServer:
    """The state behind the app: the routing in service, slots, metrics, the watcher."""

    def __init__(
        self,
        bundle: ModelBundle,
        model_name: str,
        version: int,
        sink_for: Callable[[int, bool], PredictionSink],
        options: ServeOptions,
        deployments: DeploymentSource | None,
        background: Background | None = None,
    ) -> None:
        self.model_name = model_name
        self.background = background
        self._backgrounds: dict[int, Any] = {}
        self.options = options
        self.deployments = deployments
        self.sink_for = sink_for
        self.metrics = ServerMetrics()
        self._bundles: dict[int, ModelBundle] = {version: bundle}
        self._compiled: dict[int, Any] = {}
        self._validators: dict[int, Validator] = {}
        self._slots: dict[tuple[int, bool], Slot] = {}
        self._initial_version = version
        self.routing: Routing | None = None
        self.ready = False
        self._watch_key: Any = None
        self._swap_lock = asyncio.Lock()

    # -- models --------------------------------------------------------------------

    def _prepare(self, version: int) -> None:
        """Load and compile ``version`` (on a worker thread: it may unpickle)."""
        if version not in self._compiled:
            bundle = self._bundles.get(version)
            if bundle is None:
                if self.deployments is None:
                    raise LookupError(f"{self.model_name}@{version} is not loaded")
                bundle = self._bundles[version] = self.deployments.load(version)
            self._compiled[version] = compile_bundle(bundle)
            self._validators[version] = Validator.for_bundle(bundle, self.options.input_policy)

    def validator(self, slot: Slot) -> Validator:
        return self._validators[slot.version]

    def _slot(self, version: int, shadow: bool) -> Slot:
        slot = self._slots.get((version, shadow))
        if slot is not None:
            return slot
        model = self._compiled[version]
        logger = PredictionLogger(
            self.sink_for(version, shadow),
            self.options.log_flush_s,
            self.options.log_max_rows,
            schema=model.bundle.signature,
            labels={"model_name": self.model_name, "model_version": version, "shadow": shadow},
        )
        batcher = MicroBatcher(
            model.predict_columns,
            window_s=self.options.batch_window_ms / 1000.0,
            max_rows=self.options.batch_max_rows,
            name=f"v{version}",
            thread_init=_thread_limit(self.options.model_threads),
            inline_rows=self.options.inline_rows,
            big_thread_init=_thread_limit(self.options.batch_threads),
        )
        batcher.start()
        slot = self._slots[(version, shadow)] = Slot(
            self.model_name, version, model, batcher, logger
        )
        return slot

    # -- deployments -----------------------------------------------------------------

    async def start(self) -> None:
        await in_thread(self._prepare, self._initial_version)
        self.routing = Routing(primary=self._slot(self._initial_version, False))
        if self.deployments is not None:
            await self.refresh()
        self.ready = True

    async def refresh(self) -> dict[str, Any]:
        """Apply the store's active deployment if it changed; return the routing in use."""
        assert self.deployments is not None
        deployment = await in_thread(self.deployments.active)
        async with self._swap_lock:
            if deployment is not None and deployment.model_name == self.model_name:
                config = orjson.dumps(dict(deployment.config or {}), option=orjson.OPT_SORT_KEYS)
                key = (deployment.deployment_id, deployment.mode, deployment.version, config)
                if key != self._watch_key:
                    await self._swap(deployment)
                    self._watch_key = key
        assert self.routing is not None
        return self.routing.describe()

    async def _swap(self, deployment: Any) -> None:
        versions = [deployment.version]
        if deployment.mode != "single" and (deployment.config or {}).get("challenger"):
            versions.append(int(deployment.config["challenger"]))
        for version in versions:
            await in_thread(self._prepare, int(version))
        routing = routing_for(deployment, self._slot)
        old, self.routing = self.routing, routing
        log.warning("serving %s (deployment %s)", routing.describe(), deployment.deployment_id)
        keep = {(routing.primary.version, False)}
        if routing.challenger is not None:
            keep.add((routing.challenger.version, routing.mode == "shadow"))
        if old is not None:
            for stale in [k for k in self._slots if k not in keep]:
                slot = self._slots.pop(stale)
                await slot.batcher.stop()
                await in_thread(slot.logger.close)

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.options.watch_interval_s)
            try:
                await self.refresh()
            except Exception:  # noqa: BLE001 - the watcher must survive a store hiccup
                log.exception("could not check the active deployment")

    async def stop(self) -> None:
        self.ready = False
        for slot in list(self._slots.values()):
            await slot.batcher.stop()
        for slot in list(self._slots.values()):
            await in_thread(slot.logger.close)

    # -- predictions -------------------------------------------------------------------

    async def answer_predict(
        self, headers: Mapping[bytes, bytes], body: bytes | None
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON-ready answer) of one ``POST /predict``; ``body`` is None when it
        passed the size limit."""
        started = time.perf_counter()

        def predict(rows: Sequence[Any]) -> Awaitable[dict[str, Any]]:
            return self.predict(rows, datetime.now(UTC), started)

        return await self._answer("predict", headers, body, predict)

    async def _answer(
        self,
        action: str,
        headers: Mapping[bytes, bytes],
        body: bytes | None,
        handle: Callable[[Sequence[Any]], Awaitable[dict[str, Any]]],
        unprocessable: tuple[type[Exception], ...] = (),
    ) -> tuple[int, dict[str, Any]]:
        """Run ``handle`` on the body's rows and turn what goes wrong into a status: 401
        without the token, 413 over the size limit, the request's own 400/422, 422 for
        ``unprocessable`` errors, 500 when the model fails. Counted in the metrics."""
        status, answer = 200, None
        try:
            if not _token_ok(headers, self.options.token):
                status, answer = 401, _UNAUTHORIZED
            elif body is None:
                limit = self.options.max_body_bytes
                raise RequestError(
                    413, f"request body is larger than {limit} bytes; send fewer rows"
                )
            else:
                answer = await handle(rows_of(parse_json(body)))
        except RequestError as exc:
            status, answer = exc.status, exc.body
        except unprocessable as exc:
            status, answer = 422, {"detail": str(exc)}
        except Exception as exc:  # noqa: BLE001 - any model failure is a 500
            ref = self.routing.primary.ref if self.routing else "the model"
            log.exception("model %s failed to %s", ref, action)
            status = 500
            answer = {"detail": f"the model failed to {action}: {type(exc).__name__}"}
        self.metrics.request(action, status)
        return status, answer

    async def predict(self, rows: Sequence[Any], at: datetime, started: float) -> dict[str, Any]:
        routing = self.routing
        assert routing is not None
        primary = routing.primary
        columns, checked = self.validator(primary).checked(rows)
        ids = new_ids(len(rows))
        split = routing.to_challenger(rows, ids)
        if split is None:
            result = await primary.batcher.predict(columns, len(rows))
            parts = [_Part(primary, None, result, columns)]
        else:
            parts = await self._split(routing, rows, columns, split)
        elapsed = time.perf_counter() - started
        for part in parts:
            self._log(part, rows, ids, elapsed, at)
            n = len(rows) if part.index is None else len(part.index)
            self.metrics.predicted(part.slot.name, part.slot.version, n, elapsed, "served")
        if routing.mode == "shadow" and routing.challenger is not None:
            asyncio.get_running_loop().create_task(self._shadow(routing.challenger, rows, ids, at))
        merged = {**_merge(parts, len(rows)), **_intervals(parts, len(rows))}
        answer = {"model": parts[0].slot.ref, "prediction_ids": ids, **merged}
        return answer | self._input_problems(primary, checked)

    def _input_problems(self, slot: Slot, report: InputReport) -> dict[str, Any]:
        """``input_problems`` for the answer (imputed values, unseen categories, by row,
        field, rule, value and action), counted in the metrics; nothing when clean."""
        if not report.problems:
            return {}
        self.metrics.input_problems(slot.name, slot.version, report.counts())
        listed = [p.to_dict() for p in report.problems[:MAX_LISTED_ERRORS]]
        return {"input_problems": listed, "input_problem_count": len(report.problems)}

    async def _split(
        self, routing: Routing, rows: Sequence[Any], columns: Any, split: list[bool]
    ) -> list[_Part]:
        assert routing.challenger is not None
        mask = np.asarray(split)
        to_b = np.flatnonzero(mask).tolist()
        to_a = np.flatnonzero(~mask).tolist()
        challenger_columns = self.validator(routing.challenger).columns_of([rows[i] for i in to_b])
        jobs = [(routing.challenger, to_b, challenger_columns)]
        if to_a:
            jobs.insert(0, (routing.primary, to_a, {k: v[to_a] for k, v in columns.items()}))
        results = await asyncio.gather(*(s.batcher.predict(c, len(i)) for s, i, c in jobs))
        return [_Part(s, i, r, c) for (s, i, c), r in zip(jobs, results, strict=True)]

    async def _shadow(self, slot: Slot, rows: Sequence[Any], ids: list[str], at: datetime) -> None:
        started = time.perf_counter()
        try:
            columns = self.validator(slot).columns_of(rows)
            result = await slot.batcher.predict(columns, len(rows))
        except Exception as exc:  # noqa: BLE001 - a failing shadow never hurts the answer
            log.warning("shadow model %s failed: %s", slot.ref, exc)
            return
        elapsed = time.perf_counter() - started
        self._log(_Part(slot, None, result, columns), rows, ids, elapsed, at)
        self.metrics.predicted(slot.name, slot.version, len(rows), elapsed, "shadow")

    def _log(
        self, part: _Part, rows: Sequence[Any], ids: list[str], elapsed: float, at: datetime
    ) -> None:
        logged = part.result.probabilities
        if logged is not None and logged.ndim == 2:  # multiclass: the predicted class's
            logged = logged.max(axis=1)
        if part.index is not None:
            rows, ids = [rows[i] for i in part.index], [ids[i] for i in part.index]
        part.slot.logger.log(
            rows, ids, part.result.predictions, logged, elapsed * 1000.0, at, columns=part.columns
        )

    # -- explanations ------------------------------------------------------------------

    async def answer_explain(
        self, headers: Mapping[bytes, bytes], body: bytes | None
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON-ready answer) of one ``POST /explain``: the statuses of
        ``/predict``, and 422 for rows the explanation cannot take."""
        from loopml.errors import DataError

        return await self._answer("explain", headers, body, self.explain, (DataError,))

    async def explain(self, rows: Sequence[Any]) -> dict[str, Any]:
        """Each row's prediction by the primary model with every input column's
        contribution and the base value (``loopml.evaluate.explain.explain_prediction``)."""
        limit = self.options.explain_max_rows
        if len(rows) > limit:
            raise RequestError(422, f"explain takes at most {limit} rows; got {len(rows)}")
        assert self.routing is not None
        primary = self.routing.primary
        columns = self.validator(primary).columns_of(rows)
        background = await in_thread(self._background_of, primary.version)
        bundle = primary.model.bundle
        explained = await in_thread(_explain, bundle, columns, background)
        return {"model": primary.ref, "explanations": explained}

    def _background_of(self, version: int) -> Any:
        """The background rows of ``version``, asked for once (None without a source)."""
        if self.background is None:
            return None
        if version not in self._backgrounds:
            self._backgrounds[version] = self.background(version)
        return self._backgrounds[version]


def _explain(bundle: ModelBundle, columns: dict[str, np.ndarray], background: Any) -> Any:
    import pandas as pd

    from loopml.evaluate.explain import explain_prediction

    return explain_prediction(bundle, pd.DataFrame(columns, copy=False), background)


@dataclass(frozen=True)
class _Part:
    """The rows of a request one slot answered (``index`` None: all of them)."""

    slot: Slot
    index: list[int] | None
    result: Prediction
    columns: dict[str, np.ndarray]


async def in_thread(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` on the event loop's default thread pool. (Starlette's
    ``run_in_threadpool`` would import anyio's backend, a tenth of a second of startup.)"""
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def new_ids(n: int) -> list[str]:
    """``n`` random 128-bit prediction ids as 32 hex characters (like ``uuid4().hex``)."""
    text = os.urandom(16 * n).hex()
    return [text[i : i + 32] for i in range(0, 32 * n, 32)]


def _merge(parts: list[_Part], n: int) -> dict[str, Any]:
    """Predictions, probabilities and answering versions in request order."""
    if len(parts) == 1 and parts[0].index is None:
        result = parts[0].result
        probabilities = result.probabilities
        return {
            "versions": [parts[0].slot.version] * n,
            "predictions": _json_list(result.predictions),
            # an array: orjson writes it as it is (it needs C order)
            "probabilities": None if probabilities is None else np.ascontiguousarray(probabilities),
        }
    predictions: list[Any] = [None] * n
    merged: list[Any] | None = None
    versions: list[int] = [0] * n
    for part in parts:
        assert part.index is not None
        values = _json_list(part.result.predictions)
        probs = part.result.probabilities
        probs_list = None if probs is None else probs.tolist()
        if probs_list is not None and merged is None:
            merged = [None] * n
        for k, i in enumerate(part.index):
            predictions[i], versions[i] = values[k], part.slot.version
            if probs_list is not None and merged is not None:
                merged[i] = probs_list[k]
    return {"versions": versions, "predictions": predictions, "probabilities": merged}


def _intervals(parts: list[_Part], n: int) -> dict[str, Any]:
    """``intervals``: ``[low, high]`` per row in request order, for a regressor with a
    conformal interval (``info["interval"]``; None for a row whose version has none);
    nothing when no answering version has one."""
    bounds: list[Any] = [None] * n
    found = False
    for part in parts:
        interval = part.slot.model.bundle.predict_interval(part.result.predictions)
        if interval is None or part.slot.model.bundle.task != "regression":
            continue
        found = True
        pairs = np.column_stack(interval).tolist()
        for k, i in enumerate(range(n) if part.index is None else part.index):
            bounds[i] = pairs[k]
    return {"intervals": bounds} if found else {}


def _thread_limit(threads: int) -> Callable[[], None]:
    def limit() -> None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)

    return limit


def _json_list(values: Any) -> list[Any]:
    """Plain Python values (numpy scalars converted) for a JSON response."""
    array = np.asarray(values)
    if array.dtype == object:
        kinds = set(map(type, array))
        if len(kinds) == 1 and issubclass(kind := kinds.pop(), np.generic):
            array = array.astype(kind)  # labels like np.int64(1): one typed array
        elif any(issubclass(k, np.generic) for k in kinds):
            return [v.item() if isinstance(v, np.generic) else v for v in array.tolist()]
    return array.tolist()  # plain Python values


def _json(status: int, body: Mapping[str, Any]) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


def _authorized(request: Request, token: str | None) -> bool:
    if not token:
        return True
    headers = {k.encode("latin-1"): v.encode("latin-1") for k, v in request.headers.items()}
    return _token_ok(headers, token)


def _token_ok(headers: Mapping[bytes, bytes], token: str | None) -> bool:
    """True without a token, else when ``X-Loopml-Token`` or a Bearer token matches."""
    if not token:
        return True
    given = headers.get(b"x-loopml-token")
    if given is None:
        scheme, _, value = headers.get(b"authorization", b"").partition(b" ")
        given = value.strip() if scheme.lower() == b"bearer" else b""
    return hmac.compare_digest(given, token.encode())


_UNAUTHORIZED = {"detail": "missing or wrong API token; send 'Authorization: Bearer TOKEN'"}


def create_app(
    bundle: ModelBundle,
    *,
    model_name: str,
    version: int,
    sink: PredictionSink | None = None,
    sink_for: Callable[[int, bool], PredictionSink] | None = None,
    options: ServeOptions | None = None,
    deployments: DeploymentSource | None = None,
    feedback: FeedbackSink | None = None,
    background: Background | None = None,
    flush_interval_s: float | None = None,
    max_body_bytes: int | None = None,
    max_buffered_rows: int | None = None,
) -> ServingApp:
    """Build the app that serves ``bundle`` as ``model_name@version``.

    Args:
        sink: where the log of ``version``'s answers goes (each flushed batch).
        sink_for: ``(version, shadow) -> sink`` for every version the deployments bring
            in (and for ``version`` too when ``sink`` is not given).
        options: batching, logging, limits and the API token.
        deployments: the store's active deployment, watched every
            ``options.watch_interval_s``; None serves ``version`` alone.
        feedback: stores ``[(prediction_id, value)]`` from ``POST /feedback``; without
            it the route answers 404.
        background: ``version -> rows`` for ``POST /explain`` (see ``Background``).
        flush_interval_s, max_body_bytes, max_buffered_rows: shortcuts for ``options``.

    The server state is reachable as ``app.state.server`` (a ``ModelServer``).
    """
    options = options or ServeOptions()
    overrides = {
        "log_flush_s": flush_interval_s,
        "max_body_bytes": max_body_bytes,
        "log_max_rows": max_buffered_rows,
    }
    options = ServeOptions(
        **{**options.__dict__, **{k: v for k, v in overrides.items() if v is not None}}
    )
    if sink is None and sink_for is None:
        raise ValueError("create_app needs a sink or a sink_for")

    def pick_sink(v: int, shadow: bool) -> PredictionSink:
        if sink is not None and v == version and not shadow:
            return sink
        if sink_for is None:
            raise LookupError(f"no prediction sink for {model_name}@{v}")
        return sink_for(v, shadow)

    server = ModelServer(bundle, model_name, version, pick_sink, options, deployments, background)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await server.start()
        watcher = None
        if deployments is not None:
            watcher = asyncio.get_running_loop().create_task(server.watch())
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
            await server.stop()

    routes = _routes(server, feedback)
    app = ServingApp(routes=routes, lifespan=lifespan)
    app.fast_path = PredictFastPath(_predict_answer(server), options.max_body_bytes)
    app.state.server = server
    docs = _Docs(f"loopml: {model_name}@{version}", bundle, routes)
    app.router.routes.extend(Route(path, docs) for path in _Docs.PATHS)
    return app


class ServingApp(Starlette):
    """The model server: ``POST /predict`` is answered by ``fast_path`` before any
    middleware or routing; every other route is a plain Starlette route."""

    fast_path: PredictFastPath | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.fast_path is not None and PredictFastPath.handles(scope):
            await self.fast_path(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _predict_answer(server: ModelServer) -> Callable[..., Awaitable[tuple[int, bytes]]]:
    async def answer(headers: dict[bytes, bytes], body: bytes | None) -> tuple[int, bytes]:
        status, payload = await server.answer_predict(headers, body)
        return status, orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)

    return answer


class _Docs:
    """``/openapi.json`` and ``/docs``, built by FastAPI on the first request for them (so
    that a server starts without importing FastAPI): the same paths, with the request
    body of ``/predict`` and ``/explain`` described from the model's signature."""

    PATHS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")

    def __init__(self, title: str, bundle: ModelBundle, routes: list[Route]) -> None:
        self.title = title
        self.bundle = bundle
        self.routes = routes
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            self._app = self._build()
        await self._app(scope, receive, send)

    def _build(self) -> Any:
        from fastapi import FastAPI

        body = Validator.for_bundle(self.bundle).openapi_body()
        docs = FastAPI(title=self.title)
        docs.add_api_route(
            "/predict", _documented, methods=["POST"], openapi_extra=body,
            summary="Predict", description=_PREDICT_DOC,
        )  # fmt: skip
        for route in self.routes:
            docs.add_api_route(
                route.path, _documented, methods=sorted((route.methods or set()) - {"HEAD"}),
                openapi_extra=body if route.path == "/explain" else None,
                summary=route.name.replace("_", " ").capitalize(),
                description=(route.endpoint.__doc__ or "").strip() or None,
            )  # fmt: skip
        return docs


_PREDICT_DOC = (
    "Predictions, probabilities, the answering model version and a prediction id per "
    "row, for one row, a list of rows or columns of values."
)


async def _documented() -> None:  # pragma: no cover - documents a route, never called
    raise NotImplementedError


def _routes(server: ModelServer, feedback: FeedbackSink | None) -> list[Route]:
    options = server.options
    metrics = server.metrics

    async def health(request: Request) -> Response:
        """The process is up."""
        routing = server.routing
        return _json(
            200, {"status": "ok", "model": None if routing is None else routing.primary.ref}
        )

    async def ready(request: Request) -> Response:
        """A model is loaded and the server is not shutting down (else 503)."""
        if not server.ready or server.routing is None:
            return _json(503, {"status": "not ready"})
        return _json(200, {"status": "ready", **server.routing.describe()})

    async def prometheus(request: Request) -> Response:
        """Requests, errors, latency and rows per model version, in Prometheus' format."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    async def explain(request: Request) -> Response:
        """Each row's prediction with every input column's contribution and the base
        value: ``base_value`` + the contributions = ``output`` (``units`` says what)."""
        headers = {k.encode("latin-1"): v.encode("latin-1") for k, v in request.headers.items()}
        try:
            body: bytes | None = await read_body(request, options.max_body_bytes)
        except RequestError:
            body = None
        return _json(*await server.answer_explain(headers, body))

    async def post_feedback(request: Request) -> Response:
        """Ground truth for earlier prediction ids:
        ``{"items": [{"prediction_id": "...", "value": ...}, ...]}``."""
        if not _authorized(request, options.token):
            metrics.request("feedback", 401)
            return _json(401, _UNAUTHORIZED)
        if feedback is None:
            return _json(404, {"detail": "this server does not store feedback"})
        try:
            body = await read_body(request, options.max_body_bytes)
            items = parse_feedback(parse_json(body))
        except RequestError as exc:
            metrics.request("feedback", exc.status)
            return _json(exc.status, exc.body)
        stored = await in_thread(feedback, items)
        metrics.request("feedback", 200)
        return _json(200, {"accepted": stored})

    async def deployment(request: Request) -> Response:
        """The routing in service: versions, mode and split."""
        if not _authorized(request, options.token):
            return _json(401, _UNAUTHORIZED)
        assert server.routing is not None
        return _json(200, server.routing.describe())

    async def reload(request: Request) -> Response:
        """Check the store for a new active deployment now."""
        if not _authorized(request, options.token):
            return _json(401, _UNAUTHORIZED)
        if server.deployments is None:
            return _json(404, {"detail": "this server serves one model; nothing to reload"})
        return _json(200, await server.refresh())

    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/explain", explain, methods=["POST"]),
        Route("/feedback", post_feedback, methods=["POST"]),
        Route("/admin/deployment", deployment, methods=["GET"]),
        Route("/admin/reload", reload, methods=["POST"]),
    ]
