"""Read and write `loopml.yaml`; every error names the file, line, field and what is allowed."""

from __future__ import annotations

from pathlib import Path

import yaml

from loopml.errors import SpecError
from loopml.spec.model import ProjectSpec
from loopml.spec.yamlfile import read_yaml, validate_yaml


def load_spec(path: str | Path) -> ProjectSpec:
    """Load the spec at ``path``; raises SpecError (missing file, bad YAML, invalid field)."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(
            f"{path}: no project spec here. Run `loopml init DATA --target COLUMN` first."
        )
    return parse_spec(path.read_text(encoding="utf-8"), source=str(path))


def parse_spec(text: str, source: str = "loopml.yaml") -> ProjectSpec:
    """Parse YAML text into a ProjectSpec; ``source`` names the file in errors."""
    data, root = read_yaml(text, source)
    if not isinstance(data, dict):
        raise SpecError(f"{source}: the spec must be a mapping of sections, e.g. 'problem:'")
    return validate_yaml(ProjectSpec, data, root, source, "project spec")


def dump_spec(spec: ProjectSpec) -> str:
    """YAML text of ``spec`` (defaults included, so users see every setting)."""
    data = spec.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
