"""`loopml package`'s folder: started with .venv's python on a free port, it answers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from tests.helpers import wait_ready

from loopml.errors import ConflictError, IntegrityError
from loopml.model.bundle import ModelBundle
from loopml.serve.package import requirements, write_package
from loopml.serve.standalone import load_package

from .test_server import free_port

ROW = {"age": 41.0, "balance": 12.0, "job": "student"}


def package(tmp_path: Path, classifier: ModelBundle) -> Path:
    meta = {"name": "bank", "version": 3, "signature": classifier.signature.to_dict()}
    return write_package(tmp_path / "bank-3", classifier.to_bytes(), meta)


def test_the_dockerfile_compiles_the_tree_kernel_into_the_folder(
    tmp_path: Path, classifier: ModelBundle
) -> None:
    folder = package(tmp_path, classifier)
    step = next(
        line for line in (folder / "Dockerfile").read_text().splitlines() if "warm_up" in line
    )
    assert step.startswith('RUN python -c "') and step.endswith('"')
    cache = folder / "loopml" / "serve" / "__pycache__"
    assert not list(cache.glob("trees.*.nbi"))
    command = step.removeprefix('RUN python -c "').removesuffix('"')
    subprocess.run([sys.executable, "-c", command], cwd=folder, check=True)
    assert list(cache.glob("trees._predict_rows-*.nbi"))  # what the server will load


def test_the_package_folder_serves_without_a_store(tmp_path: Path, classifier: ModelBundle) -> None:
    folder = package(tmp_path, classifier)
    names = {p.name for p in folder.iterdir()}
    assert {"model.pkl", "model.sha256", "model.json", "requirements.txt"} <= names
    assert {"Dockerfile", "serve.py", "loopml"} <= names
    assert 'CMD ["python", "serve.py", "--host", "0.0.0.0"' in (folder / "Dockerfile").read_text()
    pinned = (folder / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("scikit-learn==") for line in pinned)
    assert any(line.startswith("numba==") for line in pinned)
    assert all("==" in line for line in pinned)

    port, log_dir, log = free_port(), tmp_path / "log", tmp_path / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "serve.py", "--port", str(port), "--log-dir", str(log_dir)],
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={"LOOPML_TOKEN": "t0ken", "PATH": "/usr/bin:/bin"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, url, log)
        assert httpx.post(f"{url}/predict", json={"row": ROW}).status_code == 401
        headers = {"authorization": "Bearer t0ken"}
        answer = httpx.post(f"{url}/predict", json={"row": ROW}, headers=headers).json()
        assert answer["model"] == "bank@3"
        assert answer["probabilities"] == pytest.approx(
            classifier.predict(pd.DataFrame([ROW])).probabilities.tolist()
        )
        openapi = httpx.get(f"{url}/openapi.json").json()
        assert "/predict" in openapi["paths"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    logged = pd.concat([pd.read_parquet(p) for p in log_dir.glob("*.parquet")])
    assert logged["prediction_id"].tolist() == answer["prediction_ids"]
    assert "Traceback" not in log.read_text()


def test_a_changed_model_is_refused_and_folders_are_not_overwritten(
    tmp_path: Path, classifier: ModelBundle
) -> None:
    folder = package(tmp_path, classifier)
    bundle, meta = load_package(folder)
    assert meta["version"] == 3 and bundle.feature_names == ["age", "balance", "job"]
    assert (
        json.loads((folder / "model.json").read_text())["sha256"]
        in (folder / "model.sha256").read_text()
    )
    with pytest.raises(ConflictError, match="bank-3 already exists; pass --force"):
        package(tmp_path, classifier)
    (folder / "model.pkl").write_bytes((folder / "model.pkl").read_bytes() + b"x")
    with pytest.raises(IntegrityError, match="sha256 is .* refusing to load it"):
        load_package(folder)
    assert requirements() == sorted(requirements(), key=str.lower)
