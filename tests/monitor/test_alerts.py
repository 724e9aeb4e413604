"""Policies: a log alert and a webhook (real HTTP server on 127.0.0.1) are recorded as
events in a real store; a hook that is down is retried, reported, and not lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.helpers import free_port

from loopml.errors import SpecError
from loopml.monitor.alerts import ALERT_EVENT, apply_policies, check_policies
from loopml.spec.monitoring import Policy
from loopml.storage.metadata import MetadataStore, open_metadata_store

ALERTS = {"drift": ["age (wasserstein 0.12)"], "quality": ["job: 3.0% new categories"]}
EVIDENCE = {"model": "bank@2", "window_start": "2026-03-01 00:00:00+00:00"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    if request.param == "postgres":
        url = str(request.getfixturevalue("postgres_url"))
    else:
        url = f"sqlite:///{tmp_path / 'loopml.db'}"
    opened = open_metadata_store(url)
    yield opened
    opened.close()


class Hook:
    """A webhook receiver that fails the first ``failures`` requests with ``status``."""

    def __init__(self, failures: int = 0, status: int = 503) -> None:
        self.failures = failures
        self.received: list[dict] = []
        hook, failing = self, status

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.received.append(body)
                failed = len(hook.received) <= hook.failures
                status = failing if failed else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook(failures=2)
    yield server
    server.close()


def run(store: MetadataStore, policies: list[Policy]):
    project_id = store.ensure_project("bank").project_id
    actions = apply_policies(
        policies, ALERTS, EVIDENCE,
        lambda kind, payload: store.add_event(project_id, kind, payload), backoff_s=0.01,
    )  # fmt: skip
    return actions, store.list_events(project_id, ALERT_EVENT)


def test_a_log_policy_records_the_evidence(store: MetadataStore) -> None:
    actions, events = run(store, [Policy(when=["drift"], action="log")])
    assert [(a.action, a.signals, a.delivered) for a in actions] == [("log", ("drift",), True)]
    assert len(events) == 1
    payload = events[0].payload
    assert payload["alerts"] == {"drift": ALERTS["drift"]} and payload["model"] == "bank@2"


def test_policies_whose_signals_are_quiet_do_nothing(store: MetadataStore) -> None:
    actions, events = run(store, [Policy(when=["performance", "operations"], action="log")])
    assert actions == [] and events == []


def test_a_webhook_is_retried_until_it_answers(store: MetadataStore, hook: Hook) -> None:
    policy = Policy(when=["drift", "quality"], action="webhook", url=hook.url, retries=3)
    actions, events = run(store, [policy])
    assert len(hook.received) == 3  # two 503s, then 200
    assert hook.received[-1]["signals"] == ["drift", "quality"]
    assert hook.received[-1]["alerts"] == ALERTS
    assert actions[0].delivered and actions[0].attempts == 3
    assert events[0].payload["delivered"] is True and events[0].payload["url"] == hook.url


def test_a_webhook_that_is_down_is_reported_and_the_alert_kept(store: MetadataStore) -> None:
    url = f"http://127.0.0.1:{free_port()}/down"
    policies = [Policy(action="webhook", url=url, retries=2), Policy(action="log")]
    actions, events = run(store, policies)
    webhook = actions[0]
    assert not webhook.delivered and webhook.attempts == 3
    assert webhook.message.startswith(f"webhook {url} failed after 3 attempt(s) (ConnectError")
    assert [e.payload["action"] for e in events] == ["webhook", "log"]  # nothing lost
    assert events[0].payload["delivered"] is False
    assert events[0].payload["message"] == webhook.message


def test_a_hook_that_refuses_the_request_is_not_retried(store: MetadataStore) -> None:
    hook = Hook(failures=5, status=404)
    try:
        actions, events = run(store, [Policy(action="webhook", url=hook.url, retries=3)])
    finally:
        hook.close()
    assert len(hook.received) == 1 and actions[0].attempts == 1
    assert "(HTTP 404)" in actions[0].message and events[0].payload["delivered"] is False


def test_actions_without_a_handler_are_refused() -> None:
    check_policies([Policy(action="log"), Policy(action="retrain")], ["retrain"])
    with pytest.raises(SpecError, match=r"monitor.policies\[1\]: action 'retrain' cannot"):
        check_policies([Policy(action="log"), Policy(action="retrain")])
    with pytest.raises(SpecError, match="'rollback' cannot be carried out"):
        apply_policies([Policy(action="rollback")], ALERTS, EVIDENCE, lambda *_: None)


def test_handlers_carry_out_actions_and_a_failing_one_is_recorded() -> None:
    recorded: list[tuple[str, dict]] = []
    calls: list[dict] = []

    def retrain(payload: dict) -> str:
        calls.append(payload)
        return "challenger in shadow"

    def rollback(payload: dict) -> str:
        raise RuntimeError("nothing to roll back to")

    policies = [Policy(when="drift", action="retrain"), Policy(when="drift", action="rollback")]
    results = apply_policies(
        policies,
        ALERTS,
        EVIDENCE,
        lambda kind, payload: recorded.append((kind, payload)),
        handlers={"retrain": retrain, "rollback": rollback},
    )
    assert [r.action for r in results] == ["retrain", "rollback"]
    assert results[0].delivered and results[0].message == "challenger in shadow"
    assert not results[1].delivered and "nothing to roll back to" in results[1].message
    assert calls[0]["signals"] == ["drift"] and calls[0]["model"] == EVIDENCE["model"]
    kinds = [kind for kind, _ in recorded]
    assert kinds == [ALERT_EVENT, "monitor.retrain", ALERT_EVENT, "monitor.rollback"]
    assert recorded[-1][1]["delivered"] is False
