"""The house style of every report's charts: its colours, font and base layout."""

from __future__ import annotations

from typing import Any

BLUE = "#3b6ea8"
RED = "#c0392b"
GREY = "#b8c2cc"
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12}


def base_layout(height: int, **changes: Any) -> dict[str, Any]:
    """The house layout of a chart ``height`` pixels high, with ``changes`` on top."""
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 50, "r": 20, "t": 30, "b": 40},
        "font": FONT,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "showlegend": False,
        "bargap": 0.05,
        "xaxis": {"gridcolor": "#eee", "zeroline": False, "automargin": True},
        "yaxis": {"gridcolor": "#eee", "zeroline": False, "automargin": True},
    }
    layout.update(changes)
    return layout
