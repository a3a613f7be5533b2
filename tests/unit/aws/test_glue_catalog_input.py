"""The Glue table a dataset gets: location, Parquet formats, partition projection on `date`."""

from __future__ import annotations

from ndjson2parquet.aws.catalog import projection_parameters, table_input
from ndjson2parquet.lake.catalog import Column


def test_projection_reads_every_date_from_the_first_committed_one_without_a_crawler() -> None:
    params = projection_parameters("s3://bucket/lake", "events", "2026-11-20")

    assert params["projection.enabled"] == "true"
    assert params["projection.date.type"] == "date"
    assert params["projection.date.format"] == "yyyy-MM-dd"
    assert params["projection.date.range"] == "2026-11-20,NOW"
    assert params["storage.location.template"] == "s3://bucket/lake/events/date=${date}"
    assert params["classification"] == "parquet"


def test_table_input_is_an_external_parquet_table_partitioned_by_date_at_the_dataset_folder() -> None:
    table = table_input("s3://bucket/lake/", "events", [Column("n", "bigint")], 3, "2026-11-20", {"owner": "x"})

    assert table["Name"] == "events"
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["PartitionKeys"] == [{"Name": "date", "Type": "string"}]
    storage = table["StorageDescriptor"]
    assert storage["Location"] == "s3://bucket/lake/events/"
    assert storage["Columns"] == [{"Name": "n", "Type": "bigint"}]
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert storage["InputFormat"].endswith("MapredParquetInputFormat")
    assert table["Parameters"]["ndjson2parquet.schema_version"] == "3"
    assert table["Parameters"]["owner"] == "x"  # someone else's parameter kept
