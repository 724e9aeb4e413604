"""The README's links lead somewhere, and the architecture page names the real layers."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_relative_link_in_the_readme_exists() -> None:
    text = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert "docs/ARCHITECTURE.md" in local
    assert [link for link in local if not (ROOT / link).exists()] == []
    named = set(re.findall(r"`([\w/.-]+\.md)`", text))  # files named in backticks
    assert [name for name in named if not (ROOT / name).exists()] == []


def test_the_architecture_page_names_every_layer_import_linter_holds() -> None:
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    packages = [p.strip() for layer in contract["layers"] for p in layer.split(":")]
    for package in packages:
        name = package.removeprefix("loopml.")
        assert (ROOT / "src" / "loopml" / name).is_dir()
        assert f"{name}/" in page or f" {name} " in page, name
    for named in ("CleaningTransformer", "RetrainingHost", "the one drift engine"):
        assert named in page
