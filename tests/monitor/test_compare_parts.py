"""Drift of a current file larger than memory: chunk by chunk, or part by part through an
executor, the same numbers as in memory; progress reported; bad files named."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.compute import LocalExecutor
from loopml.errors import DataError
from loopml.monitor.compare import drift

LABELS = np.array(["a", "b", "c"], dtype=object)


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    normal = rng.normal(50, 10, n) + shift * 10
    normal[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "normal": normal,
            "skewed": rng.lognormal(3, 0.5, n),
            "plan": rng.choice(LABELS, n, p=(0.5, 0.3, 0.2)),
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    folder = tmp_path_factory.mktemp("drift")
    reference, current = frame(3000, 0), frame(4000, 1, shift=0.3)
    current.loc[3990:, "plan"] = "z"  # a category training never saw, at the very end
    current.to_parquet(folder / "current.parquet", index=False, row_group_size=250)
    current.to_csv(folder / "current.csv", index=False)
    reference.to_parquet(folder / "reference.parquet", index=False)
    return reference, current, folder


def scores(check) -> dict[str, tuple[str, float, bool]]:
    return {f.feature: (f.method, f.score, f.drifted) for f in check.features}


def test_chunks_and_parts_give_the_in_memory_numbers(files) -> None:
    reference, current, folder = files
    whole = drift(reference, current)
    assert whole.current_rows == 4000 and whole.alert
    seen: list[tuple[int, int | None]] = []
    chunked = drift(
        folder / "reference.parquet",
        folder / "current.parquet",
        chunk_rows=300,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(min(300 * (i + 1), 4000), 4000) for i in range(14)]  # 14 chunks
    seen_parts: list[tuple[int, int | None]] = []
    parted = drift(
        reference,
        folder / "current.parquet",
        chunk_rows=100,  # parts of at least 800 rows: 4 row groups of 250, 4 parts
        executor=LocalExecutor(),
        progress=lambda done, total: seen_parts.append((done, total)),
    )
    assert seen_parts == [(0, 4000), (4000, 4000)]  # the parts handed out, then all counted
    csv = drift(reference, folder / "current.csv", chunk_rows=700)
    for check in (chunked, parted, csv):
        assert check.current_rows == 4000
        for (name, (test, score, drifted)), other in zip(
            scores(whole).items(), scores(check).values(), strict=True
        ):
            assert (test, drifted) == other[::2], name
            assert other[1] == pytest.approx(score, rel=1e-9, abs=1e-12), name
        stats = {f.feature: f.stats for f in check.features}
        for f in whole.features:
            assert stats[f.feature] == pytest.approx(f.stats, rel=1e-9, abs=1e-12)
    assert "'z'" in (parted.features[2].note or "") + (chunked.features[2].note or "")


class PickledExecutor(LocalExecutor):
    """Runs each call on a pickled copy of the function and its item, as a worker
    process or a cluster would (without the seconds a process pool takes to start)."""

    @property
    def workers(self) -> int:
        return 2

    def map(self, fn, items):
        return [pickle.loads(pickle.dumps(fn))(pickle.loads(pickle.dumps(i))) for i in items]


def test_parts_counted_from_pickles_merge_to_the_same_numbers(files) -> None:
    reference, current, folder = files
    whole = drift(reference, current)
    parted = drift(
        reference, folder / "current.parquet", chunk_rows=100, executor=PickledExecutor()
    )
    assert parted.current_rows == 4000
    for a, b in zip(whole.features, parted.features, strict=True):
        assert b.stats == pytest.approx(a.stats, rel=1e-9, abs=1e-12)


def test_text_deep_in_a_numeric_column_names_the_file_column_and_rows(
    files, tmp_path: Path
) -> None:
    reference, current, _ = files
    bad = current.astype({"skewed": object})
    bad.loc[3500, "skewed"] = "lots"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError) as caught:
        drift(reference, path, chunk_rows=1000)
    message = str(caught.value)
    assert "bad.csv, rows 3000 to 3999" in message
    assert "column 'skewed'" in message and "should be numeric" in message
    missing = tmp_path / "missing.parquet"
    current.drop(columns=["plan"]).to_parquet(missing, row_group_size=500)
    with pytest.raises(DataError, match=r"missing\.parquet.*plan"):
        drift(reference, missing, executor=LocalExecutor())


def test_an_empty_current_file_is_judged_on_no_rows(files, tmp_path: Path) -> None:
    reference, current, _ = files
    empty = tmp_path / "empty.parquet"
    current.iloc[:0].to_parquet(empty, index=False)
    for executor in (None, LocalExecutor()):
        check = drift(reference, empty, executor=executor)
        assert check.current_rows == 0
        assert all(math.isnan(f.score) for f in check.features)
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    with pytest.raises(DataError, match=r"blank\.csv is empty"):
        drift(reference, blank)


def test_loopml_drift_on_a_dask_cluster_gives_the_in_memory_verdicts(files) -> None:
    import json

    from typer.testing import CliRunner

    from loopml.interfaces.cli.main import app

    reference, current, folder = files
    whole = drift(reference, current)
    args = ["drift", str(folder / "reference.parquet"), str(folder / "current.parquet")]
    result = CliRunner().invoke(app, [*args, "--json", "--cluster", "local:1"])
    assert result.exit_code == 1, result.output  # drift found
    answer = json.loads(result.stdout)  # stderr may hold a warning of the cluster
    assert answer["current_rows"] == 4000
    for column, feature in zip(answer["columns"], whole.features, strict=True):
        assert column["drifted"] == feature.drifted
        assert column["score"] == pytest.approx(feature.score, rel=1e-5, abs=1e-6)
