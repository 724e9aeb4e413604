"""Small helpers shared by tests: project folders, spec edits and free ports."""

from __future__ import annotations

import socket
import subprocess
import time
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


def wait_ready(
    process: subprocess.Popen[Any],
    url: str,
    log: Path | None = None,
    route: str = "/health",
    timeout: float = 60.0,
) -> None:
    """Wait until the server ``process`` answers 200 on ``route``; fail (with its log)
    when it exits first or ``timeout`` passes."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text() if log is not None else ""
            raise AssertionError(f"server exited early with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{url}{route}", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server did not answer 200 on {route} within {timeout} s")


def run_cli(project: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -m loopml ARGS -C project`` in a subprocess, wide output, text captured."""
    import sys

    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "loopml", *args, "-C", str(project)],
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
