"""User estimators for the cluster search tests, imported by path on Dask workers."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from tests.train.custom_models import CentroidClassifier


class KillsItsWorker(CentroidClassifier):
    """Kills the process fitting it when the file ``marker`` exists (removed first, so
    only one fit dies): a worker lost in the middle of a trial."""

    def __init__(self, marker: str = "", shrink: float = 0.0, n_jobs: int | None = None) -> None:
        super().__init__(shrink=shrink, n_jobs=n_jobs)
        self.marker = marker

    def fit(self, X: Any, y: Any) -> KillsItsWorker:
        path = Path(self.marker)
        if self.marker and path.exists():
            path.unlink()
            os.kill(os.getpid(), signal.SIGKILL)
        super().fit(X, y)
        return self


class Slow(CentroidClassifier):
    """Takes ``seconds`` to fit: a trial still running when something else breaks."""

    def __init__(
        self, seconds: float = 0.5, shrink: float = 0.0, n_jobs: int | None = None
    ) -> None:
        super().__init__(shrink=shrink, n_jobs=n_jobs)
        self.seconds = seconds

    def fit(self, X: Any, y: Any) -> Slow:
        time.sleep(self.seconds)
        super().fit(X, y)
        return self
