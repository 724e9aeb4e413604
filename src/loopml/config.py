"""One Settings object: environment variables ``LOOPML_*`` first, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SPEC_FILE = "loopml.yaml"
HOME_DIR = ".loopml"


@dataclass(frozen=True)
class Settings:
    """Where a project keeps its metadata and artifacts.

    ``db_url`` is a SQLAlchemy URL; ``artifacts_uri`` a local folder or an fsspec URI.
    """

    project_dir: Path
    db_url: str
    artifacts_uri: str

    @property
    def home(self) -> Path:
        """The project's ``.loopml`` folder (embedded database, local artifacts, logs)."""
        return self.project_dir / HOME_DIR


def load_settings(project_dir: str | Path = ".", env: dict[str, str] | None = None) -> Settings:
    """Read settings for the project in ``project_dir``.

    ``LOOPML_DB`` overrides the embedded SQLite database, ``LOOPML_ARTIFACTS`` the local
    artifact folder.
    """
    env = dict(os.environ) if env is None else env
    root = Path(project_dir).resolve()
    home = root / HOME_DIR
    db_url = env.get("LOOPML_DB") or f"sqlite:///{home / 'loopml.db'}"
    artifacts_uri = env.get("LOOPML_ARTIFACTS") or str(home / "artifacts")
    return Settings(project_dir=root, db_url=db_url, artifacts_uri=artifacts_uri)
