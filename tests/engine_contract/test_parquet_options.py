"""The conversion options every engine honours in the Parquet it writes: codec and row-group size."""

from __future__ import annotations

import io

import orjson
import pyarrow.parquet as pq
import pytest

from tests.engine_contract.case import EngineCase


@pytest.mark.parametrize("compression", ["snappy", "zstd", "gzip", "lz4", "none"])
def test_the_compression_option_is_the_codec_of_every_column(engine_case: EngineCase, compression: str) -> None:
    result = engine_case.convert([engine_case.put_input("in.ndjson", b'{"a":1,"b":"x"}\n')], compression=compression)
    metadata = pq.ParquetFile(io.BytesIO(engine_case.objects.read(result.outputs[0].path))).metadata
    codecs = {
        metadata.row_group(0).column(i).compression.replace("LZ4_RAW", "LZ4") for i in range(metadata.num_columns)
    }
    assert codecs == {"UNCOMPRESSED" if compression == "none" else compression.upper()}


def test_row_groups_hold_at_most_row_group_rows(engine_case: EngineCase) -> None:
    body = b"".join(orjson.dumps({"id": i}) + b"\n" for i in range(2500))
    result = engine_case.convert([engine_case.put_input("in.ndjson", body)], row_group_rows=1000)
    metadata = pq.ParquetFile(io.BytesIO(engine_case.objects.read(result.outputs[0].path))).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sum(sizes) == 2500 and max(sizes) <= 1000
