"""File sources on object storage: one object, globs and a Parquet dataset on a real S3
server on loopback (moto's, see tests/s3.py), fingerprinted by ETag and size."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import fsspec
import pandas as pd
import pytest
from tests.s3 import S3

from loopml.data.sources import fingerprint_files, read_files
from loopml.errors import DataError
from loopml.spec.sources import FileSource

FRAME = pd.DataFrame({"Customer ID": [1, 2, 3], "plan": ["a", "b", None], "spend": [0.5, 1.5, 2]})


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_one_csv_object_is_read_and_fingerprinted_by_its_etag(s3: S3, tmp_path: Path) -> None:
    url = s3.put("exports/calls.csv", _csv(FRAME))
    source = FileSource(path=url)
    lines: list[str] = []
    part = read_files(source, tmp_path, progress=lines.append)
    pd.testing.assert_frame_equal(part.frame, FRAME)
    assert (part.location, part.rows) == (url, 3)
    assert lines == [f"downloading {url} ({len(_csv(FRAME))} bytes)"]
    assert part.source_hash == fingerprint_files(source, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing downloaded into the project

    s3.put("exports/calls.csv", _csv(FRAME))  # the same bytes again: the same ETag
    assert fingerprint_files(source, tmp_path) == part.source_hash
    s3.put("exports/calls.csv", _csv(FRAME.assign(spend=9)))
    assert fingerprint_files(source, tmp_path) != part.source_hash  # the listing is fresh


def test_a_glob_of_parquet_objects_is_appended_in_order(s3: S3, tmp_path: Path) -> None:
    for i in (2, 0, 1):
        s3.put(f"lake/calls-{i}.parquet", _parquet(FRAME.assign(spend=i)))
    s3.put("lake/other.parquet", _parquet(FRAME.assign(spend=99)))
    part = read_files(FileSource(path=s3.url("lake/calls-*.parquet")), tmp_path)
    assert part.frame["spend"].tolist() == [0] * 3 + [1] * 3 + [2] * 3
    assert part.location == ", ".join(s3.url(f"lake/calls-{i}.parquet") for i in range(3))

    before = part.source_hash
    s3.put("lake/calls-3.parquet", _parquet(FRAME))  # a new file joins the glob
    assert fingerprint_files(FileSource(path=s3.url("lake/calls-*.parquet")), tmp_path) != before


def test_a_prefix_is_read_as_a_parquet_dataset(s3: S3, tmp_path: Path) -> None:
    s3.put("dataset/year=2024/a.parquet", _parquet(FRAME))
    s3.put("dataset/year=2025/b.parquet", _parquet(FRAME.assign(spend=7)))
    part = read_files(FileSource(path=s3.url("dataset")), tmp_path)
    assert part.rows == 6 and part.location == s3.url("dataset")
    assert sorted(part.frame["year"].astype(str).unique()) == ["2024", "2025"]


def test_files_whose_columns_differ_are_named_by_url(s3: S3, tmp_path: Path) -> None:
    s3.put("in/a.csv", _csv(FRAME))
    s3.put("in/b.csv", _csv(FRAME.drop(columns="plan")))
    with pytest.raises(DataError, match=rf"{s3.url('in/b.csv')} lacks 'plan' compared with"):
        read_files(FileSource(path=s3.url("in/*.csv")), tmp_path)
    s3.put("in/c.parquet", b"PAR1 not really")
    with pytest.raises(DataError, match=rf"^{s3.url('in/c.parquet')}: is not a readable Parquet"):
        read_files(FileSource(path=s3.url("in/c.parquet")), tmp_path)


def test_nothing_there_is_a_clear_error(s3: S3, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"source 'main': no object matches 's3://.*/none-\*"):
        read_files(FileSource(path=s3.url("none-*.csv")), tmp_path)
    with pytest.raises(DataError, match="no object matches"):
        fingerprint_files(FileSource(path=s3.url("absent.csv")), tmp_path)
    missing = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/calls.csv"
    with pytest.raises(DataError, match=r"'calls': no object matches 's3://no-such-bucket"):
        read_files(FileSource(path=missing, name="calls"), tmp_path)


def test_storage_options_work_without_the_aws_variables(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = s3.put("calls.csv", _csv(FRAME))
    options = {"endpoint_url": s3.endpoint_url, "key": s3.env["AWS_ACCESS_KEY_ID"]}
    options["secret"] = s3.env["AWS_SECRET_ACCESS_KEY"]
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    part = read_files(FileSource(path=url), tmp_path, storage_options=options)
    assert part.rows == 3


def test_a_source_s_own_storage_options_win_with_variables_read(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = s3.put("calls.csv", _csv(FRAME))
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    own = {
        "endpoint_url": "${S3_URL}",
        "key": "${S3_KEY}",
        "secret": s3.env["AWS_SECRET_ACCESS_KEY"],
    }
    source = FileSource(path=url, name="calls", storage_options=own)
    env = {"S3_URL": s3.endpoint_url, "S3_KEY": s3.env["AWS_ACCESS_KEY_ID"]}
    wrong = {"endpoint_url": "http://127.0.0.1:9"}  # the settings' options: not used
    assert read_files(source, tmp_path, wrong, env=env).rows == 3
    assert fingerprint_files(source, tmp_path, wrong, env) == fingerprint_files(
        source, tmp_path, None, env
    )
    with pytest.raises(
        DataError, match=r"source 'calls' storage_options.key: .*'S3_KEY' is not set"
    ):
        read_files(source, tmp_path, env={"S3_URL": s3.endpoint_url})


def test_a_backend_without_etags_is_hashed_by_content(tmp_path: Path) -> None:
    root = f"memory://loopml-{uuid.uuid4().hex}"
    fs, _ = fsspec.core.url_to_fs(root)
    fs.pipe_file(f"{root}/calls.csv", _csv(FRAME))
    source = FileSource(path=f"{root}/calls.csv")
    try:
        first = read_files(source, tmp_path).source_hash
        fs.pipe_file(f"{root}/calls.csv", _csv(FRAME.assign(plan="z")))  # same size
        assert fingerprint_files(source, tmp_path) != first
    finally:
        fs.rm(root, recursive=True)


def test_an_unreachable_store_is_a_data_error_naming_the_source(s3: S3, tmp_path: Path) -> None:
    from tests.helpers import free_port

    options = {
        "endpoint_url": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
    }
    with pytest.raises(DataError, match=r"source 'calls': cannot read s3://.*Could not connect"):
        read_files(FileSource(path=s3.url("c.csv"), name="calls"), tmp_path, options)


def _register_short_s3() -> None:
    """``shorts3://``: s3fs whose next ``cuts`` downloads stop half-way; ``gets`` counts."""
    import s3fs

    class Short(s3fs.S3FileSystem):
        protocol = ("shorts3",)
        cuts = 0
        gets = 0

        async def _get_file(self, rpath: str, lpath: str, **kwargs: object) -> None:
            await super()._get_file(rpath, lpath, **kwargs)
            self.gets += 1
            if self.cuts:
                self.cuts -= 1
                with open(lpath, "r+b") as handle:
                    handle.truncate(Path(lpath).stat().st_size // 2)

    fsspec.register_implementation("shorts3", Short, clobber=True)


def test_a_download_cut_short_is_fetched_again_then_refused(s3: S3, tmp_path: Path) -> None:
    _register_short_s3()
    s3.put("calls.csv", _csv(FRAME))
    source = FileSource(path=f"shorts3://{s3.bucket}/calls.csv")
    fs, _ = fsspec.core.url_to_fs(source.path)  # the instance the reader gets
    fs.cuts = 1
    assert read_files(source, tmp_path).rows == 3
    assert fs.gets == 2
    fs.cuts, fs.gets = 99, 0
    size = len(_csv(FRAME))
    with pytest.raises(DataError, match=rf"stopped at {size // 2} of {size} bytes, 3 times"):
        read_files(source, tmp_path)
    assert fs.gets == 3
