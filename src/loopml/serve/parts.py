"""Batch scoring over the parts of a Parquet file, through an ``Executor``, from local
paths or object storage (``s3://``, any fsspec URL).

The input is cut at its row groups into parts (``loopml.compute.parts.Part``, about
``PART_CHUNKS`` chunks each); a ``PartScorer`` checks and scores one part where the
executor runs it (this process, worker processes, a Dask cluster) and returns its scored
chunks and its problems report, rows already numbered in the file. The parts go through
one ``Executor.imap``, which runs a few more calls than the executor's workers and
yields the results in input order as they come, so that the client holds only those
parts' results: it appends them to the output as they come, then moves the finished
file into place (``os.replace`` here; an upload for a URL, whose object appears only
once complete). The rows, predictions and problems equal ``score_checked``'s; a part of
an all-float file bound for a Parquet output is scored straight from Arrow as there
(``loopml.serve.columnar``).

The model travels with the scorer as the bundle's bytes (once per map on Dask, which
sends ``fn`` once per map; once per part in a process pool) and is unpickled once per
copy of the scorer. Workers read their part straight from its path or URL with the
``storage_options`` given, so a remote cluster never needs this machine's disk: a local
input with a cluster beyond loopback is refused.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.compute.executor import Executor
from loopml.compute.parts import (
    Part,
    filesystem,
    is_url,
    open_parquet,
    read_batches,
    row_group_parts,
)
from loopml.errors import DataError
from loopml.model.bundle import ModelBundle
from loopml.model.checks import InputChecker, InputPolicy, InputReport, merged
from loopml.serve.batch import (
    OUTPUT_SUFFIXES,
    BatchResult,
    Predictor,
    Progress,
    _Writer,
    schema_plan,
    score_chunk,
)
from loopml.serve.columnar import score_batch

PART_CHUNKS = 8  # a part scored by one worker: about this many chunks


@dataclass(frozen=True)
class ScoredPart:
    """What a worker returns for one part: its scored chunks, in order (pyarrow Tables
    for a Parquet output, converted where the part was scored; DataFrames for CSV), and
    the problems found (rows numbered in the whole file)."""

    rows: int
    report: InputReport
    chunks: tuple[Any, ...]


class PartScorer:
    """Checks and scores one ``Part`` (see the module docstring); picklable, the bundle
    as bytes, unpickled on the first call of each copy."""

    def __init__(
        self,
        data: bytes,
        *,
        policy: InputPolicy | None = None,
        chunk_rows: int = 100_000,
        storage_options: Mapping[str, Any] | None = None,
        threads: int | None = None,
        where: str = "",
        arrow: bool = False,
    ) -> None:
        self.data = data
        self.arrow = arrow
        self.policy = policy
        self.chunk_rows = chunk_rows
        self.storage_options = dict(storage_options or {})
        self.threads = threads
        self.where = where
        self._loaded: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_loaded": None}

    def __call__(self, part: Part) -> ScoredPart:
        import pyarrow as pa

        predictor, checker = self._load()
        frames: list[Any] = []
        reports: list[InputReport] = []
        done = 0
        plan: Any = None
        for batch in read_batches(part, self.chunk_rows, storage_options=self.storage_options):
            if self.arrow and not done:  # a Parquet output: straight from Arrow if it can
                plan = schema_plan(predictor, batch.schema)
            first_row = part.first_row + done
            if plan is not None:
                table, report = score_batch(predictor, checker, plan, batch, first_row=first_row)
                frames.append(table)
                rows = table.num_rows
            else:
                scored, report = score_chunk(
                    predictor,
                    checker,
                    batch.to_pandas(),
                    first_row=first_row,
                    source=part.path,
                    where=self.where,
                )
                arrow = pa.Table.from_pandas(scored, preserve_index=False) if self.arrow else None
                frames.append(scored if arrow is None else arrow)
                rows = len(scored)
            reports.append(report)
            done += rows
        return ScoredPart(done, merged(reports), tuple(frames))

    def _load(self) -> tuple[Predictor, InputChecker]:
        if self._loaded is None:
            bundle = ModelBundle.from_bytes(self.data)
            checker = InputChecker(bundle.signature, self.policy)
            self._loaded = (Predictor(bundle, self.threads), checker)
        return self._loaded  # type: ignore[no-any-return]


def score_parts(
    bundle: ModelBundle,
    source: str,
    output: str,
    executor: Executor,
    *,
    policy: InputPolicy | None = None,
    chunk_rows: int = 100_000,
    storage_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    where: str = "",
) -> BatchResult:
    """Check and score the Parquet file ``source`` (a path or URL) into ``output`` (a
    .csv or .parquet path or URL), its parts run by ``executor`` (see the module
    docstring); ``progress(rows_done, total)`` after each part is written.

    Raises:
        DataError: an output that is not .csv or .parquet, a source that is not a
            readable Parquet file, a local source with a cluster beyond this machine, a
            source lacking columns the model needs, an object store that fails.
    """
    suffix = _suffix(output)
    if suffix not in OUTPUT_SUFFIXES:
        raise DataError(f"{output}: write predictions to a .csv or .parquet file")
    options = dict(storage_options or {})
    _check_reachable(source, executor)
    parts = list_parts(source, chunk_rows * PART_CHUNKS, options)
    total = sum(p.rows or 0 for p in parts)
    scorer = PartScorer(
        bundle.to_bytes(),
        policy=policy,
        chunk_rows=chunk_rows,
        storage_options=options,
        threads=executor.threads_per_worker,
        where=where,
        arrow=suffix == ".parquet",
    )
    with _output_file(output, options) as tmp:
        writer = _Writer(tmp, suffix)
        try:
            rows, reports = _write_parts(scorer, parts, executor, writer, progress, total)
        finally:
            writer.close()
    return BatchResult(rows, merged(reports))


def _write_parts(
    scorer: PartScorer,
    parts: list[Part],
    executor: Executor,
    writer: _Writer,
    progress: Progress | None,
    total: int,
) -> tuple[int, list[InputReport]]:
    """Score ``parts`` in one ``imap`` and append each result in order as it comes."""
    reports: list[InputReport] = []
    rows = 0
    if progress is not None:
        progress(0, total)
    for scored in executor.imap(scorer, parts):
        for chunk in scored.chunks:
            if isinstance(chunk, pd.DataFrame):
                writer.write(chunk)
            else:
                writer.write_table(chunk)
        reports.append(scored.report)
        rows += scored.rows
        if progress is not None:
            progress(rows, total)
    return rows, reports


def list_parts(source: str, rows_per_part: int, storage_options: Mapping[str, Any]) -> list[Part]:
    """The Parquet file ``source`` (path or URL) cut at its row groups into parts of about
    ``rows_per_part`` rows (one part for an empty file).

    Raises:
        DataError: not a .parquet file, missing, unreadable, or a failing object store.
    """
    if _suffix(source) not in (".parquet", ".pq"):
        fix = (
            "download it first"
            if is_url(source)
            else "score it here (no --workers, --cluster or cluster setting)"
        )
        raise DataError(
            f"{source}: scoring by parts reads .parquet files; convert it to Parquet, or {fix}"
        )
    with open_parquet(source, storage_options) as handle:
        return row_group_parts(source, handle.metadata, rows_per_part)


@contextmanager
def _output_file(output: str, storage_options: Mapping[str, Any]) -> Iterator[Path]:
    """A temporary local file that becomes ``output`` when the block ends without an
    error (renamed beside a local output; uploaded to a URL), and is removed either way."""
    folder = None
    if is_url(output):
        folder = tempfile.mkdtemp(prefix="loopml-predict-")
        tmp = Path(folder) / f"out{_suffix(output)}"
    else:
        target = Path(output)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        _publish(tmp, output, storage_options)
    finally:
        tmp.unlink(missing_ok=True)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _publish(tmp: Path, output: str, storage_options: Mapping[str, Any]) -> None:
    """Move the finished ``tmp`` to ``output``: a rename here, an upload to a URL."""
    if not is_url(output):
        os.replace(tmp, output)
        return
    fs, path = filesystem(output, storage_options)
    try:
        fs.put_file(str(tmp), path)
    except OSError as exc:
        raise DataError(f"cannot write the predictions to {output}: {exc}") from exc


def _check_reachable(source: str, executor: Executor) -> None:
    """A local ``source`` is refused when ``executor`` runs on a cluster beyond loopback
    (its workers would not see this machine's disk)."""
    from loopml.compute.dask import DaskExecutor

    if is_url(source) or not isinstance(executor, DaskExecutor) or executor.is_local:
        return
    raise DataError(
        f"input {source} is a local path, but the Dask cluster at {executor.address} runs "
        "beyond this machine and its workers cannot read it; put the file on object "
        "storage (s3://...), or score it here: no --cluster, LOOPML_CLUSTER or cluster setting"
    )


def _suffix(path: str) -> str:
    return Path(path.rsplit("/", 1)[-1]).suffix.lower()


def score_local_csv(
    bundle: ModelBundle,
    source: Path,
    output: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> BatchResult:
    """``score_checked`` of a local CSV file (pandas' chunked reader, in this process),
    its output uploaded when ``output`` is a URL; ``options`` go to ``score_checked``."""
    from loopml.serve.batch import score_checked

    if not is_url(output):
        return score_checked(bundle, source, Path(output), **options)
    with _output_file(output, storage_options or {}) as tmp:
        return score_checked(bundle, source, tmp, **options)
