"""Shared fixtures: temporary projects, the bundled data sets, the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _restore_sys_path() -> Iterator[None]:
    """Put ``sys.path`` back after each test: ``mlflow.pyfunc.load_model`` prepends an
    export's ``code`` folder (a partial copy of loopml), which processes spawned later
    would import instead of the real package."""
    import sys

    saved = list(sys.path)
    yield
    sys.path[:] = saved


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``make test`` runs ``-n 2``), give each worker its own share of
    the cores: the tests' processes (model fits, servers, spawned workers) then see only
    that share and size their thread pools to it, so the workers never oversubscribe."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    share = len(cores) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if share < 1:
        return
    index = int(worker[2:])
    os.sched_setaffinity(0, set(cores[index * share : (index + 1) * share]))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(share)


def _postgres_url() -> str | None:
    return os.environ.get("LOOPML_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the real PostgreSQL server, or a skip (a failure when LOOPML_REQUIRE_POSTGRES=1)."""
    url = _postgres_url()
    required = os.environ.get("LOOPML_REQUIRE_POSTGRES") == "1"
    reason = ""
    if not url:
        reason = "LOOPML_TEST_POSTGRES_URL is not set"
    else:
        import sqlalchemy as sa

        try:
            engine = sa.create_engine(url)
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
            engine.dispose()
        except Exception as exc:  # noqa: BLE001 - any failure means unreachable
            reason = f"PostgreSQL at {url} is unreachable: {exc}"
    if reason:
        if required:
            pytest.fail(f"LOOPML_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    assert url is not None
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty schema on the real server for one test, dropped afterwards."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_server_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    sep = "&" if "?" in postgres_server_url else "?"
    yield f"{postgres_server_url}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'drop schema "{schema}" cascade'))
        # a search on a Dask cluster keeps its Optuna study beside the store's schema
        conn.execute(sa.text(f'drop schema if exists "{schema}_optuna" cascade'))
    engine.dispose()


@pytest.fixture(scope="session")
def bank_csv() -> Path:
    """The bundled bank marketing CSV (44,923 rows; header 'subscribed ' with a space)."""
    return Path(str(resources.files("loopml.resources") / "bank_marketing.csv"))


@pytest.fixture(scope="session")
def bike_csv() -> Path:
    """The bundled bike sharing CSV (17,520 hourly rows, 2011-2012)."""
    return Path(str(resources.files("loopml.resources") / "bike_sharing_hourly.csv"))


@pytest.fixture(scope="session")
def churn_csv() -> Path:
    """The bundled telco churn CSV (6,000 rows): categorical, yes/no, numbers as text,
    dates as text, blanks, header names with spaces (see scripts/make_churn_data.py)."""
    return Path(str(resources.files("loopml.resources") / "telco_churn.csv"))


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, or a skip (a failure when LOOPML_REQUIRE_BROWSER=1)."""
    from tests.browser import CHROMIUM

    if not CHROMIUM.exists():
        reason = f"chromium is not installed at {CHROMIUM} (`make browser` installs it)"
        if os.environ.get("LOOPML_REQUIRE_BROWSER") == "1":
            pytest.fail(f"LOOPML_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM
