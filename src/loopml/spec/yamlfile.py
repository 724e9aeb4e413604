"""Read a YAML file into a pydantic model with errors that name the file, line and field.

Shared by the project spec (`loopml.yaml`) and the schema file (`schema.yaml`).
"""

from __future__ import annotations

import difflib
import re
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from loopml.errors import SpecError
from loopml.spec.sources import SOURCE_TYPES

M = TypeVar("M", bound=BaseModel)
_UNION_ARMS = {"str", "int", "float", "bool"}  # pydantic names a plain union's arm in loc
_NAMED_FIELD = re.compile(r"^([A-Za-z_]\w*(?:\.[\w-]+)+): (.*)$", re.DOTALL)


def read_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """The parsed data and its node tree (for line numbers); SpecError on bad YAML."""
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise SpecError(f"{source}{line}: not valid YAML: {exc}") from exc


def validate_yaml(model: type[M], data: Any, root: yaml.Node | None, source: str, what: str) -> M:
    """``model`` validated from ``data``; SpecError listing every problem by line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [describe(err, root, source, model) for err in exc.errors()]
        raise SpecError(f"invalid {what}:\n  " + "\n  ".join(lines)) from None


def describe(err: Any, root: yaml.Node | None, source: str, model: type[BaseModel]) -> str:
    """One line for one pydantic error: ``file:line: field: what is wrong``."""
    loc = _without_tags(tuple(p for p in err["loc"] if p is not None))
    message = err["msg"].removeprefix("Value error, ")
    if not loc and (named := _NAMED_FIELD.match(message)):  # a check across sections
        loc = tuple(int(p) if p.isdigit() else p for p in named.group(1).split("."))
        message = named.group(2)
    field = ".".join(str(p) for p in loc) or "(top level)"
    line = line_of(root, loc)
    where = f"{source}:{line}" if line else source
    if err["type"] == "extra_forbidden":
        allowed = allowed_fields(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suggestion = f" Did you mean '{hint[0]}'?" if hint else ""
        return f"{where}: {field}: unknown key.{suggestion} Allowed: {', '.join(allowed)}"
    if err["type"] in {"model_type", "dict_type"}:
        keys = ", ".join(allowed_fields(model, loc))
        return f"{where}: {field}: expected a mapping of {keys}"
    value = err.get("input")
    scalar = isinstance(value, str | int | float | bool)
    got = f" (got {value!r})" if err["type"] != "missing" and scalar else ""
    return f"{where}: {field}: {message}{got}"


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest node along ``loc`` that exists in the YAML; the
    last step lands on the key itself, so an unknown key is reported where it is written."""
    line = node.start_mark.line + 1 if node is not None else None
    for depth, key in enumerate(loc):
        child = None
        if isinstance(node, yaml.MappingNode):
            pick = 0 if depth == len(loc) - 1 else 1
            child = next((pair[pick] for pair in node.value if pair[0].value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            child = node.value[key] if key < len(node.value) else None
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the pydantic model found at ``loc`` inside ``model``."""
    current: Any = model
    annotation: Any = None
    for key in loc:
        if isinstance(key, _Tagged):
            current = _variant(annotation, key.tag)
            continue
        if isinstance(key, int):
            continue
        fields = current.model_fields if _is_model(current) else {}
        if str(key) in fields:
            annotation = fields[str(key)].annotation
            current = _inner_model(annotation)
        elif _is_dict_of_models(annotation):
            current = _inner_model(annotation)  # a key of a dict of models
        else:
            return []
    return list(current.model_fields) if _is_model(current) else []


class _Tagged(int):
    """A list index that also knows which member of a tagged union the item is."""

    tag: str

    def __new__(cls, index: int, tag: str) -> _Tagged:
        obj = super().__new__(cls, index)
        obj.tag = tag
        return obj


def _without_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop what pydantic adds to locations inside unions: a tagged union's tag after a
    list index (``sources.1.sql``, kept for the allowed-fields lookup) and a plain
    union's arm (``categories.0.str``)."""
    out: list[Any] = []
    for part in loc:
        if isinstance(part, str) and out and isinstance(out[-1], int):
            if part in _UNION_ARMS:
                continue
            if part in SOURCE_TYPES:
                out[-1] = _Tagged(out[-1], part)
                continue
        out.append(part)
    return tuple(out)


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


def _is_dict_of_models(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is dict and _inner_model(annotation) is not None


def _inner_model(annotation: Any) -> Any:
    if _is_model(annotation):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None
