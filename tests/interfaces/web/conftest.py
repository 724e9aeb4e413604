"""The web UI in a real browser: Debian's chromium driven by Playwright (nothing is
downloaded), over the team server running for real on loopback (uvicorn in a thread).

One browser for all the web tests, a fresh context and page per test. Every page
records its requests, console messages, page errors and dialogs; when a test ends, no
request may have left 127.0.0.1, no Content-Security-Policy violation may have been
logged, no script error thrown and no dialog opened. A failing test leaves a screenshot
(in ``$LOOPML_TEST_ARTIFACTS`` when set, else the test's ``tmp_path``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from tests.helpers import free_port
from tests.interfaces.api.conftest import (  # noqa: F401 - fixtures used by the web tests
    Server,
    keyed_server,
    password,
    trained_server,
)

from loopml.interfaces.api import build_app

CHROMIUM = Path("/usr/bin/chromium")
WEB = Path(__file__).parent
TIMEOUT_MS = 15_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, for the screenshot on failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@contextmanager
def live(service: Any) -> Iterator[str]:
    """The team server over ``service`` on a free loopback port; yields its URL."""
    port = free_port()
    config = uvicorn.Config(build_app(service), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, name="web-ui-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)


class Chromium:
    """Debian's chromium under Playwright's sync API, launched on first use and stopped
    after the last web test: while it runs, this thread holds Playwright's event loop
    running, and ``asyncio.run`` in any later test would fail."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None

    def get(self) -> Any:
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox"]
            )
        return self._browser

    def stop(self) -> None:
        if self._playwright is not None:
            self._browser.close()
            self._playwright.stop()
        self._playwright = self._browser = None


CHROMIUM_KEY = pytest.StashKey[Chromium]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Stop the browser when the next test is not a web test (or there is none)."""
    result = yield
    chromium = item.config.stash.get(CHROMIUM_KEY, None)
    if chromium is not None and (nextitem is None or WEB not in nextitem.path.parents):
        chromium.stop()
    return result


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Any:
    """The one browser of the web tests; they skip without chromium (fail with
    LOOPML_REQUIRE_BROWSER=1)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("LOOPML_REQUIRE_BROWSER") == "1":
            pytest.fail(f"LOOPML_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    stash = request.config.stash
    if CHROMIUM_KEY not in stash:
        stash[CHROMIUM_KEY] = Chromium()
    return stash[CHROMIUM_KEY].get()


@dataclass
class Watch:
    """What a page did: every request URL, console message, script error and dialog."""

    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m or "Refused to" in m]

    def foreign_hosts(self) -> set[str]:
        hosts = {urlsplit(url).hostname for url in self.requests if not url.startswith("data:")}
        return hosts - {"127.0.0.1"}


@pytest.fixture(scope="session")
def session_watch() -> Watch:
    """Everything every page of the session did (the per-test checks read their own)."""
    return Watch()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(
    browser: Any, watch: Watch, session_watch: Watch, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Any]:
    """A fresh page; after the test, the loopback, CSP, error and dialog checks."""
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)

    def record(kind: str, value: str) -> None:
        getattr(watch, kind).append(value)
        getattr(session_watch, kind).append(value)

    def on_dialog(dialog: Any) -> None:
        record("dialogs", f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    opened.on("request", lambda r: record("requests", r.url))
    opened.on("console", lambda m: record("console", f"{m.type}: {m.text}"))
    opened.on("pageerror", lambda e: record("errors", str(e)))
    opened.on("dialog", on_dialog)
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = Path(os.environ.get("LOOPML_TEST_ARTIFACTS", tmp_path))
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"{request.node.name}.png"
        opened.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failed page: {shot}")
    context.close()
    assert watch.foreign_hosts() == set(), watch.requests
    assert watch.csp_violations() == []
    assert watch.errors == []
    assert watch.dialogs == []


def wait_ready(page: Any) -> None:
    """Wait until the current route has rendered its data."""
    page.wait_for_selector('body[data-ready="1"]', state="attached")


def open_page(page: Any, url: str, hash_route: str) -> None:
    """Go to ``url/#hash_route`` and wait until it has rendered (a change of hash in the
    same page is a hashchange: the page is marked not ready first)."""
    target = f"{url}/#{hash_route}"
    if page.url == target:
        page.reload()
    else:
        if page.url.startswith(url):
            page.evaluate("() => { document.body.dataset.ready = '0'; }")
        page.goto(target)
    wait_ready(page)


def sign_in_with_the_form(page: Any, url: str, role: str) -> None:
    """Sign in through the login form as the user named after ``role``."""
    open_page(page, url, "/login")
    page.fill("#name", role)
    page.fill("#password", password(role))
    page.click("#signin")
    page.wait_for_function("() => location.hash === '#/'")
    wait_ready(page)


def sign_in(page: Any, url: str, role: str) -> None:
    """Sign in as the user named after ``role`` by the API, in the page's cookie jar (the
    quick way: the page asks GET /session for its user and CSRF token when it opens)."""
    response = page.request.post(
        f"{url}/api/v1/session", data={"name": role, "password": password(role)}
    )
    assert response.ok, response.text()


@dataclass
class Live:
    """A fixture server of the API tests, also running for real at ``url``."""

    server: Server
    url: str

    @property
    def project(self) -> str:
        return self.server.project


@pytest.fixture(scope="module")
def trained_live(trained_server: Server) -> Iterator[Live]:  # noqa: F811 - the fixture
    with live(trained_server.service) as url:
        yield Live(trained_server, url)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the browser if a run ended early (interrupted, or -x)."""
    chromium = session.config.stash.get(CHROMIUM_KEY, None)
    if chromium is not None:
        chromium.stop()
