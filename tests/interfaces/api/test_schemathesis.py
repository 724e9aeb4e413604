"""Schemathesis over /api/v1 (fixed seed): no request, valid or not, gets a 5xx, and
every request the schema rejects gets a 4xx.

Cases are drawn from the served OpenAPI document for every operation, both inside the
schema and outside it, and each is sent twice: as an admin (every route admits it, so
the data meets the route's own validation) and anonymously (non-public routes: 401).
Schemathesis' pytest integration does not run on pytest 9, so the cases are drawn with
Hypothesis directly from the schema's strategy.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection
from tests.interfaces.api.conftest import BASE, Server

CHECKS = [not_a_server_error, negative_data_rejection]


def api_schema(server: Server) -> Any:
    app: Any = server.client.app
    loaded = schemathesis.openapi.from_dict(app.openapi())
    loaded.app = app  # called in process, with the Host the server answers to
    return loaded


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_answers_4xx_never_5xx(server: Server, mode: GenerationMode) -> None:
    # the served project and model name: random ones would only ever meet a 404
    fixed = {"project": server.project, "name": "bank"}
    cases = api_schema(server).as_strategy(mode, path_parameters=fixed)
    seen: set[str] = set()

    @seed(20261206)
    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def check(data: st.DataObject) -> None:
        case = data.draw(cases)
        seen.add(f"{case.method} {case.path}")
        case.call_and_validate(BASE, headers=server.auth("admin"), checks=CHECKS)
        anonymous = case.call(BASE)
        assert anonymous.status_code < 500, anonymous.text

    check()
    expected = _operations(server, mode)
    assert expected <= seen, f"never tried: {sorted(expected - seen)}"


def _operations(server: Server, mode: GenerationMode) -> set[str]:
    """Every operation, or (negative) those whose inputs can be made invalid: a body or a
    typed query parameter (any text is a valid path segment or free-text query)."""
    found = set()
    for result in api_schema(server).get_all_operations():
        operation = result.ok()
        typed = [
            p
            for p in operation.query
            if p.definition.get("schema", {}).get("type") in ("integer", "number", "boolean")
        ]
        takes_input = bool(typed) or bool(list(operation.body))
        if mode == GenerationMode.POSITIVE or takes_input:
            found.add(f"{operation.method.upper()} {operation.path}")
    return found
