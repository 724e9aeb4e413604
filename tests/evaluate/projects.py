"""Small lifecycle projects for the evaluation and `loopml explain` tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from tests.helpers import small_search

from loopml.service import ProjectService, RunSummary, init_project


def make_project(
    folder: Path,
    frame: pd.DataFrame,
    target: str,
    exclude: list[str],
    changes: dict[str, Any] | None = None,
) -> Path:
    """A project of ``frame`` that fits HistGradientBoosting with its default parameters
    (no search: fast), with ``changes`` merged into its spec."""
    (folder / "data").mkdir(parents=True)
    frame.to_csv(folder / "data" / "data.csv", index=False)
    init_project("data/data.csv", target, folder, name=folder.name, exclude=exclude)
    small_search(folder, trials=0)
    edit_spec(folder, changes or {})
    return folder


def edit_spec(project: Path, changes: dict[str, Any]) -> None:
    path = project / "loopml.yaml"
    spec = yaml.safe_load(path.read_text())
    for section, value in changes.items():
        if isinstance(value, dict) and isinstance(spec.get(section), dict):
            spec[section].update(value)
        else:
            spec[section] = value
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def run_project(project: Path) -> RunSummary:
    service = ProjectService.open(project)
    try:
        return service.run()
    finally:
        service.close()
