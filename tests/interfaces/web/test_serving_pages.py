"""The web UI in chromium over a really trained project with logged traffic: a shadow
deployed and rolled back by the operator, the monitoring dashboard, a report in a
sandboxed frame, every page rendered on loopback under the CSP, the audit log paged."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect
from tests.interfaces.web.conftest import Live, open_page, sign_in, wait_ready


def statuses(page: Any) -> list[list[str]]:
    return page.eval_on_selector_all(
        "table#deployments tbody tr", "trs => trs.map(tr => [tr.dataset.mode, tr.dataset.status])"
    )


def test_deploy_a_shadow_and_roll_back_as_the_operator(page: Any, trained_live: Live) -> None:
    service = trained_live.server.service
    before = len(service.list_deployments())
    sign_in(page, trained_live.url, "operator")
    open_page(page, trained_live.url, f"/p/{trained_live.project}/deployments")
    page.fill("#ref", "bank@1")
    page.click("#deploy-submit")
    expect(page.locator(".notice")).to_contain_text("Deployed bank@1 (single)")
    page.fill("#ref", "bank@2")
    page.select_option("#mode", "shadow")
    page.click("#deploy-submit")
    expect(page.locator(".notice")).to_contain_text("Deployed bank@2 (shadow)")
    assert statuses(page)[0] == ["shadow", "active"]
    expect(page.locator("table#deployments tbody tr").first).to_contain_text("operator")
    traffic = page.locator("table#deployments tbody tr td.traffic")
    expect(traffic.first).to_have_text("bank@1 answers; bank@2 scores every request")
    expect(traffic.nth(1)).to_have_text("bank@1: every request")
    page.click("#rollback")
    expect(page.locator(".notice")).to_contain_text("Rolled back")
    assert statuses(page)[0] == ["shadow", "rolled_back"]
    assert [d.status for d in service.list_deployments()][:2] == ["rolled_back", "active"]
    assert len(service.list_deployments()) == before + 2
    assert service.list_events("deployment.rolled_back")[-1].payload["by"] == "operator"


def test_a_refused_deploy_is_shown(page: Any, trained_live: Live) -> None:
    sign_in(page, trained_live.url, "viewer")
    open_page(page, trained_live.url, f"/p/{trained_live.project}/deployments")
    page.fill("#ref", "bank@1")
    page.click("#deploy-submit")
    wait_ready(page)
    expect(page.locator("#outcome .error")).to_contain_text("403")
    expect(page.locator("#outcome .error")).to_contain_text("operator")


def test_monitoring_shows_drift_and_the_live_metric(page: Any, trained_live: Live) -> None:
    sign_in(page, trained_live.url, "viewer")
    open_page(page, trained_live.url, f"/p/{trained_live.project}/monitoring")
    section = page.locator('section.watched[data-ref="bank@1"]')
    expect(section.locator(".live-metric")).to_contain_text("Live roc_auc")
    features = section.locator("table.drift tbody tr").evaluate_all(
        "trs => trs.map(tr => tr.dataset.feature)"
    )
    assert {"age", "balance", "probability"} <= set(features)
    assert section.locator("table.drift tr.drifted").count() >= 1
    assert section.locator("table.windows tbody tr").count() == 3
    expect(section.locator(".chart .main-svg").first).to_be_attached()
    expect(page.locator("#staleness")).to_contain_text("bank@1")


def test_a_report_opens_in_a_sandboxed_frame(page: Any, trained_live: Live) -> None:
    sign_in(page, trained_live.url, "viewer")
    open_page(page, trained_live.url, f"/p/{trained_live.project}/reports")
    page.click('#reports tr[data-name="evaluation-bank-v1.html"] a')
    wait_ready(page)
    frame = page.locator("iframe.report")
    expect(frame).to_have_attribute("sandbox", "allow-scripts")
    expect(frame).to_have_attribute(
        "src", f"/api/v1/projects/{trained_live.project}/reports/evaluation-bank-v1.html"
    )
    expect(page.frame_locator("iframe.report").locator("body")).to_contain_text("bank@1")


PAGES = [
    "/",
    "/p/{p}",
    "/p/{p}/runs",
    "/p/{p}/models",
    "/p/{p}/models/bank/1",
    "/p/{p}/deployments",
    "/p/{p}/monitoring",
    "/p/{p}/snapshots",
    "/p/{p}/events",
    "/p/{p}/reports",
    "/audit",
]


def test_every_page_renders_on_loopback_under_the_csp(page: Any, trained_live: Live) -> None:
    """The page fixture checks what every test's page fetched and logged; this one walks
    through every page as the admin, a snapshot and a run included."""
    sign_in(page, trained_live.url, "admin")
    open_page(page, trained_live.url, f"/p/{trained_live.project}")
    expect(page.locator("#champion a")).to_have_text("bank@1")
    expect(page.locator('#counts tr[data-key="versions"]')).to_contain_text("2")
    for route in PAGES:
        open_page(page, trained_live.url, route.format(p=trained_live.project))
        assert page.locator("main .error").count() == 0, (route, page.inner_text("main"))
    snapshot = page.locator("#lineage .snapshot a")
    open_page(page, trained_live.url, f"/p/{trained_live.project}/models/bank/1")
    snapshot.click()
    wait_ready(page)
    expect(page.locator("#profile")).to_contain_text("balance")
    expect(page.locator("#sources")).to_contain_text("data/data.csv")
    open_page(page, trained_live.url, f"/p/{trained_live.project}/models/bank/1")
    page.click("#lineage .run a")
    wait_ready(page)
    expect(page.locator("#run")).to_contain_text("succeeded")
    page.click("text=Child runs")
    wait_ready(page)
    expect(page.locator("h1")).to_contain_text("Runs under")
    expect(page.locator("#audit")).to_have_count(0)
    open_page(page, trained_live.url, "/audit")
    expect(page.locator("#audit")).to_contain_text("POST")


def audit_ids(page: Any) -> list[int]:
    return page.eval_on_selector_all(
        "#audit tbody tr td:first-child", "tds => tds.map(td => Number(td.textContent))"
    )


def test_the_audit_log_is_paged_newest_first(page: Any, trained_live: Live) -> None:
    service = trained_live.server.service
    before = len(service.list_audit(limit=1000))
    for _ in range(5):  # each sign-in is audited: at least five entries
        sign_in(page, trained_live.url, "admin")
    # the Guard writes an entry once the response is sent: wait for the last sign-in's
    deadline = time.monotonic() + 10
    while len(service.list_audit(limit=1000)) < before + 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    newest = [e.entry_id for e in service.list_audit(limit=1000)]
    assert len(newest) >= 5 and newest == sorted(newest, reverse=True)
    open_page(page, trained_live.url, "/audit?limit=2")
    assert audit_ids(page) == newest[:2]
    expect(page.locator("#prev")).to_be_disabled()
    page.click("#next")
    page.wait_for_function("() => location.hash.includes('offset=2')")
    wait_ready(page)
    assert audit_ids(page) == newest[2:4]
    assert "limit=2" in page.evaluate("location.hash")
    last = len(newest) - 1
    open_page(page, trained_live.url, f"/audit?limit=2&offset={last}")  # the oldest alone
    assert audit_ids(page) == newest[last:]
    expect(page.locator("#next")).to_be_disabled()
    page.click("#prev")
    page.wait_for_function(f"() => location.hash.includes('offset={last - 2}')")
    wait_ready(page)
    assert audit_ids(page) == newest[last - 2 : last]
    expect(page.locator("#next")).to_be_enabled()
