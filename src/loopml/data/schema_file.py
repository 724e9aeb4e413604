"""Save the schema as an editable, commented ``schema.yaml`` and load it back.

The file sits beside ``loopml.yaml``. One entry per column, in order::

    columns:
      age:
        kind: numeric
        dtype: int64
        nullable: false
        min: 18
        max: 95
      job:
        kind: categorical
        dtype: str
        categories: [admin, cook, pilot]
      satisfaction:
        kind: ordinal
        categories: [low, medium, high]   # lowest first
      customer_id:
        kind: numeric
        unique: true

``unique`` is kept beside the ``Schema`` (the domain ``ColumnSchema`` has no such field):
``load_schema`` returns the schema and the set of unique columns.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.errors import SpecError
from loopml.spec.yamlfile import read_yaml, validate_yaml

SCHEMA_FILE = "schema.yaml"
VERSION = 1
_HEADER = """\
# The schema every new snapshot of the data is checked against (loopml validate).
# Inferred from the data; edit it to tighten or relax a rule, then run the pipeline again.
#   kind:        numeric | categorical | ordinal | boolean | datetime | text
#                (wrong values: 'type'; ordinal: categories in order, lowest first)
#   dtype:       the storage type it was inferred from (informative only)
#   nullable:    false makes a missing value a violation ('null')
#   min, max:    numbers outside are violations ('out_of_range'); delete to allow any
#   categories:  values not listed are violations ('unseen_category'); delete to allow any
#   unique:      true makes a repeated value a violation ('unique')
# Which rules fail the pipeline and which only warn: data.validation.fail_on in loopml.yaml.
"""


class _ColumnEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ColumnKind
    dtype: str = ""
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    categories: list[str | int | float | bool] | None = None
    unique: bool = False


class _SchemaFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = VERSION
    columns: dict[str, _ColumnEntry]


def save_schema(schema: Schema, path: str | Path, *, unique: Iterable[str] = ()) -> Path:
    """Write ``schema`` (and which columns are ``unique``) to ``path`` as commented YAML.

    The file is written to a temporary file beside ``path`` and moved into place, so a
    reader never sees half of it. Returns ``path``.
    """
    path = Path(path)
    text = dump_schema(schema, unique=unique)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def dump_schema(schema: Schema, *, unique: Iterable[str] = ()) -> str:
    """The text ``save_schema`` writes."""
    unique = set(unique)
    lines = [_HEADER, f"version: {VERSION}", "columns:"]
    for col in schema.columns:
        lines.append(f"  {_scalar(col.name)}:")
        lines.append(f"    kind: {col.kind}")
        if col.dtype:
            lines.append(f"    dtype: {_scalar(col.dtype)}")
        lines.append(f"    nullable: {_scalar(col.nullable)}")
        for key, bound in (("min", col.min), ("max", col.max)):
            if bound is not None:
                lines.append(f"    {key}: {_scalar(_number(bound))}")
        if col.categories is not None:
            lines.append(f"    categories: {_scalar(list(col.categories))}")
        if col.name in unique:
            lines.append("    unique: true")
    return "\n".join(lines) + "\n"


def load_schema(path: str | Path) -> tuple[Schema, set[str]]:
    """Read a ``schema.yaml`` written by ``save_schema`` (and perhaps edited).

    Returns:
        The schema, and the names of the columns marked ``unique: true``.

    Raises:
        SpecError: the file is missing, is not YAML, or holds an unknown key, an unknown
            kind or a value of the wrong type; the message names the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(
            f"{path}: no schema file here. Run the pipeline once to infer one, or restore it."
        )
    return parse_schema(path.read_text(encoding="utf-8"), source=str(path))


def parse_schema(text: str, source: str = SCHEMA_FILE) -> tuple[Schema, set[str]]:
    """Parse the text of a schema file; ``source`` names it in errors."""
    data, root = read_yaml(text, source)
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a schema file is a mapping with 'columns:'")
    _refuse_repeated_columns(root, source)
    parsed = validate_yaml(_SchemaFile, data, root, source, "schema file")
    if parsed.version > VERSION:
        raise SpecError(
            f"{source}: schema file version {parsed.version} is newer than this loopml "
            f"reads ({VERSION}); upgrade loopml"
        )
    columns = []
    for name, entry in parsed.columns.items():
        cats = entry.categories
        columns.append(
            ColumnSchema(
                name=name,
                kind=entry.kind,
                dtype=entry.dtype,
                nullable=entry.nullable,
                min=entry.min,
                max=entry.max,
                categories=tuple(_category(c) for c in cats) if cats is not None else None,
            )
        )
    unique = {name for name, entry in parsed.columns.items() if entry.unique}
    return Schema(tuple(columns)), unique


def _refuse_repeated_columns(root: yaml.Node | None, source: str) -> None:
    """YAML keeps the last of two equal keys silently; a repeated column is a mistake."""
    columns = _top_level(root, "columns")
    if not isinstance(columns, yaml.MappingNode):
        return
    seen: set[str] = set()
    for key, _ in columns.value:
        if key.value in seen:
            raise SpecError(
                f"{source}:{key.start_mark.line + 1}: columns.{key.value}: the column is "
                "listed twice; keep one entry"
            )
        seen.add(key.value)


def _top_level(root: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(root, yaml.MappingNode):
        return next((v for k, v in root.value if k.value == key), None)
    return None


def _scalar(value: Any) -> str:
    """``value`` as one line of YAML (quoted when it has to be; lists in flow style)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _number(value: float) -> float | int:
    """Integral floats as ints, so that ``min: 18`` reads as it was meant."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


def _category(value: str | int | float | bool) -> str:
    """Categories are stored as strings; a hand-written ``[1, 2]`` means ``["1", "2"]``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
