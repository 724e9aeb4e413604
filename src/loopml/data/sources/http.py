"""Read an HTTP JSON API: GET page by page, retry with backoff, flatten the records."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin

import httpx
import pandas as pd

from loopml.data.sources.env import has_reference, interpolate
from loopml.data.sources.records import SourceData
from loopml.errors import DataError
from loopml.spec.sources import HttpSource

_MISSING = object()
_MAX_RETRY_AFTER_S = 60.0  # a longer Retry-After is cut to this, not slept for hours
_SNIPPET_CHARS = 80

Progress = Callable[[str], None]


@dataclass(frozen=True)
class _Request:
    """The GET to send next, and how to show it in messages without secrets."""

    url: str
    params: dict[str, str | int | float]
    headers: dict[str, str]
    shown_url: str  # the spec's url (``${VAR}`` not expanded), or the next link as given
    hidden: frozenset[str] = frozenset()  # params whose values come from the environment

    def follow(self, url: str, params: dict[str, str | int | float]) -> _Request:
        """The same request sent to ``url`` with ``params`` instead."""
        shown = self.shown_url if url == self.url else url
        return _Request(url, params, self.headers, shown, self.hidden)

    def shown(self) -> str:
        """The URL with its params, values from the environment shown as ``***``."""
        base, _, query = self.shown_url.partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        pairs += [(k, str(v)) for k, v in self.params.items()]
        masked = [(k, "***" if k in self.hidden else v) for k, v in pairs]
        return f"{base}?{urlencode(masked, safe='*')}" if masked else base


def read_http(
    source: HttpSource,
    env: Mapping[str, str],
    *,
    client: httpx.Client | None = None,
    progress: Progress | None = None,
) -> SourceData:
    """GET every page of ``source`` and flatten its records into a DataFrame.

    Args:
        source: the HTTP source; ``${VAR}`` in its url, params and headers come from ``env``.
        env: the environment for ``${VAR}`` references.
        client: an ``httpx.Client`` to send with (left open); by default one is made.
        progress: called with a line per page fetched and per retry.

    Returns:
        The records flattened with ``pd.json_normalize`` (nested keys joined by ``.``),
        the spec's URL as ``location``, and the sha256 of the raw response bodies in order.

    Raises:
        DataError: a variable is not set; the API cannot be reached or times out, or keeps
            answering 429/5xx, after ``retries`` retries; it answers another 4xx; a
            response is not JSON, or lacks the ``records`` list; ``max_pages`` is reached;
            or no record came back. Messages name the source and the URL.
    """
    request = _first_request(source, env)
    own = client is None
    http = client or httpx.Client(timeout=source.timeout_s, follow_redirects=True)
    try:
        bodies: list[bytes] = []
        records: list[Any] = []
        for body, page in _pages(http, source, request, progress):
            bodies.append(body)
            records.extend(page)
    finally:
        if own:
            http.close()
    if not records:
        raise DataError(
            f"source '{source.name}': {source.url} returned no records; check the url, "
            f"params and 'records' path ({source.records or 'the response itself'})"
        )
    frame = pd.json_normalize(records)
    return SourceData(
        name=source.name,
        type="http",
        location=source.url,
        query=None,
        source_hash=hashlib.sha256(b"".join(bodies)).hexdigest(),
        rows=len(frame),
        frame=frame,
    )


def _first_request(source: HttpSource, env: Mapping[str, str]) -> _Request:
    where = f"source '{source.name}'"
    headers = {k: interpolate(v, env, f"{where} headers.{k}") for k, v in source.headers.items()}
    params: dict[str, str | int | float] = {
        k: interpolate(v, env, f"{where} params.{k}") if isinstance(v, str) else v
        for k, v in source.params.items()
    }
    hidden = frozenset(
        k for k, v in source.params.items() if isinstance(v, str) and has_reference(v)
    )
    url = interpolate(source.url, env, f"{where} url")
    return _Request(url, params, headers, source.url, hidden)


def _pages(
    client: httpx.Client, source: HttpSource, request: _Request, progress: Progress | None
) -> Iterator[tuple[bytes, list[Any]]]:
    """Yield (raw body, records) per page until the pagination style says stop."""
    page = source.pagination
    params = dict(request.params)
    if page is not None and page.style in ("page", "offset"):
        params[page.param] = page.start
    if page is not None and page.size_param and page.size:
        params[page.size_param] = page.size
    current = request.follow(request.url, params)
    seen_links: set[str] = set()
    for number in range(1, source.max_pages + 1):
        body, payload = _fetch(client, source, current, progress)
        records = _records(payload, source, current)
        if progress is not None:
            progress(f"source '{source.name}': page {number}, {len(records)} records")
        yield body, records
        following = _next_request(source, current, payload, records, seen_links)
        if following is None:
            return
        current = following
    raise DataError(
        f"source '{source.name}': stopped after max_pages={source.max_pages} pages and the "
        f"API still had more (next: {current.shown()}); raise 'max_pages' or narrow 'params'"
    )


def _next_request(
    source: HttpSource,
    current: _Request,
    payload: Any,
    records: list[Any],
    seen: set[str],
) -> _Request | None:
    """The request for the page after ``current``, or None when it was the last page."""
    page = source.pagination
    if page is None:
        return None
    params = dict(current.params)
    if page.style == "page":
        if not records:
            return None
        params[page.param] = int(params[page.param]) + 1
        return current.follow(current.url, params)
    if page.style == "offset":
        assert page.size is not None  # the spec requires it for offset
        if len(records) < page.size:
            return None
        params[page.param] = int(params[page.param]) + page.size
        return current.follow(current.url, params)
    assert page.next is not None  # the spec requires it for cursor and next_url
    link = _lookup(payload, page.next)
    if link is _MISSING or link is None or link == "":
        return None
    if isinstance(link, dict | list):
        raise DataError(
            f"source '{source.name}': '{page.next}' in the response from {current.shown()} "
            f"is a JSON {'object' if isinstance(link, dict) else 'list'}, not a "
            f"{page.style.replace('_', ' ')}; point pagination.next at it"
        )
    key = str(link)
    if key in seen:
        raise DataError(
            f"source '{source.name}': the API returned the same {page.style.replace('_', ' ')} "
            f"'{key}' twice (at '{page.next}'); it would loop forever. Check pagination.next"
        )
    seen.add(key)
    if page.style == "cursor":
        params[page.param] = key
        return current.follow(current.url, params)
    # next_url: the link carries its own query string; resolve a relative one.
    return current.follow(urljoin(current.url, key), {})


def _fetch(
    client: httpx.Client, source: HttpSource, request: _Request, progress: Progress | None
) -> tuple[bytes, Any]:
    """GET with retries; returns the raw body and its parsed JSON."""
    response = _get_with_retries(client, source, request, progress)
    where = f"source '{source.name}': GET {request.shown()}"
    if response.status_code >= 400:
        hint = (
            "check the credentials in headers (and that their environment variables are set)"
            if response.status_code in (401, 403)
            else "check the url and params"
        )
        raise DataError(
            f"{where} answered HTTP {response.status_code} {response.reason_phrase}: "
            f"{_snippet(response)!r}; {hint}"
        )
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        content_type = response.headers.get("content-type", "no content type")
        raise DataError(
            f"{where} did not return JSON (HTTP {response.status_code}, {content_type}): "
            f"starts with {_snippet(response)!r}. Is the url the API endpoint, not a web page?"
        ) from None
    return response.content, payload


def _get_with_retries(
    client: httpx.Client, source: HttpSource, request: _Request, progress: Progress | None
) -> httpx.Response:
    """GET, retrying connection errors, timeouts, 429 and 5xx with exponential backoff."""
    failure = ""
    for attempt in range(source.retries + 1):
        wait = source.backoff_s * 2**attempt
        try:
            response = client.get(
                request.url,
                params=request.params or None,  # {} would drop a next URL's query
                headers=request.headers,
                timeout=source.timeout_s,
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise DataError(
                f"source '{source.name}': cannot GET {request.shown()}: {str(exc).rstrip('.')}; "
                "write an http:// or https:// url"
            ) from None
        except httpx.TimeoutException:
            failure = f"no answer within timeout_s={source.timeout_s}"
        except httpx.TransportError as exc:
            failure = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code != 429 and response.status_code < 500:
                return response
            failure = f"HTTP {response.status_code} {response.reason_phrase}"
            asked = _retry_after(response)
            wait = wait if asked is None else asked
        if attempt < source.retries:
            if progress is not None:
                progress(f"source '{source.name}': {failure}; retry {attempt + 1} in {wait:g}s")
            time.sleep(wait)
    raise DataError(
        f"source '{source.name}': GET {request.shown()} failed {source.retries + 1} times "
        f"(last: {failure}). Check that the API is up, or raise timeout_s / retries."
    )


def _retry_after(response: httpx.Response) -> float | None:
    """A numeric Retry-After header in seconds (capped), or None."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER_S)


def _records(payload: Any, source: HttpSource, request: _Request) -> list[Any]:
    """The list of records in one response; DataError if the path is missing or no list."""
    where = f"source '{source.name}': the response from {request.shown()}"
    found = payload if source.records is None else _lookup(payload, source.records)
    path = f"records path '{source.records}'" if source.records else "the response"
    if found is _MISSING:
        keys = ", ".join(map(str, payload)) if isinstance(payload, dict) else "none"
        raise DataError(
            f"{where} has no {path} (top-level keys: {keys}); set 'records' to the dotted "
            "path of the list of records"
        )
    if not isinstance(found, list):
        raise DataError(
            f"{where}: {path} is a JSON {_json_type(found)}, not a list of records; set "
            "'records' to the dotted path of the list"
        )
    for index, record in enumerate(found):
        if not isinstance(record, dict):
            raise DataError(
                f"{where}: record {index} under {path} is a JSON {_json_type(record)}, "
                "not an object; each record must be an object of fields"
            )
    return found


def _lookup(payload: Any, path: str) -> Any:
    """The value at dotted ``path`` (``data.items``, ``links.0.href``), or a sentinel."""
    current = payload
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _snippet(response: httpx.Response) -> str:
    text = response.content[: _SNIPPET_CHARS * 4].decode("utf-8", errors="replace")
    return " ".join(text.split())[:_SNIPPET_CHARS]
