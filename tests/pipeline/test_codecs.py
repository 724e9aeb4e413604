"""Each codec turns a value into bytes and back; equal values give equal bytes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from loopml.pipeline.codecs import CODECS, decode, encode


def test_parquet_round_trip_keeps_index_and_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "age": pd.array([31, None, 45], dtype="Int64"),
            "job": pd.Categorical(["admin", "tech", "admin"]),
            "balance": [1.5, -2.0, np.nan],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
        },
        index=pd.Index([10, 20, 30], name="row"),
    )
    data = encode("parquet", frame)
    assert data[:4] == b"PAR1"
    back = decode("parquet", data)
    pd.testing.assert_frame_equal(back, frame)
    assert encode("parquet", frame.copy()) == data


def test_parquet_accepts_an_arrow_table() -> None:
    table = pa.table({"x": [1, 2, 3]})
    pd.testing.assert_frame_equal(decode("parquet", encode("parquet", table)), table.to_pandas())


def test_json_round_trip_with_sorted_keys_and_numpy() -> None:
    value = {"b": [1, 2.5, None, "x"], "a": {"nested": True}, "n": np.float64(0.25)}
    data = encode("json", value)
    assert data.index(b'"a"') < data.index(b'"b"')
    assert decode("json", data) == {"a": {"nested": True}, "b": [1, 2.5, None, "x"], "n": 0.25}
    assert encode("json", dict(reversed(list(value.items())))) == data


def test_pickle_round_trip() -> None:
    value = {"array": np.arange(5), "tuple": (1, "two"), "set": {3}}
    back = decode("pickle", encode("pickle", value))
    assert back["tuple"] == (1, "two") and back["set"] == {3}
    np.testing.assert_array_equal(back["array"], np.arange(5))


def test_bytes_round_trip() -> None:
    assert decode("bytes", encode("bytes", bytearray(b"\x00raw\xff"))) == b"\x00raw\xff"


@pytest.mark.parametrize(
    ("codec", "value", "expected"),
    [
        ("parquet", [1, 2], "expected a pandas DataFrame, got list"),
        ("bytes", "text", "expected bytes, got str"),
        ("json", {"x": object()}, "output 'model' cannot be encoded as json"),
    ],
)
def test_a_value_that_does_not_fit_names_the_output(
    codec: str, value: object, expected: str
) -> None:
    with pytest.raises(TypeError, match=expected) as info:
        encode(codec, value, output="model")
    assert "output 'model'" in str(info.value)


def test_unknown_codec_lists_the_known_ones() -> None:
    assert sorted(CODECS) == ["bytes", "json", "parquet", "pickle"]
    with pytest.raises(ValueError, match="use one of bytes, json, parquet, pickle"):
        encode("csv", 1, output="frame")
    with pytest.raises(ValueError, match="codec 'csv'"):
        decode("csv", b"")
