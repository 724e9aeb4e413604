"""Labelling in chromium: a labeller gives labels to rows of the queue and they reach the
store as the signed-in user's; a viewer's save is refused and shown."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from tests.interfaces.api.conftest import UNLABELLED, Server
from tests.interfaces.web.conftest import live, open_page, sign_in, wait_ready


def choose(page: Any, customer_id: str, label: str) -> None:
    page.select_option(
        f'#labels tr[data-key=\'{{"customer_id":"{customer_id}"}}\'] .label', label=label
    )


def test_labels_given_in_the_page_reach_the_store(page: Any, keyed_server: Server) -> None:
    service = keyed_server.service
    with live(service) as url:
        sign_in(page, url, "viewer")
        open_page(page, url, f"/p/{keyed_server.project}/labels")
        expect(page.locator("#waiting")).to_have_text(str(UNLABELLED))
        choose(page, "c1", "1")
        page.click("#save")
        wait_ready(page)
        expect(page.locator("#outcome .error")).to_contain_text("403")
        assert len(service.label_queue().rows) == UNLABELLED
        page.click("#signout")
        page.wait_for_function("() => location.hash === '#/login'")
        sign_in(page, url, "labeller")
        open_page(page, url, f"/p/{keyed_server.project}/labels")
        assert page.locator("#labels tbody tr").count() == UNLABELLED
        choose(page, "c1", "1")
        choose(page, "c2", "0")
        choose(page, "c5", "1")
        page.click("#save")
        expect(page.locator(".notice")).to_contain_text("Saved 3 labels as labeller")
        expect(page.locator("#waiting")).to_have_text(str(UNLABELLED - 3))
    waiting = service.label_queue().rows
    assert len(waiting) == UNLABELLED - 3
    assert {"c1", "c2", "c5"}.isdisjoint(waiting["customer_id"])
    (event,) = service.list_events("labels.imported")
    assert event.payload["labelled_by"] == "labeller" and event.payload["rows"] == 3
