"""The MLflow export is portable: in a Python where ``import loopml`` fails, the exported
folder loads with ``mlflow.pyfunc.load_model`` and serves with ``mlflow models serve``,
predicting what loopml predicts for the same raw rows; its requirements pin only packages
an index has.

"Where loopml is not installed" is made real with a ``sitecustomize`` on PYTHONPATH (so
the ``uvicorn`` process the server starts has it too): a meta-path finder that looks for
``loopml`` only on path entries that did not hold it at startup. The installed loopml
(editable or not) is hidden; the copy an export ships, on the path MLflow adds, is found.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from importlib import metadata, resources
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.registry.conftest import bank_sample, write_project

from loopml.service import ProjectService

pytest.importorskip("mlflow")

BLOCKER = '''
"""loopml is not installed here: entries of sys.path that held it at startup are skipped."""
import importlib.machinery
import sys
from pathlib import Path


def _key(entry):
    try:
        return str(Path(entry or ".").resolve())
    except OSError:
        return entry


_HIDDEN = {_key(e) for e in sys.path if (Path(e or ".") / "loopml" / "__init__.py").is_file()}


class NoInstalledLoopml:
    def find_spec(self, name, path=None, target=None):
        if name != "loopml":
            return None
        entries = [e for e in sys.path if _key(e) not in _HIDDEN]
        spec = importlib.machinery.PathFinder.find_spec(name, entries)
        if spec is None:
            raise ModuleNotFoundError("No module named 'loopml'", name="loopml")
        return spec


sys.meta_path.insert(0, NoInstalledLoopml())
'''

LOAD = """
import json, sys, warnings
from pathlib import Path

try:
    import loopml
except ModuleNotFoundError as exc:
    print("blocked:", exc)
else:
    sys.exit(f"loopml is importable here: {loopml.__file__}")

import pandas as pd
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import mlflow.pyfunc

model_dir, rows, out = map(Path, sys.argv[1:])
model = mlflow.pyfunc.load_model(str(model_dir))
import loopml  # now the copy the export ships

assert Path(loopml.__file__).resolve().is_relative_to(model_dir.resolve()), loopml.__file__
assert model._model_impl.runtime == "shipped", model._model_impl.runtime
result = model.predict(pd.read_csv(rows))
out.write_text(json.dumps({
    "loopml": loopml.__file__,
    "columns": list(result.columns),
    "records": result.to_dict(orient="records"),
    "modules": sorted(m for m in sys.modules if m.split(".")[0] == "loopml"),
}))
"""


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a Python without loopml: this interpreter's packages, less it."""
    folder = tmp_path / "no-loopml"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(BLOCKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LOOPML"))}
    env["PYTHONPATH"] = str(folder)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONNOUSERSITE"] = "1"
    env["TMPDIR"] = str(tmp_path)  # where `mlflow models serve` copies the model
    env["MLFLOW_TRACKING_URI"] = (tmp_path / "mlruns").as_uri()
    return env


@pytest.fixture
def churn_dir(tmp_path: Path) -> Path:
    churn = Path(str(resources.files("loopml.resources") / "telco_churn.csv"))
    frame = pd.read_csv(churn).sample(1500, random_state=5)
    return write_project(tmp_path, frame, "churned", ["Customer ID"])


@pytest.fixture(params=["bank", "churn"])
def exported(request, tmp_path: Path, bank_csv: Path) -> Iterator[tuple[Path, Path, pd.DataFrame]]:
    """(model folder, raw rows .csv, loopml's own predictions for them) of one data set."""
    if request.param == "bank":
        project = write_project(tmp_path, bank_sample(bank_csv), "subscribed ", ["duration"])
    else:
        project = request.getfixturevalue("churn_dir")
    service = ProjectService.open(project)
    try:
        service.run()
        _, path = service.export_model("bank@1", "mlflow", tmp_path / "mlflow-model")
        _, bundle = service.load_model("bank@1")
    finally:
        service.close()
    rows = tmp_path / "rows.csv"
    raw = pd.read_csv(project / "data" / "data.csv", nrows=200)
    raw.to_csv(rows, index=False)
    expected = bundle.predict(pd.read_csv(rows))
    frame = pd.DataFrame({"prediction": expected.predictions})
    if expected.probabilities is not None and expected.probabilities.ndim == 1:
        frame["probability"] = expected.probabilities
    yield path, rows, frame


def assert_same(records: list[dict[str, object]], expected: pd.DataFrame) -> None:
    got = pd.DataFrame.from_records(records)
    assert list(got.columns) == list(expected.columns)
    assert [str(v) for v in got["prediction"]] == [str(v) for v in expected["prediction"]]
    if "probability" in expected:
        np.testing.assert_allclose(got["probability"], expected["probability"], rtol=1e-12)


def test_requirements_pin_only_indexed_packages(exported) -> None:
    path, _, _ = exported
    pins = (path / "requirements.txt").read_text().split()
    names = {pin.partition("==")[0].lower() for pin in pins}
    assert all("==" in pin for pin in pins) and "loopml" not in names
    assert {"scikit-learn", "pandas", "numpy"} <= names and names & {"mlflow", "mlflow-skinny"}
    for pin in pins:
        name, _, version = pin.partition("==")
        assert metadata.version(name) == version
    assert "loopml" not in (path / "conda.yaml").read_text().replace("loopml.json", "")
    assert "loopml_mlflow_loader" in (path / "MLmodel").read_text()
    assert (path / "code" / "loopml" / "model" / "bundle.py").is_file()
    assert not (path / "code" / "loopml" / "service").exists()  # no store, CLI or server
    assert not (path / "code" / "loopml" / "storage").exists()


def test_loads_and_predicts_where_loopml_is_not_installed(exported, tmp_path: Path) -> None:
    path, rows, expected = exported
    script, out = tmp_path / "load.py", tmp_path / "out.json"
    script.write_text(textwrap.dedent(LOAD))
    done = subprocess.run(
        [sys.executable, str(script), str(path), str(rows), str(out)],
        env=isolated_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "blocked: No module named 'loopml'" in done.stdout
    got = json.loads(out.read_text())
    assert Path(got["loopml"]).resolve().is_relative_to(path.resolve())
    assert not {"loopml.service", "loopml.storage", "loopml.cli"} & set(got["modules"])
    assert_same(got["records"], expected)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(path: Path, tmp_path: Path) -> Iterator[str]:
    """``mlflow models serve`` on the export, in the Python without loopml; its URL."""
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(path)]
        + ["--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "-w", "1"],
        env=isolated_env(tmp_path),
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the uvicorn it starts stops too
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                raise AssertionError(f"the server exited: {(tmp_path / 'serve.log').read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer: {(tmp_path / 'serve.log').read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=20)
        log.close()


def test_mlflow_models_serve_answers_where_loopml_is_not_installed(
    exported, tmp_path: Path
) -> None:
    path, rows, expected = exported
    raw = pd.read_csv(rows)
    body = {"dataframe_split": json.loads(raw.to_json(orient="split", index=False))}
    with mlflow_server(path, tmp_path) as url:
        reply = httpx.post(f"{url}/invocations", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    log = (tmp_path / "serve.log").read_text()
    assert "ModuleNotFoundError" not in log
    assert_same(answer["predictions"], expected)
