"""The body of ``POST /feedback``: ground truth for earlier prediction ids.

``{"items": [{"prediction_id": "...", "value": ...}, ...]}`` or one such object alone.
A value is a string, a number or a boolean. Ids are not checked against the log: a
label may arrive before its prediction is flushed, and monitoring joins the two later
(an id that never matches is simply never joined). Every problem is a 422 naming the
item and the field.
"""

from __future__ import annotations

from typing import Any

from loopml.serve.validate import RequestError

MAX_ITEMS = 10_000
_SHAPE = 'send {"items": [{"prediction_id": "...", "value": ...}]} or one item'


def parse_feedback(payload: Any) -> list[tuple[str, Any]]:
    """``[(prediction_id, value)]`` from a parsed body; raises RequestError(422)."""
    if isinstance(payload, dict) and "items" in payload:
        extra = sorted(set(payload) - {"items"})
        if extra:
            raise RequestError(422, f"unknown key(s) {extra}; {_SHAPE}")
        items = payload["items"]
        if not isinstance(items, list) or not items:
            raise RequestError(422, f"'items' must be a non-empty list; {_SHAPE}")
    elif isinstance(payload, dict):
        items = [payload]
    else:
        raise RequestError(422, f"the body must be a JSON object; {_SHAPE}")
    if len(items) > MAX_ITEMS:
        raise RequestError(422, f"{len(items)} items; send at most {MAX_ITEMS} at a time")
    errors: list[dict[str, Any]] = []
    out: list[tuple[str, Any]] = []
    for i, item in enumerate(items):
        problems = _problems(item)
        errors.extend({"item": i, "field": f, "message": m} for f, m in problems)
        if not problems:
            out.append((item["prediction_id"], item["value"]))
    if errors:
        raise RequestError(422, f"{len(errors)} problem(s) in the feedback", errors)
    return out


def _problems(item: Any) -> list[tuple[str | None, str]]:
    if not isinstance(item, dict):
        return [(None, "an item must be an object")]
    problems: list[tuple[str | None, str]] = []
    prediction_id = item.get("prediction_id")
    if not isinstance(prediction_id, str) or not prediction_id:
        problems.append(("prediction_id", "expected the prediction id string /predict gave"))
    if "value" not in item:
        problems.append(("value", "field is missing"))
    elif not isinstance(item["value"], str | int | float | bool):
        problems.append(("value", "expected a string, a number or a boolean"))
    problems.extend((k, "unknown field") for k in sorted(set(item) - {"prediction_id", "value"}))
    return problems
