"""The part of loopml a pickled bundle needs, shipped with an export that has to load
where loopml is not installed (the MLflow export's ``code_paths``).

A bundle's pickle names loopml classes and functions (``ModelBundle``, the feature
transformers, the estimator wrappers, the cleaning step); to unpickle and predict they
need their modules, those modules' loopml imports, and the packages above them. The
modules are found from the pickle itself (the globals it names) and then by reading the
sources' import statements, so the runtime holds exactly that code: no store, no CLI, no
server. The third-party packages it needs are the top-level imports of those modules and
the libraries the pickle names, pinned to the versions installed.
"""

from __future__ import annotations

import ast
import io
import pickle
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from loopml.errors import LoopMLError

PACKAGE = "loopml"
LOADER_MODULE = "loopml_mlflow_loader"
"""The top-level module MLflow imports to load the export: a copy of
``loopml.registry.mlflow_flavor``, beside the shipped ``loopml`` package."""

BASE_LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "pyarrow")
"""Pinned whenever they are installed: the bundle's arrays and frames are theirs."""

_ROOT = Path(__file__).resolve().parents[1]  # the loopml package folder
_FLAVOR = ("loopml.registry.mlflow_flavor",)
_RUNTIME_ROOTS = ("loopml.errors", "loopml.model.bundle")  # what the loader imports


@dataclass(frozen=True)
class Runtime:
    """The loopml ``modules`` (dotted names) an export ships and the pinned
    ``requirements`` (``name==version``) of the packages they and the pickle import."""

    modules: tuple[str, ...]
    requirements: tuple[str, ...]

    def write(self, folder: Path) -> list[Path]:
        """Copy the modules' sources under ``folder`` (``folder/loopml/...``) and the
        loader as ``folder/loopml_mlflow_loader.py``; return the paths to ship."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.modules:
            source = module_file(name)
            if source is None:  # found when the runtime was built; gone since
                raise FileNotFoundError(f"the source of {name} is missing")
            target = folder / source.relative_to(_ROOT.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        loader = module_file(_FLAVOR[0])
        assert loader is not None
        shutil.copyfile(loader, folder / f"{LOADER_MODULE}.py")
        return [folder / PACKAGE, folder / f"{LOADER_MODULE}.py"]


def build_runtime(data: bytes, extra: Iterable[str] = ()) -> Runtime:
    """The runtime the pickled bundle ``data`` needs (its sha256 verified by the caller:
    finding the globals it names unpickles it), plus the ``extra`` requirement names."""
    named = pickled_modules(data)
    modules, libraries = module_closure([*named, *_RUNTIME_ROOTS])
    libraries |= {name.partition(".")[0] for name in named if not _is_loopml(name)}
    libraries = {top for top in libraries if _third_party(top)}
    names = {*_installed(BASE_LIBRARIES), *_distributions(libraries), *extra}
    return Runtime(tuple(modules), tuple(pin(name) for name in sorted(names, key=str.lower)))


def pickled_modules(data: bytes) -> set[str]:
    """The modules whose globals the pickle ``data`` names (it is unpickled to find them)."""
    found: set[str] = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:
            found.add(module)
            return super().find_class(module, name)

    Recorder(io.BytesIO(data)).load()  # noqa: S301 - hash verified by the caller
    return found - {"builtins", "copyreg", "__builtin__"}


def module_closure(roots: Iterable[str]) -> tuple[list[str], set[str]]:
    """The loopml modules ``roots`` need to import (the loopml ones among them, the loopml
    modules they import anywhere, and every package above each), sorted; and the
    top-level names of the third-party packages those modules import when they load."""
    todo = [name for name in roots if _is_loopml(name)]
    seen: set[str] = set()
    libraries: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_file(name)
        if path is None:
            raise ModuleNotFoundError(f"no source for {name} under {_ROOT}", name=name)
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for imported, on_load in _imports(path, package):
            if _is_loopml(imported):
                if (on_load or name != PACKAGE) and module_file(imported) is not None:
                    todo.append(imported)
            elif on_load:
                libraries.add(imported.partition(".")[0])
    return sorted(seen), {top for top in libraries if _third_party(top)}


def module_file(name: str) -> Path | None:
    """The source file of the loopml module ``name``, None if there is none."""
    if not _is_loopml(name):
        return None
    base = _ROOT.joinpath(*name.split(".")[1:])
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def pin(distribution: str) -> str:
    return f"{distribution}=={metadata.version(distribution)}"


def _is_loopml(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _imports(path: Path, package: str) -> list[tuple[str, bool]]:
    """The modules ``path`` imports, with whether each is imported when it loads (at
    module or class level, not in a function, an ``if TYPE_CHECKING:`` block, or a
    ``try`` that catches ImportError). ``from x import y`` gives ``x`` and ``x.y``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, on_load: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, on_load) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            found.append((base, on_load))
            found.extend((f"{base}.{alias.name}", False) for alias in node.names)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for branch in node.orelse:
                visit(branch, on_load)
            return
        if isinstance(node, ast.Try) and _catches_import_error(node):
            for attempt in node.body:
                visit(attempt, False)
            for other in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(other, on_load)
            return
        inner = on_load and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, True)
    return found


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _catches_import_error(node: ast.Try) -> bool:
    names = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    for handler in node.handlers:
        if handler.type is None:
            return True
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(t, ast.Name) and t.id in names for t in types):
            return True
    return False


def _third_party(top: str) -> bool:
    return bool(top) and top not in sys.stdlib_module_names and top not in ("__future__", PACKAGE)


def _installed(names: Iterable[str]) -> list[str]:
    out = []
    for name in names:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        out.append(name)
    return out


def _distributions(top_levels: Iterable[str]) -> set[str]:
    """The installed distributions that provide the import names ``top_levels``."""
    provided = metadata.packages_distributions()
    out: set[str] = set()
    for top in top_levels:
        dists = [d for d in provided.get(top, []) if d.lower() != PACKAGE]
        if not dists and top != PACKAGE:
            raise LoopMLError(
                f"the model needs the module '{top}', which no installed package provides: "
                "an export can pin only packages from an index (and ships loopml's own code)"
            )
        out.update(dists)
    return out
