"""The HTML reports the lifecycle wrote, listed and served sandboxed (every role).

A report is served only by a name the reports folder lists, with its own
Content-Security-Policy: a sandbox (an opaque origin: no cookies, no API), inline script
and style for its charts, nothing fetched, framed only by this server's pages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import FileResponse

from loopml.interfaces.api.common import Service, base_url, check_project
from loopml.interfaces.api.encode import plain
from loopml.interfaces.api.policy import READERS, allow

router = APIRouter(prefix="/api/v1/projects/{project}")
REPORT_POLICY = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
)


@router.get("/reports")
@allow(*READERS)
def reports(project: str, service: Service) -> Any:
    """The reports, newest first: name, kind, when written, size and where to get it."""
    check_project(service, project)
    url = f"{base_url(project)}/reports"
    return {
        "reports": [{**plain(r), "url": f"{url}/{quote(r.name)}"} for r in service.list_reports()]
    }


@router.get("/reports/{name}", response_class=FileResponse)
@allow(*READERS)
def report(project: str, name: str, service: Service) -> Any:
    """One report's HTML, under the sandboxing policy above."""
    check_project(service, project)
    headers = {"content-security-policy": REPORT_POLICY, "x-frame-options": "SAMEORIGIN"}
    return FileResponse(
        service.report_path(name), media_type="text/html; charset=utf-8", headers=headers
    )
