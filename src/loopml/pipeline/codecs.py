"""How a step's output values become artifact bytes, and back.

Each codec is a pair of functions declared as data in ``CODECS``:

- ``parquet``: a pandas DataFrame (or a pyarrow Table), as zstd-compressed Parquet; decodes
  to a DataFrame with its index and dtypes.
- ``json``: JSON-able values (numpy scalars and arrays allowed), keys sorted so that equal
  values give equal bytes; decodes to plain Python values.
- ``pickle``: any picklable object, protocol 5. Decoded only after the artifact store has
  verified the bytes' sha256, so tampered bytes are never unpickled.
- ``bytes``: raw bytes, unchanged.

Equal values encode to equal bytes wherever the format allows, so the artifact store keeps
them once.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["CODECS", "check_codec", "decode", "encode"]


def _encode_parquet(value: Any) -> bytes:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(value, pd.DataFrame):
        table = pa.Table.from_pandas(value)
    elif isinstance(value, pa.Table):
        table = value
    else:
        raise TypeError(f"expected a pandas DataFrame, got {type(value).__name__}")
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _decode_parquet(data: bytes) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pandas()


def _encode_json(value: Any) -> bytes:
    import orjson

    try:
        return orjson.dumps(
            value,
            option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        )
    except orjson.JSONEncodeError as exc:
        raise TypeError(str(exc)) from exc


def _decode_json(data: bytes) -> Any:
    import orjson

    return orjson.loads(data)


def _encode_pickle(value: Any) -> bytes:
    return pickle.dumps(value, protocol=5)


def _decode_pickle(data: bytes) -> Any:
    return pickle.loads(data)  # noqa: S301 - the store verified the sha256 first


def _encode_bytes(value: Any) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(value).__name__}")
    return bytes(value)


def _decode_bytes(data: bytes) -> Any:
    return data


CODECS: Mapping[str, tuple[Callable[[Any], bytes], Callable[[bytes], Any]]] = MappingProxyType(
    {
        "parquet": (_encode_parquet, _decode_parquet),
        "json": (_encode_json, _decode_json),
        "pickle": (_encode_pickle, _decode_pickle),
        "bytes": (_encode_bytes, _decode_bytes),
    }
)


def check_codec(codec: str, *, output: str) -> None:
    """Raise ``ValueError`` naming ``output`` when ``codec`` is not a known codec."""
    if codec not in CODECS:
        raise ValueError(
            f"output '{output}' has codec '{codec}'; use one of {', '.join(sorted(CODECS))}"
        )


def encode(codec: str, value: Any, *, output: str = "value") -> bytes:
    """Encode ``value`` with ``codec``.

    Raises:
        TypeError: the value does not fit the codec (the message names ``output``).
        ValueError: ``codec`` is unknown.
    """
    check_codec(codec, output=output)
    try:
        return CODECS[codec][0](value)
    except TypeError as exc:
        raise TypeError(f"output '{output}' cannot be encoded as {codec}: {exc}") from exc


def decode(codec: str, data: bytes) -> Any:
    """Decode bytes written by ``encode(codec, ...)``.

    Raises:
        ValueError: ``codec`` is unknown.
    """
    check_codec(codec, output="value")
    return CODECS[codec][1](data)
