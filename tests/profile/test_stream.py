"""Profiling a file larger than memory: exact counts and moments from one streaming pass,
the rest from a bounded, seeded sample, said so on the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.errors import DataError
from loopml.profile import profile_frame
from loopml.profile.report import render_profile
from loopml.profile.stream import Moments, profile_file


def source(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    amount = rng.lognormal(3, 0.8, n)
    amount[::13] = np.nan
    amount[5::50] = 0.0
    plan = rng.choice(["basic", "pro", "team"], n)
    return pd.DataFrame(
        {
            "amount": amount,
            "visits": rng.poisson(4, n),
            "plan": plan,
            "churned": np.where(rng.random(n) < 0.3, "yes", "no"),
        }
    )


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "big.parquet"
    source().to_parquet(path, index=False, row_group_size=700)
    return path


def numbers(profile, name):
    col = profile.column(name)
    n = col.numeric
    return (col.count, col.missing, n.mean, n.std, n.skew, n.min, n.max, n.zeros, n.infinite)


def test_a_sample_holding_every_row_gives_the_in_memory_profile(parquet: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    streamed = profile_file(
        parquet, target="churned", chunk_rows=400, sample_rows=10_000,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert seen == [(min(400 * (i + 1), 3000), 3000) for i in range(8)]  # 8 bounded batches
    whole = profile_frame(source(), target="churned", task=None)
    assert streamed.rows == 3000 and streamed.sample_rows == 3000
    for name in ("amount", "visits"):
        assert numbers(streamed, name) == pytest.approx(numbers(whole, name), rel=1e-9)
    assert streamed.column("plan").categories == whole.column("plan").categories
    assert streamed.duplicate_rows == whole.duplicate_rows
    assert [f.kind for f in streamed.findings] == [f.kind for f in whole.findings]


def test_exact_figures_come_from_every_row_and_the_report_says_what_was_sampled(
    parquet: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "big.csv"
    source().to_csv(csv, index=False)
    whole = profile_frame(source(), target="churned", task=None)
    first = profile_file(parquet, target="churned", chunk_rows=256, sample_rows=500)
    again = profile_file(csv, target="churned", chunk_rows=999, sample_rows=500)
    for streamed in (first, again):
        assert streamed.rows == 3000 and streamed.sample_rows == 500
        for name in ("amount", "visits"):
            assert numbers(streamed, name) == pytest.approx(numbers(whole, name), rel=1e-9)
        assert streamed.column("plan").missing == 0 and streamed.column("plan").count == 3000
    assert first.column("amount").numeric.median != whole.column("amount").numeric.median
    page = render_profile(first)
    assert "all 3,000 rows of big.parquet" in page and "random sample of 500 rows" in page


def test_moments_merged_in_any_split_equal_one_pass() -> None:
    values = np.random.default_rng(1).gamma(2.0, 3.0, 1001)
    one = Moments()
    one.add(values)
    parts = Moments()
    for piece in np.array_split(values, 7):
        parts.add(piece)
    assert (parts.n, parts.low, parts.high) == (one.n, one.low, one.high)
    assert (parts.mean, parts.std, parts.skew) == pytest.approx((one.mean, one.std, one.skew))
    from scipy.stats import skew

    assert one.skew == pytest.approx(skew(values, bias=False))


def test_bad_files_are_named(tmp_path: Path) -> None:
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    with pytest.raises(DataError, match=r"header\.csv: has a header but no rows"):
        profile_file(header, target=None)
    with pytest.raises(DataError, match=r"nope\.parquet does not exist"):
        profile_file(tmp_path / "nope.parquet", target=None)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(20)) + "20,lots\n")
    with pytest.raises(DataError, match=r"has no column 'z'|'z'"):
        profile_file(bad, target="z")


def test_loopml_profile_file_streams_a_file_with_the_projects_target(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from loopml.interfaces.cli.main import app

    project = tmp_path / "p"
    project.mkdir()
    source().to_parquet(project / "big.parquet", index=False, row_group_size=500)
    runner = CliRunner()
    made = runner.invoke(app, ["init", "big.parquet", "-t", "churned", "-C", str(project)])
    assert made.exit_code == 0, made.output
    args = ["profile", "--file", "big.parquet", "--sample-rows", "500", "-o", "eda.html"]
    result = runner.invoke(app, [*args, "-C", str(project)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "profiled 3000 rows x 4 columns" in flat and "random sample of 500 rows" in flat
    html = (project / "eda.html").read_text()
    assert "all 3,000 rows of big.parquet" in html and "churned" in html
