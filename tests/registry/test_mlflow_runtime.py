"""The runtime an MLflow export ships: the loopml modules a pickled bundle needs (found
from the pickle and the sources' imports), and the pinned packages they import."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pytest
from tests.registry.conftest import fit_kind
from tests.registry.test_mlflow_portable import isolated_env

import loopml
from loopml.domain import ModelVersion
from loopml.errors import LoopMLError
from loopml.registry.export import export_model
from loopml.registry.runtime import LOADER_MODULE, build_runtime, module_closure

HEAVY = ("loopml.service", "loopml.storage", "loopml.registry", "loopml.serve", "loopml.cli")

UNPICKLE = """
import pickle, sys
from pathlib import Path

try:
    import loopml
except ModuleNotFoundError:
    pass
else:
    sys.exit(f"loopml is importable here: {loopml.__file__}")
code, bundle, rows = sys.argv[1:]
sys.path.insert(0, code)
import pandas as pd

model = pickle.loads(Path(bundle).read_bytes())
import loopml

assert Path(loopml.__file__).is_relative_to(code), loopml.__file__
print(list(model.predict(pd.read_csv(rows)).predictions))
"""


WHICH = """
import json, sys, warnings
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import mlflow.pyfunc

model = mlflow.pyfunc.load_model(sys.argv[1])
import loopml

print(model._model_impl.runtime, Path(loopml.__file__).resolve().is_relative_to(sys.argv[1]))
"""


class Local:
    """A class from a module no installed distribution provides."""


def names(requirements: tuple[str, ...]) -> set[str]:
    return {pin.partition("==")[0].lower() for pin in requirements}


@pytest.mark.parametrize("kind", ["linear", "xgboost"])
def test_the_shipped_runtime_alone_unpickles_and_predicts(
    bank_dir: Path, tmp_path: Path, kind: str
) -> None:
    bundle, frame = fit_kind(bank_dir, kind)
    data = bundle.to_bytes()
    runtime = build_runtime(data)
    assert "loopml.model.bundle" in runtime.modules and "loopml.errors" in runtime.modules
    assert not [m for m in runtime.modules if m.startswith(HEAVY)]
    assert "loopml" not in names(runtime.requirements)
    assert {"numpy", "pandas", "scikit-learn"} <= names(runtime.requirements)
    assert ("xgboost" in names(runtime.requirements)) == (kind == "xgboost")
    for pin in runtime.requirements:
        name, _, version = pin.partition("==")
        assert metadata.version(name) == version

    shipped = runtime.write(tmp_path / "code")
    assert [p.name for p in shipped] == ["loopml", f"{LOADER_MODULE}.py"]
    (tmp_path / "bundle.pkl").write_bytes(data)
    frame.head(50).to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "unpickle.py").write_text(textwrap.dedent(UNPICKLE))
    args = [str(tmp_path / n) for n in ("unpickle.py", "code", "bundle.pkl", "rows.csv")]
    done = subprocess.run(
        [sys.executable, *args],
        env=isolated_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    expected = list(bundle.predict(frame.head(50)).predictions)
    assert done.stdout.strip() == str(expected)


def test_the_closure_follows_imports_but_not_the_api_facade() -> None:
    modules, libraries = module_closure(["loopml.model.bundle"])
    assert {"loopml", "loopml.model", "loopml.domain", "loopml.model.values"} <= set(modules)
    assert not [m for m in modules if m.startswith((*HEAVY, "loopml.tracking"))]
    assert {"numpy", "pandas"} <= libraries and "typing" not in libraries


def test_a_model_naming_an_unindexed_module_is_refused() -> None:
    with pytest.raises(LoopMLError, match="'tests'.*no installed package"):
        build_runtime(pickle.dumps(Local()))


def test_an_installed_loopml_of_another_version_leaves_the_shipped_copy(
    bank_dir: Path, tmp_path: Path
) -> None:
    bundle, _ = fit_kind(bank_dir, "linear")
    version = ModelVersion("bank", 1, "r" * 32, "0" * 64, datetime.now(UTC), bundle.signature)
    path = export_model(version, bundle, bundle.to_bytes(), "mlflow", tmp_path / "m")
    (tmp_path / "which.py").write_text(textwrap.dedent(WHICH))
    env = {**isolated_env(tmp_path), "PYTHONPATH": ""}  # loopml is installed here
    info = next(path.rglob("loopml.json"))

    def which() -> str:
        command = [sys.executable, str(tmp_path / "which.py"), str(path.resolve())]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.strip()

    assert json.loads(info.read_text())["loopml_version"] == loopml.__version__
    assert which() == "installed False"
    info.write_text(json.dumps({**json.loads(info.read_text()), "loopml_version": "0.0.1"}))
    assert which() == "shipped True"  # the code that pickled it, not another release
