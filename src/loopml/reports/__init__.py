"""What the HTML reports of three stages (profile, evaluate, monitor) share: the page
renderer with its book of Plotly figures (``html``) and the house chart style (``charts``)."""

from loopml.reports.charts import BLUE, FONT, GREY, RED, base_layout
from loopml.reports.html import ChartBook, Figure, json_ready, render_page

__all__ = [
    "BLUE",
    "FONT",
    "GREY",
    "RED",
    "ChartBook",
    "Figure",
    "base_layout",
    "json_ready",
    "render_page",
]
