"""Serve a packaged model without a project store: the entrypoint of ``loopml package``.

A package folder holds ``model.pkl`` (the bundle bytes), ``model.sha256``, ``model.json``
(name, version, signature), ``requirements.txt``, a ``Dockerfile`` and ``serve.py``,
which calls ``main()`` here. Predictions are logged as Parquet files in a local folder.

    python serve.py [--host 127.0.0.1] [--port 8080] [--log-dir predictions]
                    [--max-body-bytes 16000000] [--batch-threads 1]

``LOOPML_TOKEN``, when set, is the API token the server requires.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from loopml.errors import IntegrityError, NotFoundError

BUNDLE_FILE = "model.pkl"
DIGEST_FILE = "model.sha256"
META_FILE = "model.json"


def load_package(folder: Path) -> tuple[Any, dict[str, Any]]:
    """(bundle, metadata) of a package folder, its sha256 checked before unpickling.

    Raises:
        NotFoundError: the folder lacks one of the package files.
        IntegrityError: the bundle's bytes do not match ``model.sha256``.
    """
    from loopml.model.bundle import ModelBundle

    for name in (BUNDLE_FILE, DIGEST_FILE, META_FILE):
        if not (folder / name).is_file():
            raise NotFoundError(f"{folder}: no {name}; write the folder with `loopml package`")
    data = (folder / BUNDLE_FILE).read_bytes()
    expected = (folder / DIGEST_FILE).read_text().split()[0]
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise IntegrityError(
            f"{folder / BUNDLE_FILE}: sha256 is {actual}, the package says {expected}; "
            "refusing to load it. Write the package again with `loopml package`."
        )
    meta = json.loads((folder / META_FILE).read_text())
    return ModelBundle.from_bytes(data), meta


def create_package_app(
    folder: Path, log_dir: Path, options: Any = None, token: str | None = None
) -> Any:
    """The model server app for a package folder, logging to ``log_dir``."""
    from dataclasses import replace

    from loopml.serve.app import ServeOptions, create_app
    from loopml.serve.sink import folder_sink

    bundle, meta = load_package(folder)
    options = replace(options or ServeOptions(), token=token or None)
    name, version = meta["name"], int(meta["version"])
    return create_app(
        bundle,
        model_name=name,
        version=version,
        sink=folder_sink(log_dir, f"{name}-{version}"),
        options=options,
    )


def main(argv: list[str] | None = None, folder: Path | None = None) -> None:
    """Parse the command line and serve the package in ``folder`` (default: here)."""
    from loopml.serve.server import run_server

    parser = argparse.ArgumentParser(description="Serve a packaged loopml model.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--log-dir", type=Path, default=Path("predictions"))
    parser.add_argument("--folder", type=Path, default=folder or Path.cwd())
    parser.add_argument("--max-body-bytes", type=int, default=16_000_000)
    parser.add_argument("--batch-threads", type=int, default=1, help="threads of big batches")
    args = parser.parse_args(argv)
    from loopml.serve.app import ServeOptions

    options = ServeOptions(max_body_bytes=args.max_body_bytes, batch_threads=args.batch_threads)
    token = os.environ.get("LOOPML_TOKEN")
    app = create_package_app(args.folder, args.log_dir, options, token=token)
    run_server(app, host=args.host, port=args.port)
