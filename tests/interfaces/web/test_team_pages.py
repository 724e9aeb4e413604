"""The web UI in chromium over a project with 10,000 seeded runs: signing in and out, one
run found among them with the where language and paged by the API, runs compared with
plotly curves (picked on two pages), a version approved (and refused to a viewer), and
hostile names shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect
from tests.interfaces.api.conftest import open_server
from tests.interfaces.web.conftest import (
    Live,
    live,
    open_page,
    sign_in,
    sign_in_with_the_form,
    wait_ready,
)
from tests.interfaces.web.seed import seed_runs
from tests.registry.conftest import bank_sample, write_project

from loopml.domain import Metric, RunStatus, Schema

SEEDED = 10_000
HOSTILE = '<img src=x onerror="alert(1)">'
SCRIPT = "<script>alert(2)</script>"


@dataclass
class Team(Live):
    seeded: list[str] = field(default_factory=list)  # the seeded run ids, in order


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> Iterator[Team]:
    root = tmp_path_factory.mktemp("team")
    project = write_project(root, bank_sample(bank_csv, rows=200), "subscribed ", ["duration"])
    with open_server(project) as server:
        seeded = seed_runs(server.service.store, server.service.project.project_id)
        with live(server.service) as url:
            yield Team(server, url, seeded)


def rows(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "table#runs tbody tr", "trs => trs.map(tr => tr.dataset.runId)"
    )


def search(page: Any, where: str, sort: str = "", metrics: str = "") -> None:
    page.fill("#where", where)
    page.fill("#sort", sort)
    page.fill("#metrics", metrics)
    page.press("#where", "Enter")
    page.wait_for_function("() => location.hash.includes('where=')")
    wait_ready(page)


def test_sign_in_refused_then_in_then_out(page: Any, team: Team) -> None:
    open_page(page, team.url, "/login")
    page.fill("#name", "viewer")
    page.fill("#password", "not-the-password")
    page.click("#signin")
    expect(page.locator(".error")).to_contain_text("wrong user name or password")
    assert page.evaluate("location.hash") == "#/login"
    sign_in_with_the_form(page, team.url, "viewer")
    expect(page.locator("#who")).to_have_text("viewer (viewer)")
    expect(page.locator(f'#projects li[data-project="{team.project}"] a')).to_be_visible()
    page.click("#signout")
    page.wait_for_function("() => location.hash === '#/login'")
    expect(page.locator("#signout")).to_be_hidden()
    open_page(page, team.url, f"/p/{team.project}/runs")  # the cookie is gone: 401
    page.wait_for_function("() => location.hash === '#/login'")


def test_find_one_run_among_ten_thousand_and_page(page: Any, team: Team) -> None:
    seeded = team.seeded
    sign_in(page, team.url, "viewer")
    open_page(page, team.url, f"/p/{team.project}/runs")
    search(page, "trial == 4321 and roc_auc > 0.1")
    assert rows(page) == [seeded[4321]]
    assert "where=trial" in page.evaluate("location.hash")
    search(page, "trial >= 0", sort="-trial", metrics="f1, accuracy")
    first = rows(page)
    header = page.eval_on_selector_all(
        "table#runs thead th", "ths => ths.map(th => th.textContent)"
    )
    assert {"trial", "f1", "accuracy"} <= set(header) and "log_loss" not in header
    column = header.index("f1") + 1
    first_f1 = page.text_content(f'tr[data-run-id="{seeded[-1]}"] td:nth-child({column})')
    assert first_f1 == f"{0.3 + ((SEEDED - 1) % 700) / 1000:#.4g}"  # toPrecision(4)
    assert first[:2] == [seeded[SEEDED - 1], seeded[SEEDED - 2]] and len(first) == 50
    api = team.server.client.get(
        f"/api/v1/projects/{team.project}/runs",
        params={"where": "trial >= 0", "limit": 1},
        headers=team.server.auth("viewer"),
    ).json()
    counted = api.get("total")  # an int, or None when the store does not count
    assert page.text_content("#total") == ("?" if counted is None else str(SEEDED))
    page.click("#next")
    page.wait_for_function("() => location.hash.includes('offset=50')")
    wait_ready(page)
    second = rows(page)
    assert second[0] == seeded[SEEDED - 51] and not set(first) & set(second)
    page.reload()  # the filter, sort and page live in the hash
    wait_ready(page)
    assert rows(page) == second and page.input_value("#where") == "trial >= 0"
    page.click("#prev")
    page.wait_for_function("() => !location.hash.includes('offset=')")
    wait_ready(page)
    assert rows(page) == first


def test_compare_two_runs_draws_curves_and_marks_differing_params(page: Any, team: Team) -> None:
    store, project_id = team.server.service.store, team.server.service.project.project_id
    a = store.create_run(project_id, "train", params={"lr": 0.1, "depth": 3})
    b = store.create_run(project_id, "train", params={"lr": 0.2, "depth": 3})
    store.log_metrics(a.run_id, [Metric("loss", 1.0 / (s + 1), step=s) for s in range(3)])
    store.log_metrics(b.run_id, [Metric("loss", 2.0 - s / 10, step=s) for s in range(3)])
    sign_in(page, team.url, "viewer")
    open_page(page, team.url, f"/p/{team.project}/runs")
    search(page, "loss > 0")
    assert sorted(rows(page)) == sorted([a.run_id, b.run_id])
    for run_id in (a.run_id, b.run_id):
        page.check(f'tr[data-run-id="{run_id}"] input.pick')
    page.click("#compare")
    page.wait_for_function("() => location.hash.includes('/compare?id=')")
    wait_ready(page)
    expect(page.locator('.curve[data-metric="loss"] .main-svg').first).to_be_attached()
    differing = page.eval_on_selector_all(
        '#params tr[data-differs="1"]', "trs => trs.map(tr => tr.dataset.key)"
    )
    assert differing == ["lr"]
    expect(page.locator('#params tr[data-key="depth"]')).not_to_have_class("differs")
    # parallel coordinates: a line per run over one axis per numeric param and metric
    expect(page.locator("#parallel .main-svg").first).to_be_attached()
    axes = page.eval_on_selector("#parallel", "div => div.layout.xaxis.ticktext")
    assert sorted(axes) == ["depth", "loss", "lr"]
    lines = page.eval_on_selector("#parallel", "div => div.data.map(t => t.y)")
    assert len(lines) == 2 and all(0 <= y <= 1 for line in lines for y in line)


def test_picks_outlive_pages_and_filters_and_compare_runs_of_two_pages(
    page: Any, team: Team
) -> None:
    seeded = team.seeded
    first_pick, second_pick = seeded[SEEDED - 1], seeded[SEEDED - 52]  # pages 1 and 2
    sign_in(page, team.url, "viewer")
    open_page(page, team.url, f"/p/{team.project}/runs")
    search(page, "trial >= 0", sort="-trial")
    expect(page.locator("#compare")).to_have_text("Compare (0)")
    expect(page.locator("#clear-picks")).to_be_disabled()
    page.check(f'tr[data-run-id="{first_pick}"] input.pick')
    expect(page.locator("#compare")).to_have_text("Compare (1)")
    page.click("#compare")  # one pick is not enough
    expect(page.locator("#compare-problem .error")).to_contain_text("two runs or more")
    page.click("#next")
    page.wait_for_function("() => location.hash.includes('offset=50')")
    wait_ready(page)
    expect(page.locator("#compare")).to_have_text("Compare (1)")
    page.check(f'tr[data-run-id="{second_pick}"] input.pick')
    expect(page.locator("#compare")).to_have_text("Compare (2)")
    page.click("#prev")
    page.wait_for_function("() => !location.hash.includes('offset=')")
    wait_ready(page)
    expect(page.locator(f'tr[data-run-id="{first_pick}"] input.pick')).to_be_checked()
    assert page.locator("input.pick:checked").count() == 1
    search(page, "trial == 7")  # another filter, neither pick shown: both still kept
    assert rows(page) == [seeded[7]]
    page.reload()
    wait_ready(page)
    expect(page.locator("#compare")).to_have_text("Compare (2)")
    page.click("#compare")
    page.wait_for_function("() => location.hash.includes('/compare?id=')")
    wait_ready(page)
    expect(page.locator("h1")).to_have_text("Comparing 2 runs")
    compared = page.eval_on_selector_all(
        "#params thead th a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert sorted(h.rsplit("/", 1)[1] for h in compared) == sorted([first_pick, second_pick])
    page.evaluate("() => { document.body.dataset.ready = '0'; }")
    page.go_back()  # a hashchange: marked not ready above
    wait_ready(page)
    assert rows(page) == [seeded[7]]
    page.click("#clear-picks")
    expect(page.locator("#compare")).to_have_text("Compare (0)")
    expect(page.locator("#clear-picks")).to_be_disabled()
    search(page, "trial >= 0", sort="-trial")
    assert page.locator("input.pick:checked").count() == 0
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.includes('picks'))") == []


def version_status(team: Team, version: int) -> Any:
    path = f"/api/v1/projects/{team.project}/models/bank/versions/{version}"
    return team.server.client.get(path, headers=team.server.auth("viewer")).json()["status"]


def test_approve_and_reject_as_approver_refused_to_a_viewer(page: Any, team: Team) -> None:
    version_page = f"/p/{team.project}/models/bank/5"
    sign_in(page, team.url, "viewer")
    open_page(page, team.url, version_page)
    page.fill("#note", "looks fine")
    page.click("#approve")
    wait_ready(page)
    expect(page.locator("#decision .error")).to_contain_text("403")
    expect(page.locator("#decision .error")).to_contain_text("viewer is viewer")
    assert version_status(team, 5) is None
    assert team.server.service.list_events("model.approved") == []
    page.click("#signout")
    page.wait_for_function("() => location.hash === '#/login'")
    sign_in(page, team.url, "approver")
    open_page(page, team.url, version_page)
    page.fill("#note", "looks fine")
    page.click("#approve")
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator(".notice")).to_contain_text("bank@5 approved")
    assert version_status(team, 5) == "approved"
    (event,) = team.server.service.list_events("model.approved")
    assert event.payload["by"] == "approver" and event.payload["note"] == "looks fine"
    open_page(page, team.url, f"/p/{team.project}/models/bank/6")
    page.click("#reject")
    expect(page.locator("#decision .error")).to_contain_text("say why")  # a reason is required
    page.fill("#note", "worse on recent data")
    page.click("#reject")
    expect(page.locator("#status")).to_have_text("rejected")
    assert version_status(team, 6) == "rejected"
    open_page(page, team.url, f"/p/{team.project}/models")
    expect(page.locator('#versions tr[data-version="5"] .status')).to_have_text("approved")
    open_page(page, team.url, f"/p/{team.project}/events")
    page.fill("#kind", "model.approved")
    page.press("#kind", "Enter")
    page.wait_for_function("() => location.hash.includes('kind=model.approved')")
    wait_ready(page)
    assert page.locator("#events tbody tr").count() == 1
    expect(page.locator("#events tbody tr")).to_contain_text("looks fine")
    # every kind, newest first, one a page, as the store has them
    newest = [e.kind for e in reversed(team.server.service.list_events())]
    open_page(page, team.url, f"/p/{team.project}/events?limit=1")
    expect(page.locator("#total")).to_have_text(str(len(newest)))
    expect(page.locator("#events tbody tr")).to_have_attribute("data-kind", newest[0])
    expect(page.locator("#prev")).to_be_disabled()
    page.click("#next")
    wait_ready(page)
    expect(page.locator("#events tbody tr")).to_have_attribute("data-kind", newest[1])
    expect(page.locator("#prev")).to_be_enabled()


def test_hostile_names_show_as_text(page: Any, team: Team) -> None:
    store, project_id = team.server.service.store, team.server.service.project.project_id
    run = store.create_run(project_id, HOSTILE, params={SCRIPT: HOSTILE}, tags={"note": SCRIPT})
    store.log_metrics(run.run_id, [Metric("hostile", 1.0)])
    store.finish_run(run.run_id, RunStatus.SUCCEEDED)
    store.create_model_version(
        project_id,
        "bank",
        run_id=run.run_id,
        artifact_digest="1" * 64,
        signature=Schema(columns=()),
        metrics={SCRIPT: 0.5},
        lineage={"gate": HOSTILE},
    )
    sign_in(page, team.url, "viewer")
    open_page(page, team.url, f"/p/{team.project}/runs")
    search(page, "hostile == 1")
    expect(page.locator(f'tr[data-run-id="{run.run_id}"]')).to_contain_text(HOSTILE)
    open_page(page, team.url, f"/p/{team.project}/runs/{run.run_id}")
    expect(page.locator("h1")).to_contain_text(HOSTILE)
    expect(page.locator("#params")).to_contain_text(SCRIPT)
    expect(page.locator("#tags")).to_contain_text(SCRIPT)
    open_page(page, team.url, f"/p/{team.project}/models")
    expect(page.locator("#versions")).to_contain_text(SCRIPT)
    expect(page.locator("#versions")).to_contain_text(HOSTILE)
    assert page.locator("main img, main script").count() == 0
    open_page(page, team.url, f"/p/{team.project}/models/{quote(HOSTILE, safe='')}/1")
    expect(page.locator("main .error")).to_contain_text(f"'{HOSTILE}@1' is not a model")
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("document.scripts.length") == 1  # app.js alone
