"""The web UI's files: ``/`` the page shell, ``/static/NAME`` its scripts and styles,
``/static/plotly.min.js`` the charting library from the installed plotly package.

Every route is public: the shell holds no data, everything it shows comes from the
authenticated API. Only files of the ``static`` folder are served, by a name the folder
lists (never a path). The responses keep the Guard's strict Content-Security-Policy
(``script-src 'self'``, no inline script or style), unrelaxed:

- the app builds every element with ``createElement`` and text nodes, and binds its
  handlers with ``addEventListener``;
- plotly styles its charts through the CSSOM (``element.style``), which the policy
  allows; the ``<style>`` elements it would add (its base rules, and the map styles it
  carries) are declined by ids in the shell (``class="no-inline-styles"``), its base
  rules are in ``style.css``, and charts are drawn without the mode bar (whose colours
  it would inject). A test checks the shell names every such id of the installed
  plotly.js, and the browser tests fail on any CSP violation in the console.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from loopml.interfaces.api.policy import PUBLIC, allow

router = APIRouter()
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def static_dir() -> Traversable:
    """The folder of the web UI's files, inside the installed package."""
    return resources.files("loopml.interfaces.web").joinpath("static")


def plotly_js() -> Traversable:
    """plotly.js as the installed plotly package ships it."""
    return resources.files("plotly").joinpath("package_data", "plotly.min.js")


def _file(found: Traversable, name: str) -> Response:
    media_type = MEDIA_TYPES.get(name[name.rfind(".") :], "application/octet-stream")
    return Response(found.read_bytes(), media_type=media_type)


@router.get("/", include_in_schema=False)
@allow(PUBLIC)
def index() -> Any:
    """The page shell of the web UI."""
    return _file(static_dir().joinpath("index.html"), "index.html")


@router.get("/static/plotly.min.js", include_in_schema=False)
@allow(PUBLIC)
def plotly() -> Any:
    """The charting library, from the plotly package (never copied, never a CDN)."""
    return _file(plotly_js(), "plotly.min.js")


@router.get("/static/{name}", include_in_schema=False)
@allow(PUBLIC)
def static(name: str) -> Any:
    """One file of the static folder, by a name the folder lists (404 otherwise)."""
    files = {f.name: f for f in static_dir().iterdir() if f.is_file()}
    if name not in files or name.startswith("."):
        raise HTTPException(404, f"no file '{name}' in the web UI")
    return _file(files[name], name)
