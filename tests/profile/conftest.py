"""Profiles of the two bundled data sets, computed once per test session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loopml.data.ingest import clean_column_names, read_source
from loopml.profile import Profile, profile_frame


def _clean(path: Path) -> pd.DataFrame:
    frame, _ = clean_column_names(read_source(path))
    return frame


@pytest.fixture(scope="session")
def bank_frame(bank_csv: Path) -> pd.DataFrame:
    return _clean(bank_csv)


@pytest.fixture(scope="session")
def bike_frame(bike_csv: Path) -> pd.DataFrame:
    return _clean(bike_csv)


@pytest.fixture(scope="session")
def bank_profile(bank_frame: pd.DataFrame) -> Profile:
    return profile_frame(bank_frame, target="subscribed", task=None, title="bank marketing")


@pytest.fixture(scope="session")
def bike_profile(bike_frame: pd.DataFrame) -> Profile:
    return profile_frame(bike_frame, target="cnt", task=None, title="bike sharing")
