"""Helpers shared by the self-contained HTML reports (profile, evaluation, monitoring): a
book of Plotly figure specs, embedded as escaped JSON and drawn by plotly.js inlined once,
and the rendering of a package's Jinja template with them."""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from markupsafe import Markup

Figure = dict[str, Any]
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover"}


class ChartBook:
    """Collects figure specs and hands out the id of the element each is drawn in."""

    def __init__(self) -> None:
        self.figures: dict[str, Figure] = {}

    def add(self, figure: Figure | None) -> str | None:
        if figure is None:
            return None
        chart_id = f"chart-{len(self.figures)}"
        self.figures[chart_id] = figure
        return chart_id

    def json(self) -> Markup:
        text = json.dumps(json_ready(self.figures), separators=(",", ":"), allow_nan=False)
        escaped = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return Markup(escaped)  # noqa: S704 - JSON with every markup character escaped


def render_page(package: str, template: str, book: ChartBook, **context: Any) -> str:
    """Render ``template`` from ``package``'s ``templates`` folder (user text escaped) with
    ``context`` and what every report template draws with: ``figures`` (the book's
    specs), ``config`` and ``plotly_js``."""
    page = _environment(package).get_template(template)
    return page.render(
        **context, figures=book.json(), config=plotly_config(), plotly_js=plotly_js()
    )


@functools.cache
def _environment(package: str) -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def plotly_config() -> Markup:
    return Markup(json.dumps(PLOTLY_CONFIG))  # noqa: S704 - a constant


def plotly_js() -> Markup:
    """plotly.js itself, to inline in a ``<script>`` element (no network needed)."""
    from plotly.offline import get_plotlyjs

    return Markup(get_plotlyjs())  # noqa: S704 - plotly's own bundle


def json_ready(value: Any) -> Any:
    """Figure specs with NaN and infinities as null (JSON has neither)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
