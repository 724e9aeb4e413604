"""Turn the signals that alert into the actions the spec's policies name.

Every decision is recorded (through the ``record`` callback, an event in the store)
with its evidence before anything is sent, and once more with the outcome: a webhook
that is down is retried, then reported with a clear message; the alert is not lost.
``retrain`` and ``rollback`` act on the project, so the caller hands them in as
``handlers`` (the service's retraining and rollback); a handler that fails is reported
like a webhook that is down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loopml.errors import SpecError
from loopml.spec.monitoring import Policy

log = logging.getLogger("loopml.monitor")
ALERT_EVENT = "monitor.alert"
ALERT_ACTIONS = ("log", "webhook")

Record = Callable[[str, dict[str, Any]], object]
Handler = Callable[[dict[str, Any]], str]
"""Carries out an action with the alert's payload; returns what it did, in words."""


@dataclass(frozen=True)
class ActionResult:
    """What one policy did: its action, the signals that fired it, and how it went."""

    action: str
    signals: tuple[str, ...]
    delivered: bool
    attempts: int
    message: str


def check_policies(policies: Sequence[Policy], handled: Sequence[str] = ()) -> None:
    """SpecError for an action that neither this module nor a handler carries out."""
    known = (*ALERT_ACTIONS, *handled)
    for i, policy in enumerate(policies):
        if policy.action not in known:
            raise SpecError(
                f"monitor.policies[{i}]: action '{policy.action}' cannot be carried out "
                f"here; use one of {', '.join(known)}"
            )


def apply_policies(
    policies: Sequence[Policy],
    alerts: Mapping[str, list[str]],
    evidence: Mapping[str, Any],
    record: Record,
    *,
    handlers: Mapping[str, Handler] | None = None,
    backoff_s: float = 0.5,
) -> list[ActionResult]:
    """Run every policy whose signals alert; returns what each did (never raises for a
    webhook or a handler that fails: its outcome says why)."""
    handlers = handlers or {}
    check_policies(policies, list(handlers))
    results = []
    for policy in policies:
        fired = tuple(s for s in policy.when if s in alerts)
        if not fired:
            continue
        payload = {
            "action": policy.action,
            "signals": list(fired),
            "alerts": {s: alerts[s] for s in fired},
            **evidence,
        }
        if policy.action == "log":
            log.warning("monitor alert (%s): %s", ", ".join(fired), payload.get("model", ""))
            record(ALERT_EVENT, {**payload, "delivered": True})
            results.append(ActionResult("log", fired, True, 1, "recorded as an event"))
            continue
        if policy.action in handlers:
            results.append(_handle(policy.action, handlers[policy.action], payload, record))
            continue
        result = _send(policy, payload, backoff_s)
        record(
            ALERT_EVENT,
            {
                **payload,
                "url": policy.url,
                "delivered": result.delivered,
                "attempts": result.attempts,
                "message": result.message,
            },
        )
        results.append(result)
    return results


def _handle(action: str, handler: Handler, payload: dict[str, Any], record: Record) -> ActionResult:
    """Record the decision, carry it out, record how it went; a failure is a result."""
    fired = tuple(payload["signals"])
    record(ALERT_EVENT, {**payload, "delivered": None, "message": f"{action} started"})
    try:
        message, done = handler(payload), True
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never lost
        message, done = f"{action} failed: {type(exc).__name__}: {exc}", False
        log.error(message)
    record(f"monitor.{action}", {**payload, "delivered": done, "message": message})
    return ActionResult(action, fired, done, 1, message)


def _send(policy: Policy, payload: Mapping[str, Any], backoff_s: float) -> ActionResult:
    """POST ``payload`` as JSON; retry on a network error or a 5xx answer."""
    import httpx

    fired = tuple(payload["signals"])
    attempts, problem = 0, ""
    for attempt in range(policy.retries + 1):
        attempts = attempt + 1
        try:
            response = httpx.post(str(policy.url), json=payload, timeout=policy.timeout_s)
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code < 400:
                return ActionResult(
                    "webhook", fired, True, attempts, f"HTTP {response.status_code}"
                )
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500:
                break  # the hook refuses the request: retrying will not help
        if attempt < policy.retries:
            time.sleep(backoff_s * 2**attempt)
    message = (
        f"webhook {policy.url} failed after {attempts} attempt(s) ({problem}); the alert is "
        "recorded as an event: `loopml events` lists it"
    )
    log.error(message)
    return ActionResult("webhook", fired, False, attempts, message)
