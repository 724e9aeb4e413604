"""Prometheus metrics of one model server (its own registry, served at ``GET /metrics``).

- ``loopml_requests_total{endpoint, status}``: every request to /predict and /feedback;
- ``loopml_request_errors_total{endpoint, status}``: those answered 4xx or 5xx;
- ``loopml_predictions_total{model, version, role}``: rows scored (role: served, shadow);
- ``loopml_predict_latency_seconds{model, version}``: the latency of /predict requests,
  by the version that answered (a request split between versions counts for each);
- ``loopml_input_problems_total{model, version, column, rule, action}``: values scored
  although they broke the schema (action: imputed, warned, counted; see
  ``loopml.model.checks``; refused rows are 422 answers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServerMetrics:
    """Counters and a latency histogram; label children are cached per label set."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "loopml_requests", "Requests", ["endpoint", "status"], registry=self.registry
        )
        self._errors = Counter(
            "loopml_request_errors",
            "Requests answered with an error status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self._predictions = Counter(
            "loopml_predictions",
            "Rows scored",
            ["model", "version", "role"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "loopml_predict_latency_seconds",
            "Latency of /predict requests",
            ["model", "version"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._inputs = Counter(
            "loopml_input_problems",
            "Values scored although they broke the schema",
            ["model", "version", "column", "rule", "action"],
            registry=self.registry,
        )
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: Any) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*map(str, labels))
        return child

    def request(self, endpoint: str, status: int) -> None:
        self._child(self._requests, endpoint, status).inc()
        if status >= 400:
            self._child(self._errors, endpoint, status).inc()

    def predicted(self, model: str, version: int, rows: int, seconds: float, role: str) -> None:
        self._child(self._predictions, model, version, role).inc(rows)
        if role == "served":
            self._child(self._latency, model, version).observe(seconds)

    def input_problems(
        self, model: str, version: int, counts: Mapping[tuple[str, str, str], int]
    ) -> None:
        """Count ``{(column, rule, action): n}`` of one request."""
        for (column, rule, action), n in counts.items():
            self._child(self._inputs, model, version, column, rule, action).inc(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)
