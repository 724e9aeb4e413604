"""The web UI ships in the wheel: its static files and the module that serves them."""

from __future__ import annotations

import zipfile
from pathlib import Path

from loopml.interfaces.api.pages import static_dir

ROOT = Path(__file__).resolve().parents[3]


def test_the_wheel_holds_the_web_ui(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f.name for f in static_dir().iterdir() if f.is_file()}
    assert {"index.html", "app.js", "style.css"} <= shipped
    for name in shipped:
        assert f"loopml/interfaces/web/static/{name}" in names
    assert "loopml/interfaces/api/pages.py" in names
    assert "loopml/interfaces/web/__init__.py" in names
    assert not any(name.endswith("plotly.min.js") for name in names)  # served from plotly
