"""The web UI's files as the team server serves them (no browser): the page shell, its
static files by a listed name only, plotly.js from the installed package, all public
and under the Guard's strict Content-Security-Policy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.interfaces.api.conftest import Server, open_server
from tests.registry.conftest import bank_sample, write_project

from loopml.interfaces.api.pages import plotly_js, static_dir

STRICT = "script-src 'self'"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("shell")
    project = write_project(root, bank_sample(bank_csv, rows=100), "subscribed ", ["duration"])
    with open_server(project, fake_versions=0) as opened:
        yield opened


def test_the_shell_and_its_files_are_public_and_strict(server: Server) -> None:
    page = server.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/app.js" defer></script>' in page.text
    assert STRICT in page.headers["content-security-policy"]
    assert "unsafe" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    for name, media_type in [("app.js", "text/javascript"), ("style.css", "text/css")]:
        found = server.client.get(f"/static/{name}")
        assert found.status_code == 200 and found.headers["content-type"].startswith(media_type)
        assert found.content == static_dir().joinpath(name).read_bytes()
    plotly = server.client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and plotly.content == plotly_js().read_bytes()
    assert plotly.headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize(
    "name",
    [
        "..%2f..%2floopml.yaml",
        "..%2fpages.py",
        "%2e%2e%2f__init__.py",
        "%2fetc%2fpasswd",
        "missing.js",
        "..%5c..%5capp.py",
    ],
)
def test_only_files_of_the_static_folder_are_served(server: Server, name: str) -> None:
    response = server.client.get(f"/static/{name}")
    assert response.status_code == 404, (name, response.text)
    assert "import" not in response.text and "project" not in response.text.lower()


def test_traversal_outside_static_never_reaches_a_file(server: Server) -> None:
    for path in ("/static/../pages.py", "/static/../../api/app.py", "/static//etc/passwd"):
        response = server.client.get(path)
        assert response.status_code == 404, (path, response.text)
        assert "def " not in response.text


def test_app_js_never_writes_html_from_data() -> None:
    """Every server value is rendered as text: no innerHTML, outerHTML, insertAdjacentHTML,
    document.write or eval in the app, and no inline handler or script in the shell."""
    app = static_dir().joinpath("app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in app, sink
    shell = static_dir().joinpath("index.html").read_text()
    assert not re.search(r"\son\w+=", shell) and shell.count("<script") == 1


def test_every_style_plotly_would_inject_is_declined_by_the_shell() -> None:
    """plotly.js adds a <style> element (refused by the CSP) unless one with its id is
    there: the shell must name each id this plotly.js uses (update index.html when
    plotly brings a new one)."""
    plotly = plotly_js().read_text()
    injected = set(re.findall(r'getElementById\("([0-9a-f]{16,})"\)\)\{var \w=document', plotly))
    shell = static_dir().joinpath("index.html").read_text()
    declined = set(re.findall(r'<meta id="([^"]+)" class="no-inline-styles">', shell))
    assert injected and injected <= declined
    assert "plotly.js-style-global" in declined
