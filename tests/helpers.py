"""Small helpers shared by tests: project folders and free ports."""

from __future__ import annotations

import socket
from pathlib import Path

import pandas as pd


def bank_project(tmp_path: Path, bank_csv: Path, rows: int = 6000) -> Path:
    """A project folder holding the first ``rows`` bank rows as data/bank.csv."""
    project = tmp_path / "bank"
    (project / "data").mkdir(parents=True)
    frame = pd.read_csv(bank_csv, nrows=rows)
    frame.to_csv(project / "data" / "bank.csv", index=False)
    return project


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def small_search(project: Path, trials: int = 4) -> None:
    """Shrink the model search in ``project``'s spec so that a test trains quickly."""
    import yaml

    path = project / "loopml.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["models"]["search"].update(trials=trials, folds=2)
    spec["models"]["candidates"] = ["hist_gradient_boosting", "linear"]
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
