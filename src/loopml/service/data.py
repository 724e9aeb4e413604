"""The project's data: profiles, labels, snapshots, diffs and lineage."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.domain import (
    ModelVersion,
    Snapshot,
)
from loopml.errors import ConflictError, DataError, NotFoundError, SpecError

if TYPE_CHECKING:
    pass


from loopml.service.base import ServiceBase
from loopml.service.files import write_atomic


@dataclass(frozen=True)
class LabelQueue:
    """The rows still waiting for a label, as ``loopml label export`` writes them.

    ``rows`` (a DataFrame) holds the key columns first, then every other column but the
    target and the lineage columns; ``classes`` the labels the target takes in the data
    (empty for a regression, whose label is any number).
    """

    target: str
    key: tuple[str, ...]
    classes: tuple[Any, ...]
    rows: Any


class DataMixin(ServiceBase):
    """Profiles, labels and snapshots of the project's data."""

    # (label sets, newest snapshot) -> the queue they gave: a page of the queue does not
    # run the data steps again until labels are added or a run ingests a new snapshot
    _label_queue: tuple[Any, LabelQueue] | None = None

    def profile(
        self, output: Path | None = None, on_event: Callable[[Any], None] | None = None
    ) -> tuple[Path, Any]:
        """Ingest (or reuse) the current snapshot and write its EDA report as HTML.

        The raw snapshot is profiled, before validation and cleaning, so that its quirks
        (leakage, duplicate and ID-like columns, missing values) show up in the report.
        """
        from loopml.pipeline.lifecycle import SNAPSHOT
        from loopml.profile import profile_frame, render_profile

        result = self._run_data_steps(on_event, "profile", only_ingest=True)
        snapshot = result.load(SNAPSHOT)
        import pandas as pd

        frame = pd.read_parquet(io.BytesIO(snapshot))
        problem = self.spec.problem
        kinds = {c: k for c, k in self.spec.data.columns.items() if c in frame.columns}
        profile = profile_frame(
            frame,
            target=problem.target if problem.target in frame.columns else None,
            task=problem.task,
            kinds=kinds,
            orders=self.spec.data.orders,
            title=f"{self.spec.name}: snapshot {result.outputs[SNAPSHOT][:12]}",
        )
        path = self._path(output) if output else self.reports_dir / f"profile-{self.spec.name}.html"
        write_atomic(path, render_profile(profile).encode())
        return path, profile

    def profile_file(
        self,
        source: Path,
        output: Path | None = None,
        *,
        sample_rows: int = 200_000,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> tuple[Path, Any]:
        """Write the EDA report of one CSV/Parquet file of any size, read in one streaming
        pass (``loopml.profile.stream``: exact counts and moments, the charts on a sample
        of ``sample_rows``); the spec's target, task and column kinds apply where the
        file has those columns. ``progress(rows_read, total_or_None)`` per batch."""
        from loopml.compute.parts import schema_of
        from loopml.profile import render_profile
        from loopml.profile.stream import profile_file

        path = self._path(source)
        names = set(schema_of(path).names)
        problem = self.spec.problem
        profile = profile_file(
            path,
            target=problem.target if problem.target in names else None,
            task=problem.task,
            kinds={c: k for c, k in self.spec.data.columns.items() if c in names},
            orders={c: o for c, o in self.spec.data.orders.items() if c in names},
            sample_rows=sample_rows,
            progress=progress,
            title=f"{self.spec.name}: {path.name}",
        )
        out = self._path(output) if output else self.reports_dir / f"profile-{path.stem}.html"
        write_atomic(out, render_profile(profile).encode())
        return out, profile

    def _run_data_steps(
        self, on_event: Callable[[Any], None] | None, name: str, only_ingest: bool = False
    ) -> Any:
        from loopml.pipeline.lifecycle import data_steps

        steps = data_steps(
            self.spec,
            self.settings.project_dir,
            os.environ,
            self._label_sets(),
            self.settings.storage_options,
        )
        steps = steps[:1] if only_ingest else steps
        runner = self._runner(on_event)
        return runner.run(steps, name=name)

    def export_unlabelled(self, output: Path, on_event: Callable[[Any], None] | None = None) -> int:
        """Write the rows that still have no label (after rules and imports) to ``output``."""
        from loopml.data.labels import export_unlabelled
        from loopml.pipeline.lifecycle import LABELLED

        self._require_key("label export")
        result = self._run_data_steps(on_event, "label-export")
        return export_unlabelled(
            result.load(LABELLED),
            self.spec.problem.target,
            list(self.spec.data.key),
            self._path(output),
        )

    def import_labels(self, path: Path, labelled_by: str) -> dict[str, Any]:
        """Store a filled-in labelling file; the next run applies it (who and when kept)."""
        import pandas as pd

        from loopml.data.labels import read_label_file

        self._require_key("label import")
        if not labelled_by.strip():
            raise DataError("say who labelled the rows: --by NAME")
        key, target = list(self.spec.data.key), self.spec.problem.target
        labels = read_label_file(self._path(path), key, target)
        return self._store_labels(pd.DataFrame(labels[[*key, target]]), labelled_by, str(path))

    def _store_labels(self, labels: Any, labelled_by: str, origin: str) -> dict[str, Any]:
        """Keep ``labels`` (key columns and the target, as text) as an artifact and a
        ``labels.imported`` event; the next run applies them."""
        buffer = io.BytesIO()
        labels.to_parquet(buffer, index=False)
        ref = self.artifacts.put_bytes(buffer.getvalue())
        payload = {
            "digest": ref.digest,
            "labelled_by": labelled_by.strip(),
            "labelled_at": datetime.now(UTC).isoformat(),
            "rows": len(labels),
            "file": origin,
        }
        self.store.add_event(self.project.project_id, "labels.imported", payload)
        return payload

    def label_queue(self) -> LabelQueue:
        """The rows of the data that still have no label after the rules and every
        import, with the classes a label may take.

        Runs the data steps (reused when unchanged) the first time, and again only
        after labels are added or a run ingests a new snapshot. Raises SpecError
        without ``data.key``.
        """
        from loopml.data.labels import LINEAGE_COLUMNS
        from loopml.pipeline.lifecycle import LABELLED

        self._require_key("label export")
        cached = self._label_queue
        if cached is not None and cached[0] == self._queue_marker():
            return cached[1]
        frame = self._run_data_steps(None, "label-queue").load(LABELLED)
        key, target = tuple(self.spec.data.key), self.spec.problem.target
        others = [c for c in frame.columns if c not in key and c != target]
        rows = frame.loc[frame[target].isna(), [*key, *others]]
        rows = rows.drop(columns=[c for c in LINEAGE_COLUMNS if c in rows.columns])
        classes: tuple[Any, ...] = ()
        if self.spec.problem.task == "classification":
            classes = tuple(sorted(frame[target].dropna().unique().tolist(), key=str))
        queue = LabelQueue(target, key, classes, rows.reset_index(drop=True))
        self._label_queue = (self._queue_marker(), queue)
        return queue

    def _queue_marker(self) -> tuple[Any, ...]:
        snapshots = self.list_snapshots()
        newest = max((s.created_at for s in snapshots), default=None)
        return tuple(s.digest for s in self._label_sets()), newest

    def add_labels(
        self, labels: Sequence[tuple[Mapping[str, Any], Any]], labelled_by: str
    ) -> dict[str, Any]:
        """Store labels given as (key values, label) pairs for rows of the queue, as
        ``import_labels`` stores a file's (``file`` is ``team server``): the next run
        applies them. Returns the ``labels.imported`` event's payload.

        Raises DataError for an empty list or labeller, a key that misses a key column or
        names no row waiting for a label, a label given twice, or a label the target does
        not take (a class it does not have, text for a number); SpecError without
        ``data.key``.
        """
        import pandas as pd

        from loopml.data.labels import label_keys

        if not labelled_by.strip():
            raise DataError("say who labelled the rows")
        if not labels:
            raise DataError("labels: give at least one {key, label}")
        queue = self.label_queue()
        key, target = list(queue.key), queue.target
        frame = pd.DataFrame(
            [
                {**{c: _key_value(k, c, i) for c in key}, target: _text(v)}
                for i, (k, v) in enumerate(labels)
            ]  # fmt: skip
        )
        _check_labels(frame[target], queue.classes, target, self.spec.problem.task)
        waiting = queue.rows[key].assign(**{target: None})
        known = set(label_keys(waiting, key, target, "the label queue"))
        given = label_keys(frame, key, target, "the labels")
        for i, row_key in enumerate(given):
            if row_key not in known:
                shown = ", ".join(f"{c}={v!r}" for c, v in zip(key, row_key, strict=True))
                raise DataError(f"labels[{i}]: no row with {shown} is waiting for a label")
        return self._store_labels(frame, labelled_by, "team server")

    def _require_key(self, command: str) -> None:
        if not self.spec.data.key:
            raise SpecError(
                f"`loopml {command}` matches rows by their key: set data.key in "
                "loopml.yaml to the column(s) that identify a row"
            )

    def list_snapshots(self) -> list[Snapshot]:
        return self.store.list_snapshots(self.project.project_id)

    def get_snapshot(self, prefix: str) -> Snapshot:
        """The snapshot whose id starts with ``prefix`` (NotFound / Conflict otherwise)."""
        matches = [s for s in self.list_snapshots() if s.snapshot_id.startswith(prefix)]
        if not matches:
            raise NotFoundError(
                f"no data snapshot of project '{self.spec.name}' starts with '{prefix}'; "
                "`loopml data versions` lists them"
            )
        if len(matches) > 1:
            raise ConflictError(f"'{prefix}' matches {len(matches)} snapshots; give more of it")
        return matches[0]

    def list_snapshots_with_models(self) -> list[tuple[Snapshot, list[str]]]:
        """Snapshots newest first, each with the refs of the versions trained on it."""
        trained: dict[str, list[str]] = {}
        for version in self.store.list_model_versions(self.spec.name):
            snapshot_id = version.lineage.get("snapshot_id")
            if snapshot_id:
                trained.setdefault(str(snapshot_id), []).append(version.ref)
        return [(s, trained.get(s.snapshot_id, [])) for s in self.list_snapshots()]

    def snapshot_details(self, prefix: str) -> dict[str, Any]:
        """The snapshot ``prefix`` names (``snapshot``), the versions trained on it
        (``models``) and a cheap ``profile`` of each column, read from its Parquet rows:
        ``column``, ``kind``, ``dtype``, ``missing``, ``distinct``, and ``min``, ``max``,
        ``mean`` for numbers or the five commonest ``top`` values (with counts) else.
        Raises NotFoundError (no such snapshot) or ConflictError (an ambiguous prefix)."""
        snapshot = self.get_snapshot(prefix)
        frame = self.load_snapshot(snapshot)
        kinds = {c.name: c.kind for c in snapshot.schema.columns}
        models = [
            v.ref
            for v in self.store.list_model_versions(self.spec.name)
            if v.lineage.get("snapshot_id") == snapshot.snapshot_id
        ]
        return {
            "snapshot": snapshot,
            "models": models,
            "profile": [_column_profile(frame[c], kinds.get(c)) for c in frame.columns],
        }

    def load_snapshot(self, snapshot: Snapshot) -> Any:
        import pandas as pd

        return pd.read_parquet(io.BytesIO(self.artifacts.get_bytes(snapshot.snapshot_id)))

    def diff_snapshots(self, a: str, b: str, key: list[str] | None = None) -> Any:
        """Rows added/removed/changed, schema changes and shifts from snapshot A to B."""
        from loopml.data.diff import diff_frames

        first, second = self.get_snapshot(a), self.get_snapshot(b)
        return diff_frames(
            self.load_snapshot(first),
            self.load_snapshot(second),
            key=key if key is not None else list(self.spec.data.key),
            settings=self.spec.monitor.drift,
        )

    def lineage(self, ref: str | None = None) -> tuple[ModelVersion, Snapshot | None]:
        """A model version with the snapshot it was trained on (sources, hashes, query);
        None for a model trained outside loopml (``loopml.register_model``)."""
        from loopml.registry import resolve_model

        version = resolve_model(self.store, ref or f"{self.spec.name}@champion")
        snapshot_id = version.lineage.get("snapshot_id")
        return version, self.store.get_snapshot(snapshot_id) if snapshot_id else None


def _key_value(key: Mapping[str, Any], column: str, index: int) -> str:
    """The text of key column ``column`` in ``labels[index]``'s key (DataError if absent)."""
    if not isinstance(key, Mapping) or column not in key or key[column] is None:
        raise DataError(f"labels[{index}].key: give a value for key column '{column}'")
    return _text(key[column])


def _text(value: Any) -> str:
    """A label or key value as a labelling file holds it: text, integral numbers whole."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_labels(given: Any, classes: Sequence[Any], target: str, task: str) -> None:
    """DataError for a label the target does not take: not a number (regression), or
    none of its ``classes`` (classification)."""
    if task == "regression":
        for i, value in enumerate(given):
            try:
                float(value)
            except ValueError:
                raise DataError(
                    f"labels[{i}].label: {value!r} is not a number, which '{target}' holds"
                ) from None
        return
    if not classes:
        return
    allowed = {_text(c).lower(): c for c in classes}
    for i, value in enumerate(given):
        if str(value).lower() not in allowed:
            shown = ", ".join(repr(c) for c in classes)
            raise DataError(f"labels[{i}].label: {value!r} is not a class of '{target}' ({shown})")


def _column_profile(series: Any, kind: Any) -> dict[str, Any]:
    import pandas as pd

    profile: dict[str, Any] = {
        "column": str(series.name),
        "kind": kind,
        "dtype": str(series.dtype),
        "missing": int(series.isna().sum()),
        "distinct": int(series.nunique(dropna=True)),
    }
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric:
        values = series.dropna().astype(float)
        empty = values.empty
        profile.update(
            min=None if empty else float(values.min()),
            max=None if empty else float(values.max()),
            mean=None if empty else float(values.mean()),
        )
    else:
        counts = series.astype("object").value_counts(dropna=True).head(5)
        profile["top"] = [[str(v), int(n)] for v, n in counts.items()]
    return profile
