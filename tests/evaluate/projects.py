"""Small lifecycle projects for the evaluation and `loopml explain` tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from tests.helpers import edit_spec, small_search

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
    merge_spec(folder, changes or {})
    return folder


def merge_spec(project: Path, changes: dict[str, Any]) -> None:
    """Update each section of the spec named in ``changes`` (a dict merges one level)."""

    def merge(spec: dict[str, Any]) -> None:
        for section, value in changes.items():
            if isinstance(value, dict) and isinstance(spec.get(section), dict):
                spec[section].update(value)
            else:
                spec[section] = value

    edit_spec(project, merge)


def run_project(project: Path) -> RunSummary:
    service = ProjectService.open(project)
    try:
        return service.run()
    finally:
        service.close()
