"""Write a self-contained serving folder for one model version (``loopml package``).

The folder holds the bundle bytes and their sha256, ``model.json`` (name, version,
signature), ``requirements.txt`` pinned to the versions installed here, a copy of the
``loopml`` package (so no index needs to hold it), ``serve.py`` and a ``Dockerfile``
that runs it. It appears complete or not at all: it is written beside the target and
renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from loopml.errors import ConflictError
from loopml.serve.standalone import BUNDLE_FILE, DIGEST_FILE, META_FILE

PORT = 8080
LOOPML_DIR = Path(__file__).resolve().parents[1]  # the installed loopml package
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.csv", "*.parquet")

SERVE_PY = '''"""Serve this package: python serve.py [--host H] [--port P] [--log-dir DIR]."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from loopml.serve.standalone import main  # noqa: E402

if __name__ == "__main__":
    main(folder=HERE)
'''

# compiles the folder's loopml to bytecode and the tree kernel into its
# loopml/serve/__pycache__, so that a server started from the folder loads both instead
# of compiling them (about 3 s for the kernel) on its first start
COMPILE_KERNEL = (
    "import compileall, sys; compileall.compile_dir('loopml', quiet=1); "
    "sys.path.insert(0, '.'); from loopml.serve.trees import warm_up; warm_up(wait=True)"
)

DOCKERFILE = """FROM python:3.11-slim
WORKDIR /srv/model
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN python -c "{compile}"
ENV OMP_NUM_THREADS=1
EXPOSE {port}
# LOOPML_TOKEN, when set, is the API token the server requires.
CMD ["python", "serve.py", "--host", "0.0.0.0", "--port", "{port}", "--log-dir", "/srv/log"]
"""


def requirements() -> list[str]:
    """loopml's runtime dependencies, pinned to the versions installed here."""
    lines = []
    for requirement in metadata.requires("loopml") or []:
        if "extra ==" in requirement:
            continue
        name = requirement.split(";")[0]
        for sep in "<>=!~[ ":
            name = name.split(sep)[0]
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(requirement.split(";")[0].strip())
    return sorted(lines, key=str.lower)


def write_package(
    output: Path,
    bundle_bytes: bytes,
    meta: dict[str, Any],
    *,
    force: bool = False,
) -> Path:
    """Write the package folder ``output`` for ``bundle_bytes``; return its path.

    Raises:
        ConflictError: ``output`` exists and ``force`` is false.
    """
    if output.exists() and not force:
        raise ConflictError(f"{output} already exists; pass --force to replace it")
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}."))
    try:
        (staging / BUNDLE_FILE).write_bytes(bundle_bytes)
        digest = hashlib.sha256(bundle_bytes).hexdigest()
        (staging / DIGEST_FILE).write_text(f"{digest}  {BUNDLE_FILE}\n")
        (staging / META_FILE).write_text(json.dumps({**meta, "sha256": digest}, indent=2))
        (staging / "requirements.txt").write_text("\n".join(requirements()) + "\n")
        (staging / "serve.py").write_text(SERVE_PY)
        dockerfile = DOCKERFILE.format(port=PORT, compile=COMPILE_KERNEL)
        (staging / "Dockerfile").write_text(dockerfile)
        shutil.copytree(LOOPML_DIR, staging / "loopml", ignore=_SKIP)
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output
