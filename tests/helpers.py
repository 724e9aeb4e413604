"""Small helpers shared by tests: project folders, spec edits and free ports."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def edit_spec(project: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to ``project``'s loopml.yaml (as a dict) and write it back."""
    import yaml

    path = project / "loopml.yaml"
    spec = yaml.safe_load(path.read_text())
    change(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def small_search(project: Path, trials: int = 4) -> None:
    """Shrink the model search in ``project``'s spec so that a test trains quickly."""

    def shrink(spec: dict[str, Any]) -> None:
        spec["models"]["search"].update(trials=trials, folds=2)
        spec["models"]["candidates"] = ["hist_gradient_boosting", "linear"]

    edit_spec(project, shrink)


def set_criteria(project: Path, criteria: list[dict[str, Any]]) -> None:
    """Replace the success criteria of ``project``'s spec."""
    edit_spec(project, lambda spec: spec["problem"].update(success_criteria=criteria))


def start_serving(project: Path, log: Path, env: dict[str, str] | None = None) -> tuple[Any, str]:
    """`loopml serve` of ``project`` on a free loopback port, output to ``log``; returns
    the process and its URL (not yet healthy: wait for it)."""
    import subprocess
    import sys

    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "loopml", "serve", "--port", str(port), "-C", str(project)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return process, f"http://127.0.0.1:{port}"
