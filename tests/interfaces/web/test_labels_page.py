"""Labelling in chromium: a labeller gives labels to rows of the queue and they reach the
store as the signed-in user's; a viewer's save is refused and shown; the queue is paged."""

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


def keys_shown(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#labels tbody tr", "trs => trs.map(tr => JSON.parse(tr.dataset.key).customer_id)"
    )


def turn(page: Any, button: str, offset: int) -> None:
    page.click(button)
    page.wait_for_function(
        f"() => location.hash.includes('offset={offset}')"
        if offset
        else "() => !location.hash.includes('offset=')"
    )
    wait_ready(page)


def test_the_queue_is_paged_and_a_later_page_is_labelled(page: Any, keyed_server: Server) -> None:
    service = keyed_server.service
    customers = [f"c{i + 1}" for i in range(UNLABELLED)]
    with live(service) as url:
        sign_in(page, url, "labeller")
        open_page(page, url, f"/p/{keyed_server.project}/labels?limit=8")
        assert keys_shown(page) == customers[:8]
        expect(page.locator("#shown")).to_have_text("1–8")
        expect(page.locator("#total")).to_have_text(str(UNLABELLED))
        expect(page.locator("#prev")).to_be_disabled()
        turn(page, "#next", 8)
        assert keys_shown(page) == customers[8:16]
        assert "limit=8" in page.evaluate("location.hash")
        turn(page, "#next", 16)
        assert keys_shown(page) == customers[16:]
        expect(page.locator("#shown")).to_have_text(f"17–{UNLABELLED}")
        expect(page.locator("#next")).to_be_disabled()
        turn(page, "#prev", 8)
        choose(page, "c10", "1")  # a label given on the second page, which stays shown
        page.click("#save")
        expect(page.locator(".notice")).to_contain_text("Saved 1 labels as labeller")
        assert "offset=8" in page.evaluate("location.hash")
        assert keys_shown(page) == [c for c in customers if c != "c10"][8:16]
        expect(page.locator("#total")).to_have_text(str(UNLABELLED - 1))
        turn(page, "#prev", 0)
        assert keys_shown(page) == customers[:8]
    assert list(service.label_queue().rows["customer_id"]) == [c for c in customers if c != "c10"]
