"""Read and write `loopml.yaml`; every error names the file, line, field and what is allowed."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from loopml.errors import SpecError
from loopml.spec.model import ProjectSpec
from loopml.spec.sources import SOURCE_TYPES


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
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise SpecError(f"{source}{line}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{source}: the spec must be a mapping of sections, e.g. 'problem:'")
    try:
        return ProjectSpec.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(err, root, source) for err in exc.errors()]
        raise SpecError("invalid project spec:\n  " + "\n  ".join(lines)) from None


def dump_spec(spec: ProjectSpec) -> str:
    """YAML text of ``spec`` (defaults included, so users see every setting)."""
    data = spec.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _describe(err: Any, root: yaml.Node | None, source: str) -> str:
    loc = _without_tags(tuple(p for p in err["loc"] if p is not None))
    field = ".".join(str(p) for p in loc) or "(top level)"
    line = _line_of(root, loc)
    where = f"{source}:{line}" if line else source
    if err["type"] == "extra_forbidden":
        allowed = _allowed_fields(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suggestion = f" Did you mean '{hint[0]}'?" if hint else ""
        return f"{where}: {field}: unknown field.{suggestion} Allowed: {', '.join(allowed)}"
    message = err["msg"].removeprefix("Value error, ")
    got = f" (got {err['input']!r})" if err["type"] != "missing" and _scalar(err) else ""
    return f"{where}: {field}: {message}{got}"


def _without_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the tags pydantic puts in locations inside tagged unions (``sources.1.sql``),
    remembering them for the allowed-fields lookup as ``(index, tag)``."""
    out: list[Any] = []
    for part in loc:
        if part in SOURCE_TYPES and out and isinstance(out[-1], int):
            out[-1] = _Tagged(out[-1], str(part))
        else:
            out.append(part)
    return tuple(out)


class _Tagged(int):
    """A list index that also knows which member of a tagged union the item is."""

    tag: str

    def __new__(cls, index: int, tag: str) -> _Tagged:
        obj = super().__new__(cls, index)
        obj.tag = tag
        return obj


def _scalar(err: Any) -> bool:
    return isinstance(err.get("input"), str | int | float | bool)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest node along ``loc`` that exists in the YAML."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        child = _child(node, key)
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def _child(node: yaml.Node | None, key: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(key):
                # an unknown key is reported at the key itself
                return value_node if value_node.start_mark.line >= 0 else key_node
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the pydantic model found at ``loc`` inside ProjectSpec."""
    model: Any = ProjectSpec
    annotation: Any = None
    for key in loc:
        if isinstance(key, _Tagged):
            model = _variant(annotation, key.tag)
            continue
        if isinstance(key, int):
            continue
        field = model.model_fields.get(str(key)) if _is_model(model) else None
        if field is None:
            return []
        annotation = field.annotation
        model = _inner_model(annotation)
    return list(model.model_fields) if _is_model(model) else []


def _variant(annotation: Any, tag: str) -> Any:
    """The model in a (list of a) tagged union whose ``type`` default is ``tag``."""
    for arg in getattr(annotation, "__args__", ()) or ():
        fields = arg.model_fields if _is_model(arg) else {}
        if "type" in fields and fields["type"].default == tag:
            return arg
        found = _variant(arg, tag)
        if found is not None:
            return found
    for meta in getattr(annotation, "__metadata__", ()) or ():
        found = _variant(meta, tag)
        if found is not None:
            return found
    return None


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _inner_model(annotation: Any) -> Any:
    if _is_model(annotation):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None
