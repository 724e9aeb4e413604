"""Run by test_server.py in a subprocess: serve a pickled bundle, log to parquet files.

Usage: python server_helper.py BUNDLE_PICKLE OUT_DIR PORT
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pandas as pd

from loopml.model.bundle import ModelBundle
from loopml.serve.app import create_app
from loopml.serve.server import run_server


def parquet_sink(folder: Path):
    """A sink that writes each batch to its own parquet file, atomically."""

    def sink(frame: pd.DataFrame) -> None:
        name = uuid.uuid4().hex
        partial = folder / f".{name}.partial"
        frame.to_parquet(partial, index=False)
        os.replace(partial, folder / f"{name}.parquet")

    return sink


def main(bundle_path: str, out_dir: str, port: str) -> None:
    bundle = ModelBundle.from_bytes(Path(bundle_path).read_bytes())
    # A long interval: most rows reach the sink by size or by the shutdown flush.
    app = create_app(
        bundle,
        model_name="bank",
        version=1,
        sink=parquet_sink(Path(out_dir)),
        flush_interval_s=60.0,
        max_buffered_rows=64,
        max_body_bytes=1_000_000,  # test_server sends 1.1 MB for its 413
    )
    try:
        run_server(app, port=int(port), log_level="warning")
    finally:  # runs after a SIGTERM too: the CLI ends its deployment record here
        (Path(out_dir) / "stopped").write_text("ok")


if __name__ == "__main__":
    main(*sys.argv[1:])
