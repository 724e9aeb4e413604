"""HTTP JSON sources against a real server on 127.0.0.1: pagination, headers, retries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.data.sources.api_server import ApiServer, Reply, Seen, json_reply, serve
from tests.helpers import free_port

from loopml.data.sources import read_http
from loopml.errors import DataError
from loopml.spec.sources import HttpSource, Pagination

ROWS = [{"id": i, "name": f"n{i}", "address": {"city": f"c{i % 3}"}} for i in range(7)]
FAST = {"timeout_s": 2.0, "retries": 2, "backoff_s": 0.01}


@pytest.fixture
def api() -> Iterator[ApiServer]:
    yield from serve()


def _source(api: ApiServer, path: str, **fields: Any) -> HttpSource:
    return HttpSource(name="api", url=f"{api.url}{path}", **{**FAST, **fields})


def test_single_response_list_is_flattened(api: ApiServer) -> None:
    api.routes["/items"] = lambda seen: json_reply(ROWS)
    part = read_http(_source(api, "/items"), {})
    assert part.rows == 7
    assert list(part.frame.columns) == ["id", "name", "address.city"]
    assert part.frame["address.city"].tolist()[:3] == ["c0", "c1", "c2"]
    assert part.location == f"{api.url}/items"
    assert part.source_hash == hashlib.sha256(json.dumps(ROWS).encode()).hexdigest()


def test_page_style_until_an_empty_page(api: ApiServer) -> None:
    def pages(seen: Seen) -> Reply:
        page, size = int(seen.query["p"]), int(seen.query["per_page"])
        return json_reply({"data": {"items": ROWS[(page - 1) * size : page * size]}})

    api.routes["/pages"] = pages
    paging = Pagination(style="page", param="p", size_param="per_page", size=3)
    part = read_http(_source(api, "/pages", records="data.items", pagination=paging), {})
    assert part.frame["id"].tolist() == list(range(7))
    assert [r.query["p"] for r in api.requests] == ["1", "2", "3", "4"]  # page 4 is empty


def test_offset_style_until_a_short_page(api: ApiServer) -> None:
    def offsets(seen: Seen) -> Reply:
        start, limit = int(seen.query["offset"]), int(seen.query["limit"])
        return json_reply({"results": ROWS[start : start + limit]})

    api.routes["/offset"] = offsets
    paging = Pagination(style="offset", size_param="limit", size=3)
    part = read_http(_source(api, "/offset", records="results", pagination=paging), {})
    assert part.frame["id"].tolist() == list(range(7))
    assert [r.query["offset"] for r in api.requests] == ["0", "3", "6"]


def test_cursor_style_follows_the_cursor_until_null(api: ApiServer) -> None:
    def cursor(seen: Seen) -> Reply:
        start = int(seen.query.get("after", "0"))
        following = start + 3 if start + 3 < len(ROWS) else None
        return json_reply({"rows": ROWS[start : start + 3], "meta": {"next": following}})

    api.routes["/cursor"] = cursor
    paging = Pagination(style="cursor", param="after", next="meta.next")
    source = _source(api, "/cursor", records="rows", pagination=paging, params={"q": "x"})
    part = read_http(source, {})
    assert part.frame["id"].tolist() == list(range(7))
    assert [r.query.get("after") for r in api.requests] == [None, "3", "6"]
    assert all(r.query["q"] == "x" for r in api.requests)


def test_next_url_style_follows_links(api: ApiServer) -> None:
    def linked(seen: Seen) -> Reply:
        page = int(seen.query.get("page", "0"))
        link = f"/linked?page={page + 1}" if page < 2 else None  # relative links resolve
        return json_reply({"items": ROWS[page * 3 : page * 3 + 3], "next": link})

    api.routes["/linked"] = linked
    paging = Pagination(style="next_url", next="next")
    part = read_http(_source(api, "/linked", records="items", pagination=paging), {})
    assert part.frame["id"].tolist() == list(range(7))
    assert len(api.requests) == 3


def test_max_pages_is_reported(api: ApiServer) -> None:
    api.routes["/endless"] = lambda seen: json_reply([{"id": 1}])
    paging = Pagination(style="page")
    source = _source(api, "/endless", pagination=paging, max_pages=3)
    with pytest.raises(DataError, match="max_pages=3"):
        read_http(source, {})
    assert len(api.requests) == 3


def test_a_repeated_cursor_is_reported_not_looped(api: ApiServer) -> None:
    api.routes["/stuck"] = lambda seen: json_reply({"rows": [{"id": 1}], "next": "abc"})
    paging = Pagination(style="cursor", next="next")
    with pytest.raises(DataError, match="same cursor 'abc' twice"):
        read_http(_source(api, "/stuck", records="rows", pagination=paging), {})


def test_headers_and_params_from_the_environment_reach_the_server(api: ApiServer) -> None:
    api.routes["/secure"] = lambda seen: json_reply(ROWS[:2])
    source = _source(
        api,
        "/secure",
        headers={"Authorization": "Bearer ${API_TOKEN}", "X-Team": "ml"},
        params={"key": "${API_KEY}", "n": 2},
    )
    read_http(source, {"API_TOKEN": "tok-123", "API_KEY": "k-9"})
    (seen,) = api.requests
    assert seen.headers["Authorization"] == "Bearer tok-123"
    assert seen.headers["X-Team"] == "ml"
    assert seen.query == {"key": "k-9", "n": "2"}


def test_a_missing_environment_variable_is_named(api: ApiServer) -> None:
    source = _source(api, "/secure", headers={"Authorization": "Bearer ${API_TOKEN}"})
    with pytest.raises(DataError, match="'API_TOKEN' is not set") as caught:
        read_http(source, {})
    assert "headers.Authorization" in str(caught.value)
    assert api.requests == []


def test_503_twice_then_success_is_retried(api: ApiServer) -> None:
    def flaky(seen: Seen) -> Reply:
        if len(api.hits("/flaky")) <= 2:
            return Reply(status=503, body=b"busy", content_type="text/plain")
        return json_reply(ROWS)

    api.routes["/flaky"] = flaky
    said: list[str] = []
    part = read_http(_source(api, "/flaky", retries=3), {}, progress=said.append)
    assert part.rows == 7
    assert len(api.hits("/flaky")) == 3
    assert sum("retry" in line for line in said) == 2


def test_429_honours_a_numeric_retry_after(api: ApiServer) -> None:
    def limited(seen: Seen) -> Reply:
        if len(api.hits("/limited")) == 1:
            return json_reply({"error": "slow down"}, 429, **{"Retry-After": "0"})
        return json_reply(ROWS)

    api.routes["/limited"] = limited
    said: list[str] = []
    part = read_http(_source(api, "/limited", backoff_s=30.0), {}, progress=said.append)
    assert part.rows == 7
    assert "retry 1 in 0s" in said[0]  # Retry-After, not the 30 s backoff


def test_persistent_5xx_fails_after_the_retries(api: ApiServer) -> None:
    api.routes["/down"] = lambda seen: Reply(status=500, body=b"oops", content_type="text/plain")
    with pytest.raises(DataError, match=r"failed 3 times \(last: HTTP 500"):
        read_http(_source(api, "/down", retries=2), {})
    assert len(api.requests) == 3


def test_404_fails_at_once_without_retries(api: ApiServer) -> None:
    with pytest.raises(DataError, match="HTTP 404 Not Found") as caught:
        read_http(_source(api, "/nowhere", retries=3), {})
    assert len(api.requests) == 1
    assert f"{api.url}/nowhere" in str(caught.value)


def test_401_hints_at_credentials_and_masks_them(api: ApiServer) -> None:
    api.routes["/private"] = lambda seen: json_reply({"error": "bad token"}, 401)
    source = _source(api, "/private", params={"token": "${TOKEN}"})
    with pytest.raises(DataError, match="credentials") as caught:
        read_http(source, {"TOKEN": "s3cr3t-value"})
    assert "s3cr3t-value" not in str(caught.value)
    assert "token=***" in str(caught.value)


def test_an_html_page_with_200_names_the_content_type(api: ApiServer) -> None:
    page = b"<!DOCTYPE html>\n<html><body>Please log in</body></html>"
    api.routes["/html"] = lambda seen: Reply(body=page, content_type="text/html; charset=utf-8")
    with pytest.raises(DataError) as caught:
        read_http(_source(api, "/html"), {})
    message = str(caught.value)
    assert "did not return JSON" in message
    assert "HTTP 200" in message
    assert "text/html" in message
    assert "<!DOCTYPE html> <html><body>Please log in" in message
    assert f"{api.url}/html" in message and "source 'api'" in message


def test_a_slow_server_times_out_after_the_retries(api: ApiServer) -> None:
    api.routes["/slow"] = lambda seen: Reply(body=b"[]", delay_s=2.0)
    source = _source(api, "/slow", timeout_s=0.2, retries=1, backoff_s=0.01)
    with pytest.raises(DataError, match=r"failed 2 times \(last: no answer within timeout_s=0.2"):
        read_http(source, {})
    assert len(api.requests) == 2


def test_an_unreachable_server_is_retried_then_reported() -> None:
    url = f"http://127.0.0.1:{free_port()}/x"  # free a moment ago: nobody listens
    source = HttpSource(name="api", url=url, retries=1, backoff_s=0.01)
    with pytest.raises(DataError, match="failed 2 times .*ConnectError"):
        read_http(source, {})


def test_missing_records_path_is_named(api: ApiServer) -> None:
    api.routes["/wrapped"] = lambda seen: json_reply({"data": {"rows": ROWS}})
    with pytest.raises(DataError, match=r"no records path 'data.items' \(top-level keys: data\)"):
        read_http(_source(api, "/wrapped", records="data.items"), {})


def test_records_that_are_not_a_list_are_reported(api: ApiServer) -> None:
    api.routes["/object"] = lambda seen: json_reply({"data": {"id": 1}})
    with pytest.raises(DataError, match="records path 'data' is a JSON object, not a list"):
        read_http(_source(api, "/object", records="data"), {})


def test_no_records_at_all_is_reported(api: ApiServer) -> None:
    api.routes["/empty"] = lambda seen: json_reply([])
    with pytest.raises(DataError, match="returned no records"):
        read_http(_source(api, "/empty"), {})


def test_the_hash_follows_the_bodies(api: ApiServer) -> None:
    payload = {"rows": ROWS}
    api.routes["/data"] = lambda seen: json_reply(payload)
    source = _source(api, "/data", records="rows")
    first, again = read_http(source, {}), read_http(source, {})
    assert first.source_hash == again.source_hash
    payload["rows"] = ROWS[:-1]
    assert read_http(source, {}).source_hash != first.source_hash
