"""The HTML reports: listed from the reports folder, served only by a listed name, under
their own sandboxing Content-Security-Policy (the Guard keeps it)."""

from __future__ import annotations

import pytest
from tests.interfaces.api.conftest import Server

from loopml.interfaces.api.report_routes import REPORT_POLICY


def reports_url(server: Server) -> str:
    return f"/api/v1/projects/{server.project}/reports"


def test_reports_are_listed_and_served_sandboxed(trained_server: Server) -> None:
    auth = trained_server.auth("viewer")
    listed = trained_server.client.get(reports_url(trained_server), headers=auth)
    assert listed.status_code == 200, listed.text
    (report,) = [r for r in listed.json()["reports"] if r["name"] == "evaluation-bank-v1.html"]
    assert report["kind"] == "evaluation" and report["size"] > 1000
    page = trained_server.client.get(report["url"], headers=auth)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "bank@1" in page.text
    assert page.headers["content-security-policy"] == REPORT_POLICY
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert page.headers.get_list("content-security-policy") == [REPORT_POLICY]  # one, not two
    assert page.headers["x-content-type-options"] == "nosniff"
    api = trained_server.client.get(reports_url(trained_server), headers=auth)
    assert api.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in api.headers["content-security-policy"]


@pytest.mark.parametrize(
    "name",
    [
        "..%2f..%2floopml.yaml",
        "..%2fsecret.html",
        "%2e%2e%2floopml.db",
        "%2e%2e",
        "..",
        "%2fetc%2fpasswd",
        "loopml.db",
        "evaluation-bank-v9.html",
        ".evaluation-bank-v1.html",
    ],
)
def test_only_listed_reports_are_served(trained_server: Server, name: str) -> None:
    outside = trained_server.service.reports_dir.parent / "secret.html"
    outside.write_text("<p>not a report</p>")
    response = trained_server.client.get(
        f"{reports_url(trained_server)}/{name}", headers=trained_server.auth("admin")
    )
    assert response.status_code == 404, (name, response.text)
    assert "not a report" not in response.text and "sqlite" not in response.text.lower()


def test_an_absolute_path_is_not_a_report(trained_server: Server) -> None:
    service = trained_server.service
    assert service.report_path("evaluation-bank-v1.html").is_file()
    for name in ("/etc/passwd", str(service.reports_dir / "evaluation-bank-v1.html"), "../x"):
        with pytest.raises(LookupError, match="no report"):
            service.report_path(name)
