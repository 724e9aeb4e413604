"""The house checks itself: `.ci/run` runs `make test`, which runs ruff, ruff format, mypy,
import-linter and pytest with a coverage floor, in that order, and fails when any fails.

Each check is run by its own make target on a copy of the project with one fault put in;
the copy shares this checkout's .venv (``make -o setup``: nothing is installed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
MAKE = shutil.which("make") or "/usr/bin/make"
CHECKS = ["ruff check", "ruff format --check", "mypy", "lint-imports", "pytest --cov"]


def make(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_", "COVERAGE"))}
    env["PYTHONPATH"] = str(folder / "src")  # the copy's loopml, not this checkout's
    return subprocess.run(
        [MAKE, "-s", "-o", "setup", "-o", "browser", f"VENV={VENV}", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("house")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
    for name in ("src", "tests", "scripts"):
        shutil.copytree(ROOT / name, folder / name, ignore=skip)
    for name in ("pyproject.toml", "Makefile"):
        shutil.copy2(ROOT / name, folder / name)
    if (ROOT / ".mypy_cache").is_dir():  # `make typecheck` ran first: 2 s, not 45 s cold
        shutil.copytree(ROOT / ".mypy_cache", folder / ".mypy_cache")
    return folder


@pytest.fixture
def fault(project: Path):
    """Write one file into the copy for the length of a test."""
    written: list[Path] = []

    def put(relative: str, text: str) -> None:
        path = project / relative
        path.write_text(text)
        written.append(path)

    yield put
    for path in written:
        path.unlink()


def test_ci_runs_make_test_and_make_test_runs_every_check_in_order() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and re.search(r"^make test$", ci, re.M)
    planned = subprocess.run(
        [MAKE, "-n", "-o", "setup", "-o", "browser", "test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    at = [planned.find(check) for check in CHECKS]
    assert -1 not in at and at == sorted(at), planned
    assert re.search(r"--cov-fail-under=\d+", planned)


def test_a_bug_ruff_catches_fails_lint(project: Path, fault) -> None:
    fault("src/loopml/house_fault.py", '"""x"""\n\ntry:\n    pass\nexcept Exception:\n    pass\n')
    result = make(project, "lint")
    assert result.returncode != 0 and "BLE001" in result.stdout + result.stderr


def test_unformatted_code_fails_lint(project: Path, fault) -> None:
    fault("src/loopml/house_fault.py", '"""x"""\n\nX = {"a":1}\n')
    result = make(project, "lint")
    assert result.returncode != 0 and "would be reformatted" in result.stdout + result.stderr


def test_an_untyped_function_in_a_strict_package_fails_mypy(project: Path, fault) -> None:
    fault("src/loopml/domain/house_fault.py", '"""x"""\n\n\ndef f(x):\n    return x\n')
    result = make(project, "typecheck")
    assert result.returncode != 0 and "house_fault.py" in result.stdout


def test_an_import_between_stages_fails_import_linter(project: Path, fault) -> None:
    fault("src/loopml/data/house_fault.py", '"""x"""\n\nimport loopml.serve.routing\n')
    result = make(project, "imports")
    assert result.returncode != 0 and "BROKEN" in result.stdout
    assert "loopml.data.house_fault -> loopml.serve.routing" in result.stdout


def test_the_retrainer_importing_the_facade_fails_import_linter(project: Path) -> None:
    retraining = project / "src/loopml/service/retraining.py"
    text = retraining.read_text()
    retraining.write_text(text + "\nimport loopml.service.project\n")  # the circle again
    try:
        result = make(project, "imports")
    finally:
        retraining.write_text(text)
    assert result.returncode != 0
    assert "loopml.service.retraining is not allowed to import loopml.service.project" in (
        result.stdout
    )


def test_coverage_under_the_floor_fails_the_tests(project: Path) -> None:
    result = make(
        project,
        "unit",
        "TEST_WORKERS=0",
        "PYTEST_ARGS=tests/test_public_api.py -p no:cacheprovider",
    )
    assert result.returncode != 0
    assert "Required test coverage of" in result.stdout + result.stderr
