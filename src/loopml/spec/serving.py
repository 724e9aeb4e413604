"""Spec section ``serve``: where the model server listens and how it batches and logs.

```yaml
serve:
  host: 127.0.0.1
  port: 8000
  max_body_bytes: 16000000     # larger request bodies get 413 (10,000 rows: ~1.7 MB)
  batch_window_ms: 0.0         # wait this long to gather concurrent requests (0: only
                               # those that queued while the model was busy)
  batch_max_rows: 256          # rows scored by one predict call at most
  log_flush_s: 1.0             # the prediction log is written at least this often
  model_threads: 1             # BLAS/OpenMP threads of the model while serving
  batch_threads: 1             # ... for a request of batch_max_rows rows or more
  watch_interval_s: 1.0        # how often the server checks the store for a new deployment
  invalid: refuse              # refuse | impute: a row with a value that breaks the schema
                               # (null where schema.yaml says nullable: false, text the
                               # cleaning cannot read, out of range with check_range)
  unknown: {"*": warn}         # per column, a category training never saw: error (refuse
                               # the row) | warn (score it, warn) | other (score it, count)
  check_range: false           # numbers outside the training range break the schema too
```

Batch scoring (``loopml predict``), the server and ``load_model`` apply the same rules
(``loopml.model.checks``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from loopml.spec.base import Section

UnknownPolicy = Literal["error", "other", "warn"]
_WARN: UnknownPolicy = "warn"


class ServeSpec(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=16_000_000, ge=1024)
    batch_window_ms: float = Field(default=0.0, ge=0.0, le=50.0)
    batch_max_rows: int = Field(default=256, ge=1)
    log_flush_s: float = Field(default=1.0, gt=0.0)
    model_threads: int = Field(default=1, ge=1)
    batch_threads: int = Field(default=1, ge=1)
    watch_interval_s: float = Field(default=1.0, gt=0.0)
    invalid: Literal["refuse", "impute"] = "refuse"
    unknown: dict[str, UnknownPolicy] = Field(default_factory=lambda: {"*": _WARN})
    check_range: bool = False

    @field_validator("unknown", mode="before")
    @classmethod
    def _one_policy(cls, value: object) -> object:
        """``unknown: error`` is ``{"*": error}``."""
        return {"*": value} if isinstance(value, str) else value
